/**
 * The Batch Jobs tab: the Batch API jobs of the workspace's key. Real-time limits do not apply
 * to them, so they are listed apart, with Download for a finished job's files.
 */
import type { DashboardSnapshot } from '../src/core/protocol';
import * as l10n from '@vscode/l10n';
import { dateTime, el, table, time } from './dom';

export function renderBatchJobs(panel: HTMLElement, s: DashboardSnapshot, download: (batchId: string) => void): void {
  const { jobs, error, fetchedAt } = s.batches;
  panel.append(
    el(
      'p',
      { class: 'muted' },
      (s.workspace === 'default'
        ? l10n.t(
            'Jobs submitted with "Submit as Batch Job…" run within 24 h, outside the account\'s real-time RPM/TPM limits.',
          )
        : l10n.t(
            'Jobs submitted with "Submit as Batch Job…" run within 24 h, outside workspace {0}\'s real-time RPM/TPM limits.',
            s.workspace,
          )) + (fetchedAt ? l10n.t(' Read from the provider at {0}.', time(fetchedAt)) : ''),
    ),
  );
  if (error) panel.append(el('p', { class: 'error', role: 'alert', 'data-batch-error': '' }, error));
  if (jobs.length === 0) {
    if (!error) panel.append(el('p', { class: 'muted', 'data-batch-empty': '' }, l10n.t('No batch jobs yet.')));
    return;
  }
  panel.append(
    table(
      l10n.t('Batch jobs'),
      [
        { key: 'id', label: l10n.t('Job'), cell: (j) => j.id },
        { key: 'status', label: l10n.t('Status'), cell: (j) => el('vscode-badge', {}, j.status) },
        {
          key: 'progress',
          label: l10n.t('Done'),
          cell: (j) => `${j.completed}/${j.total}${j.failed ? l10n.t(' ({0} failed)', j.failed) : ''}`,
          numeric: true,
        },
        { key: 'created', label: l10n.t('Created'), cell: (j) => dateTime(j.createdAt) },
        { key: 'endpoint', label: l10n.t('Endpoint'), cell: (j) => j.endpoint ?? '—' },
        {
          key: 'results',
          label: l10n.t('Results'),
          cell: (j) => {
            if (j.status !== 'completed') return '—';
            const b = el(
              'vscode-button',
              { secondary: '', 'data-download': j.id, 'aria-label': l10n.t('Download the results of {0}', j.id) },
              l10n.t('Download'),
            );
            b.addEventListener('click', () => download(j.id));
            return b;
          },
        },
      ],
      jobs,
      (j) => ({ 'data-job': j.id, 'data-status': j.status }),
    ),
  );
}
