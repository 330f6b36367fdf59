/**
 * The sidebar "Monitor" view: a live summary and one row per model with RPM and TPM bars
 * (and per second) against the limit, the active workspace, 429 badges by kind. A click on
 * a model opens the full panel on it.
 */
import { forecastText } from '../src/core/forecast';
import { teamBars, teamLine } from './team';
import { waitText, type DashboardFlow, type DashboardSnapshot, type HostToWebview } from '../src/core/protocol';
import * as l10n from '@vscode/l10n';
import { bar, el, fmtMs } from './dom';
import type { DashboardHost } from './host';

export class SidebarView {
  private snapshot: DashboardSnapshot | undefined;

  constructor(
    private readonly root: HTMLElement,
    private readonly host: DashboardHost,
  ) {
    host.onMessage((m) => this.receive(m));
    host.send({ type: 'ready' });
  }

  receive(m: HostToWebview): void {
    if (m.type === 'snapshot') this.snapshot = m.snapshot;
    else if (m.type === 'state' && this.snapshot) this.snapshot = { ...this.snapshot, state: m.state };
    else if (m.type === 'error')
      return void this.root.replaceChildren(el('p', { class: 'error', role: 'alert' }, m.message));
    this.render();
  }

  render(): void {
    const s = this.snapshot;
    if (!s) return;
    const top = summaryOf(s);
    const list = el('ul', { class: 'side-models', 'aria-label': l10n.t('Models') });
    const accountKeys = s.state.keys.filter((k) => k.scope === 'account');
    for (const k of accountKeys) {
      const badges = badgesOf(s, k.model);
      const name = el(
        'button',
        { class: 'link', 'data-open': k.model, 'aria-label': l10n.t('Open the monitor on {0}', k.model) },
        k.model,
      );
      name.addEventListener('click', () => this.host.send({ type: 'focusModel', model: k.model }));
      list.append(
        el(
          'li',
          { 'data-model': k.model },
          el('div', { class: 'side-model-head' }, name, badges),
          k.wait ? el('div', { class: 'muted', 'data-wait': k.model }, waitText(k.wait, k.key, l10n)) : '',
          k.forecast ? el('div', { class: 'muted', 'data-forecast': k.model }, forecastText(k.forecast, l10n)) : '',
          bar('RPM', k.minute.requests, k.minute.requestLimit),
          bar('TPM', k.minute.tokens, k.minute.tokenLimit),
          bar('RPS', k.second.requests, k.second.requestLimit, 0.8, k.effective.rpm <= 60),
          bar('TPS', k.second.tokens, k.second.tokenLimit),
          ...teamBars(s.state.team, k.model),
        ),
      );
    }
    const noKey = s.apiKeyMissing
      ? el(
          'div',
          { class: 'side-no-key', role: 'alert', 'data-no-key': '' },
          el('span', { class: 'error' }, `${l10n.t('No API key: requests will be refused.')} `),
          this.commandButton(l10n.t('Set API Key'), 'setApiKey'),
        )
      : '';
    this.root.replaceChildren(
      noKey,
      top,
      teamLine(s.state.team),
      accountKeys.length ? list : el('p', { class: 'muted' }, l10n.t('No models configured.')),
    );
  }

  private commandButton(label: string, flow: DashboardFlow): HTMLElement {
    const b = el('button', { class: 'link' }, label);
    // the flow shows its own result (a prompt, a notification): the reply says nothing more
    b.addEventListener('click', () => void this.host.request({ action: 'runFlow', flow }));
    return b;
  }
}

/** The last hour in one line: calls, failures, latency, the workspace. */
function summaryOf(s: DashboardSnapshot): HTMLElement {
  const { summary } = s.metrics;
  return el(
    'section',
    { class: 'side-summary', 'aria-label': l10n.t('Last hour') },
    el('div', { class: 'muted' }, l10n.t('Last hour')),
    el(
      'div',
      {},
      el('strong', { 'data-side': 'calls' }, String(summary.totalCalls)),
      ` ${summary.totalCalls === 1 ? l10n.t('call') : l10n.t('calls')} · `,
      el('strong', { 'data-side': 'failures' }, String(summary.failures)),
      ` ${l10n.t('failed')}`,
    ),
    el('div', { class: 'muted' }, l10n.t('avg latency {0} · workspace {1}', fmtMs(summary.avgLatencyMs), s.workspace)),
  );
}

/** Provider 429s by kind in the error colour; local refusals apart and quieter. */
function badgesOf(s: DashboardSnapshot, model: string): HTMLElement {
  const row = s.metrics.rows.filter((r) => r.model === model);
  const limited = row.reduce(
    (acc, r) => ({
      rpm: acc.rpm + r.rateLimited.rpm,
      tpm: acc.tpm + r.rateLimited.tpm,
      burst: acc.burst + r.rateLimited.burst,
    }),
    { rpm: 0, tpm: 0, burst: 0 },
  );
  const local = row.reduce((n, r) => n + r.localRejections, 0);
  const badges = el('span', { class: 'badges' });
  for (const kind of ['rpm', 'tpm', 'burst'] as const) {
    if (limited[kind] > 0)
      badges.append(
        el(
          'span',
          {
            class: 'badge-error',
            title: l10n.t('{0} provider 429s ({1}) in the last hour', limited[kind], kind.toUpperCase()),
            'data-badge': kind,
          },
          `${limited[kind]} × 429 (${kind.toUpperCase()})`,
        ),
      );
  }
  if (local > 0)
    badges.append(
      el(
        'span',
        {
          class: 'muted',
          title: l10n.t(
            '{0} requests refused by the gateway itself in the last hour (their wait would have been too long)',
            local,
          ),
          'data-badge': 'local',
        },
        l10n.t('{0} refused locally', local),
      ),
    );
  return badges;
}
