/**
 * The Requests tab's "Waiting now": the requests in the gateway's queue, who sent them, how long
 * they have waited and when they should start. It follows the state ticks in place (a re-render
 * of the tab would lose the user's place in the records below it).
 */
import * as l10n from '@vscode/l10n';
import { formatSeconds } from '../src/core/format';
import type { WaitingRequest } from '../src/core/protocol';
import { el, table } from './dom';

export function waitingSection(waiting: readonly WaitingRequest[] | undefined, queueLength: number): HTMLElement {
  const section = el('section', { class: 'waiting', 'data-waiting': '' });
  if (!waiting?.length) return section;
  const more = queueLength - waiting.length;
  section.append(
    el('h2', {}, l10n.t('Waiting now')),
    table(
      l10n.t('Waiting now'),
      [
        { key: 'model', label: l10n.t('Model'), cell: (w) => w.model },
        { key: 'workspace', label: l10n.t('Workspace'), cell: (w) => w.workspace },
        { key: 'source', label: l10n.t('Source'), cell: (w) => w.source },
        { key: 'lane', label: l10n.t('Lane'), cell: (w) => w.lane },
        { key: 'waited', label: l10n.t('Waited'), cell: (w) => formatSeconds(w.waitingMs), numeric: true },
        {
          key: 'expected',
          label: l10n.t('Expected start'),
          cell: (w) => (w.expectedInMs > 0 ? l10n.t('in {0}', formatSeconds(w.expectedInMs)) : l10n.t('due')),
          numeric: true,
        },
      ],
      [...waiting],
    ),
    ...(more > 0 ? [el('p', { class: 'muted' }, l10n.t('and {0} more waiting', more))] : []),
  );
  return section;
}

/** On a state tick: the section again, in place. */
export function replaceWaitingSection(
  root: HTMLElement,
  waiting: readonly WaitingRequest[] | undefined,
  queueLength: number,
): void {
  root.querySelector('section[data-waiting]')?.replaceWith(waitingSection(waiting, queueLength));
}
