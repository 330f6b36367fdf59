/**
 * The Overview and Requests tabs (tables with filters and sorting that survive refreshes), and
 * what Export saves for each tab: what it shows.
 */
import { forecastText } from '../src/core/forecast';
import * as l10n from '@vscode/l10n';
import { cacheSavings, formatCost, pricingFor, recordCost, type Cost, type Pricing } from '../src/core/cost';
import { recordsToCsv, toCsv, withCosts } from '../src/core/export';
import type { ModelRow } from '../src/core/metrics';
import type { DashboardAction, DashboardSnapshot } from '../src/core/protocol';
import type { AttemptRecord } from '../src/core/types';
import { el, fmtMs, fmtNum, pct, table, time } from './dom';
import { waitingSection } from './waiting';
import type { SavedState } from './host';
import { exportLimits } from './rateLimitTab';
import { teamSection } from './team';

/** What a tab borrows from the view: the saved choices, a redraw after a change, a way to the charts. */
export interface TabKit {
  saved: SavedState;
  /** The saved choices changed: keep them and draw again. */
  changed(): void;
  openCharts(model: string): void;
}

type SaveFile = Extract<DashboardAction, { action: 'saveFile' }>;

/** The per-model table's columns (a function: the labels are read in the user's language at render time). */
const rowColumns = (
  pricing: Pricing,
): { key: keyof ModelRow | 'cacheSaved'; label: string; cell: (r: ModelRow) => string; numeric?: boolean }[] => [
  { key: 'model', label: l10n.t('Model'), cell: (r) => r.model },
  { key: 'workspace', label: l10n.t('Workspace'), cell: (r) => r.workspace },
  { key: 'avgTpm', label: l10n.t('Avg TPM'), cell: (r) => fmtNum(r.avgTpm), numeric: true },
  { key: 'avgRpm', label: l10n.t('Avg RPM'), cell: (r) => fmtNum(r.avgRpm), numeric: true },
  { key: 'totalCalls', label: l10n.t('Total Calls'), cell: (r) => String(r.totalCalls), numeric: true },
  { key: 'failedCalls', label: l10n.t('Failed Calls'), cell: (r) => String(r.failedCalls), numeric: true },
  { key: 'failureRate', label: l10n.t('Failure Rate'), cell: (r) => pct(r.failureRate), numeric: true },
  { key: 'avgTtftMs', label: l10n.t('Avg TTFT'), cell: (r) => fmtMs(r.avgTtftMs), numeric: true },
  { key: 'avgLatencyMs', label: l10n.t('Avg Latency'), cell: (r) => fmtMs(r.avgLatencyMs), numeric: true },
  { key: 'peakRpm', label: l10n.t('Peak RPM'), cell: (r) => String(r.peakRpm), numeric: true },
  { key: 'peakTpm', label: l10n.t('Peak TPM'), cell: (r) => fmtNum(r.peakTpm), numeric: true },
  { key: 'cost', label: l10n.t('Est. Cost'), cell: (r) => costText(r.cost), numeric: true },
  // the share of prompt tokens served from the provider's cache, and what that saved at the cached price
  { key: 'cachedTokens', label: l10n.t('Cache hits'), cell: cacheShare, numeric: true },
  {
    key: 'cacheSaved',
    label: l10n.t('Saved by cache'),
    cell: (r) => costText(cacheSavings(pricing, r.model, r.cachedTokens)),
    numeric: true,
  },
];

const cacheShare = (r: ModelRow) => (r.promptTokens > 0 ? pct(r.cachedTokens / r.promptTokens) : '—');

/** A cost, or "unknown" (never 0) when the model has no price. */
const costText = (c: Cost | null | undefined) => formatCost(c, l10n.t('unknown'));
/** The value a column sorts by: a cost by its amount, an unknown one first. */
const sortValue = (v: unknown) => (v && typeof v === 'object' && 'amount' in v ? (v as Cost).amount : (v ?? -1));

const outcomeText = (r: AttemptRecord) =>
  r.outcome === 'rejected'
    ? l10n.t('local refusal ({0})', r.errorKind ?? 'limit')
    : r.status === 429 && r.errorKind
      ? l10n.t('provider 429 ({0})', r.errorKind)
      : r.errorKind
        ? `${r.outcome}: ${r.errorKind}`
        : r.outcome;

export function renderOverview(panel: HTMLElement, s: DashboardSnapshot, kit: TabKit): void {
  panel.append(summaryCards(s), forecastList(s));
  const workspaces = [...new Set(s.metrics.rows.map((r) => r.workspace))];
  const filter = el(
    'select',
    { 'aria-label': l10n.t('Filter by workspace'), 'data-filter': 'workspace' },
    el('option', { value: '' }, l10n.t('All workspaces')),
    ...workspaces.map((w) =>
      el('option', { value: w, ...(kit.saved.filters.workspace === w ? { selected: '' } : {}) }, w),
    ),
  );
  filter.addEventListener('change', () => {
    kit.saved.filters.workspace = filter.value;
    kit.changed();
  });
  panel.append(el('div', { class: 'toolbar' }, filter));
  const rows = shownRows(s, kit.saved);
  const t = table(
    l10n.t('Per-model usage'),
    rowColumns(pricingFor(s.config)).map((c) => ({
      key: c.key,
      label: c.label,
      cell: c.cell,
      ...(c.numeric ? { numeric: true } : {}),
    })),
    rows,
    (r) => ({ 'data-model': r.model, 'data-workspace': r.workspace, tabindex: '0' }),
  );
  makeSortable(t, s, kit);
  t.querySelectorAll('tbody tr').forEach((tr) => {
    const open = () => kit.openCharts(tr.getAttribute('data-model')!);
    tr.addEventListener('dblclick', open);
    tr.addEventListener('keydown', (e) => {
      if ((e as KeyboardEvent).key === 'Enter') open();
    });
  });
  panel.append(t, sourcesSection(s), teamSection(s.state.team));
}

/** Who spent the window: calls, tokens and their share, 429s, cost per caller (x-rlm-source or User-Agent). */
function sourcesSection(s: DashboardSnapshot): HTMLElement | string {
  const rows = s.metrics.sources ?? [];
  if (rows.length === 0) return '';
  return el(
    'section',
    { class: 'sources', 'data-sources': '' },
    el('h2', {}, l10n.t('Sources')),
    table(
      l10n.t('Who spends the quota'),
      [
        { key: 'source', label: l10n.t('Source'), cell: (r) => r.source },
        { key: 'calls', label: l10n.t('Calls'), cell: (r) => String(r.calls), numeric: true },
        { key: 'tokens', label: l10n.t('Tokens'), cell: (r) => fmtNum(r.tokens), numeric: true },
        { key: 'share', label: l10n.t('Share of tokens'), cell: (r) => pct(r.share), numeric: true },
        { key: 'limited', label: l10n.t('Provider 429s'), cell: (r) => String(r.providerLimited), numeric: true },
        { key: 'local', label: l10n.t('Local refusals'), cell: (r) => String(r.localRejections), numeric: true },
        { key: 'cost', label: l10n.t('Est. Cost'), cell: (r) => costText(r.cost), numeric: true },
      ],
      rows,
      (r) => ({ 'data-source': r.source }),
    ),
  );
}

/** Each model whose account window nears a limit at the recent growth, or whose queue is clearing. */
function forecastList(s: DashboardSnapshot): HTMLElement | string {
  const keys = s.state.keys.filter((k) => k.scope === 'account' && k.forecast);
  if (keys.length === 0) return '';
  return el(
    'ul',
    { class: 'forecasts', 'aria-label': l10n.t('Forecasts') },
    ...keys.map((k) => el('li', { 'data-forecast': k.model }, `${k.model}: ${forecastText(k.forecast, l10n)}`)),
  );
}

/** The summary cards; provider 429s and local refusals apart. */
function summaryCards(s: DashboardSnapshot): HTMLElement {
  const { summary } = s.metrics;
  // data-card stays the English name (tests and styles find a card by it); the label is translated
  const card = (name: string, label: string, value: string, note = '') =>
    el(
      'div',
      { class: 'card' },
      el('div', { class: 'label' }, label),
      el('div', { class: 'value', 'data-card': name }, value),
      ...(note ? [el('div', { class: 'muted', 'data-card-note': name }, note)] : []),
    );
  return el(
    'section',
    { class: 'cards', 'aria-label': l10n.t('Summary') },
    card('Total Models', l10n.t('Total Models'), String(summary.totalModels)),
    card('Total Calls', l10n.t('Total Calls'), String(summary.totalCalls)),
    card('Failures', l10n.t('Failures'), `${summary.failures} (${pct(summary.failureRate)})`),
    card('Avg TTFT', l10n.t('Avg TTFT'), fmtMs(summary.avgTtftMs)),
    card('Avg Latency', l10n.t('Avg Latency'), fmtMs(summary.avgLatencyMs)),
    card(
      'Provider 429s rpm / tpm / burst',
      l10n.t('Provider 429s rpm / tpm / burst'),
      `${summary.rateLimited.rpm} / ${summary.rateLimited.tpm} / ${summary.rateLimited.burst}`,
    ),
    card('Local refusals', l10n.t('Local refusals'), String(summary.localRejections)),
    // the calls it could not price are named under it, not counted as 0
    card(
      'Est. Cost',
      l10n.t('Est. Cost'),
      costText(summary.cost),
      summary.cost?.unpricedCalls ? l10n.t('+ {0} calls without a price', summary.cost.unpricedCalls) : '',
    ),
  );
}

/** Headers sort by their column; a second click (or Enter) reverses; aria-sort says which way. */
function makeSortable(t: HTMLElement, s: DashboardSnapshot, kit: TabKit): void {
  t.querySelectorAll('th').forEach((th) => {
    const key = th.getAttribute('data-key')!;
    th.setAttribute('tabindex', '0');
    const dir = sortDirection(s, kit.saved);
    th.setAttribute('aria-sort', kit.saved.sortBy === key ? dir : 'none');
    if (kit.saved.sortBy === key) th.append(dir === 'ascending' ? ' ▲' : ' ▼');
    const sort = () => {
      if (kit.saved.sortBy === key) kit.saved.sortDir = dir === 'ascending' ? 'descending' : 'ascending';
      else {
        kit.saved.sortBy = key;
        delete kit.saved.sortDir;
      }
      kit.changed();
    };
    th.addEventListener('click', sort);
    th.addEventListener('keydown', (e) => {
      if (e.key === 'Enter' || e.key === ' ') sort();
    });
  });
}

/** The direction in force: chosen, or the column's natural one (numbers largest first, text A to Z). */
function sortDirection(s: DashboardSnapshot, saved: SavedState): 'ascending' | 'descending' {
  if (saved.sortDir) return saved.sortDir;
  const sample = s.metrics.rows[0]?.[saved.sortBy as keyof ModelRow];
  return typeof sample === 'number' ? 'descending' : 'ascending';
}

/** The Overview's rows as shown: filtered by workspace, sorted by the chosen column. */
export function shownRows(s: DashboardSnapshot, saved: SavedState): ModelRow[] {
  const ws = saved.filters.workspace;
  // "saved by cache" is not a field: it follows the cached tokens
  const key = (saved.sortBy === 'cacheSaved' ? 'cachedTokens' : saved.sortBy) as keyof ModelRow;
  const sign = sortDirection(s, saved) === 'ascending' ? 1 : -1;
  return s.metrics.rows
    .filter((r) => !ws || r.workspace === ws)
    .sort((a, b) => {
      const x = sortValue(a[key]);
      const y = sortValue(b[key]);
      return sign * (typeof x === 'number' && typeof y === 'number' ? x - y : String(x).localeCompare(String(y)));
    });
}

/** The Requests tab's rows as shown: filtered by model, outcome and 429 kind. */
export function shownRequests(s: DashboardSnapshot, saved: SavedState): AttemptRecord[] {
  const f = saved.filters;
  return s.requests.filter(
    (r) =>
      (!f.model || r.model === f.model || r.requestedModel === f.model) &&
      (!f.outcome || r.outcome === f.outcome) &&
      (!f.kind || r.errorKind === f.kind) &&
      (!f.source || r.source === f.source),
  );
}

export function renderRequests(panel: HTMLElement, s: DashboardSnapshot, kit: TabKit): void {
  const select = (name: string, label: string, values: string[]) => {
    const sel = el(
      'select',
      { 'aria-label': label, 'data-filter': name },
      el('option', { value: '' }, label),
      ...values.map((v) => el('option', { value: v, ...(kit.saved.filters[name] === v ? { selected: '' } : {}) }, v)),
    );
    sel.addEventListener('change', () => {
      kit.saved.filters[name] = sel.value;
      kit.changed();
    });
    return sel;
  };
  const models = [...new Set(s.requests.flatMap((r) => [r.model, r.requestedModel]))].sort();
  panel.append(
    el(
      'div',
      { class: 'toolbar' },
      select('model', l10n.t('All models'), models),
      select('outcome', l10n.t('All outcomes'), ['ok', 'error', 'rejected', 'cancelled']),
      select('kind', l10n.t('All 429 kinds'), ['rpm', 'tpm', 'burst']),
      select('source', l10n.t('All sources'), [...new Set(s.requests.map((r) => r.source))].sort()),
    ),
  );
  const rows = shownRequests(s, kit.saved);
  const pricing = pricingFor(s.config);
  panel.append(waitingSection(s.state.waiting, s.state.queueLength), el('h2', {}, l10n.t('Recent requests')));
  panel.append(
    table(
      l10n.t('Recent requests'),
      [
        { key: 'time', label: l10n.t('Time'), cell: (r) => time(r.startedAt) },
        {
          key: 'model',
          label: l10n.t('Model'),
          cell: (r) => (r.fallbackFrom ? l10n.t('{0} (from {1})', r.model, r.fallbackFrom) : r.model),
        },
        { key: 'workspace', label: l10n.t('Workspace'), cell: (r) => r.workspace },
        { key: 'outcome', label: l10n.t('Outcome'), cell: outcomeText },
        { key: 'status', label: l10n.t('Status'), cell: (r) => String(r.status), numeric: true },
        { key: 'tokens', label: l10n.t('Tokens'), cell: (r) => String(r.totalTokens), numeric: true },
        { key: 'cost', label: l10n.t('Est. Cost'), cell: (r) => costText(recordCost(pricing, r)), numeric: true },
        { key: 'lane', label: l10n.t('Lane'), cell: (r) => r.lane ?? 'interactive' },
        { key: 'expected', label: l10n.t('Expected wait'), cell: (r) => fmtMs(r.expectedWaitMs), numeric: true },
        { key: 'queued', label: l10n.t('Queued'), cell: (r) => fmtMs(r.queuedMs), numeric: true },
        { key: 'ttft', label: l10n.t('TTFT'), cell: (r) => fmtMs(r.ttftMs), numeric: true },
        { key: 'latency', label: l10n.t('Latency'), cell: (r) => fmtMs(r.latencyMs), numeric: true },
      ],
      rows,
      (r) => ({ 'data-id': r.id }),
    ),
  );
}

/** Export what the current tab shows. */
export function exportShown(s: DashboardSnapshot, saved: SavedState, format: 'csv' | 'json'): SaveFile {
  const stamp = new Date().toISOString().slice(0, 19).replace(/[:T]/g, '-');
  if (saved.tab === 'Requests') {
    const rows = shownRequests(s, saved);
    return {
      action: 'saveFile',
      name: `rlm-requests-${stamp}.${format}`,
      content:
        format === 'csv'
          ? recordsToCsv(rows, pricingFor(s.config))
          : JSON.stringify(withCosts(rows, pricingFor(s.config)), null, 2),
    };
  }
  if (saved.tab === 'Batch Jobs') {
    const jobs = s.batches.jobs;
    const columns = [
      'id',
      'status',
      'createdAt',
      'total',
      'completed',
      'failed',
      'endpoint',
      'outputFileId',
      'errorFileId',
    ] as const;
    const csv = toCsv(columns, jobs, (j, c) => (c === 'createdAt' ? new Date(j.createdAt).toISOString() : j[c]));
    return {
      action: 'saveFile',
      name: `rlm-batch-jobs-${stamp}.${format}`,
      content: format === 'csv' ? csv : JSON.stringify(jobs, null, 2),
    };
  }
  if (saved.tab === 'Rate Limit') {
    return { action: 'saveFile', name: `rlm-limits-${stamp}.${format}`, content: exportLimits(s, format) };
  }
  const rows = shownRows(s, saved);
  const pricing = pricingFor(s.config);
  // costs as numbers and their currency; an unknown price stays an empty cell
  const csv = toCsv([...rowColumns(pricing).map((c) => c.key), 'currency'] as const, rows, (r, key) =>
    key === 'cost'
      ? r.cost?.amount
      : key === 'cacheSaved'
        ? cacheSavings(pricing, r.model, r.cachedTokens)?.amount
        : key === 'currency'
          ? r.cost?.currency
          : r[key],
  );
  return {
    action: 'saveFile',
    name: `rlm-models-${s.window}-${stamp}.${format}`,
    content: format === 'csv' ? csv : JSON.stringify({ window: s.window, summary: s.metrics.summary, rows }, null, 2),
  };
}
