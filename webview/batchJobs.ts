/**
 * The Batch Jobs tab: the Batch API jobs of the workspace's key. Real-time limits do not apply
 * to them, so they are listed apart, with Download for a finished job's files.
 */
import type { DashboardSnapshot } from '../src/core/protocol';
import { el, table, time } from './dom';

export function renderBatchJobs(panel: HTMLElement, s: DashboardSnapshot, download: (batchId: string) => void): void {
  const { jobs, error, fetchedAt } = s.batches;
  panel.append(
    el(
      'p',
      { class: 'muted' },
      `Jobs submitted with "Submit as Batch Job…" run within 24 h, outside ` +
        `${s.workspace === 'default' ? "the account's" : `workspace ${s.workspace}'s`} real-time RPM/TPM ` +
        `limits.${fetchedAt ? ` Read from the provider at ${time(fetchedAt)}.` : ''}`,
    ),
  );
  if (error) panel.append(el('p', { class: 'error', role: 'alert', 'data-batch-error': '' }, error));
  if (jobs.length === 0) {
    if (!error) panel.append(el('p', { class: 'muted', 'data-batch-empty': '' }, 'No batch jobs yet.'));
    return;
  }
  panel.append(
    table(
      'Batch jobs',
      [
        { key: 'id', label: 'Job', cell: (j) => j.id },
        { key: 'status', label: 'Status', cell: (j) => el('vscode-badge', {}, j.status) },
        {
          key: 'progress',
          label: 'Done',
          cell: (j) => `${j.completed}/${j.total}${j.failed ? ` (${j.failed} failed)` : ''}`,
          numeric: true,
        },
        { key: 'created', label: 'Created', cell: (j) => new Date(j.createdAt).toLocaleString() },
        { key: 'endpoint', label: 'Endpoint', cell: (j) => j.endpoint ?? '—' },
        {
          key: 'results',
          label: 'Results',
          cell: (j) => {
            if (j.status !== 'completed') return '—';
            const b = el(
              'vscode-button',
              { secondary: '', 'data-download': j.id, 'aria-label': `Download the results of ${j.id}` },
              'Download',
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
