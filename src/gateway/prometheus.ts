/** `GET /metrics` in Prometheus text format, for people who already run Grafana. */
import { priceReport, pricingFor } from '../core/cost';
import { RATE_LIMIT_KINDS } from '../core/types';
import type { Gateway } from './server';

const esc = (v: string) => v.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\n/g, '\\n');
const labels = (l: Record<string, string>) =>
  `{${Object.entries(l)
    .map(([k, v]) => `${k}="${esc(v)}"`)
    .join(',')}}`;

type Row = [Record<string, string>, number];
type Emit = (name: string, type: 'gauge' | 'counter', help: string, rows: Row[]) => void;

export function prometheusText(gw: Gateway): string {
  const lines: string[] = [];
  const metric: Emit = (name, type, help, rows) => {
    lines.push(`# HELP ${name} ${help}`, `# TYPE ${name} ${type}`);
    for (const [l, v] of rows) lines.push(`${name}${labels(l)} ${Number.isFinite(v) ? v : 0}`);
  };
  const state = gw.state();
  keyGauges(metric, state.keys);
  // Totals since the gateway started, from the minute buckets.
  totals(metric, priceReport(gw.metrics.report(gw.startedAt, Date.now() + 1), pricingFor(gw.config)).rows);
  metric('rlm_in_flight', 'gauge', 'Requests the gateway is handling.', [[{}, state.inFlight]]);
  if (state.team) teamGauges(metric, state.team);
  return lines.join('\n') + '\n';
}

/** Team mode: is the store admitting, how many machines, and the whole team's last minute per model. */
function teamGauges(metric: Emit, team: NonNullable<ReturnType<Gateway['state']>['team']>): void {
  metric('rlm_team_online', 'gauge', '1 while the team store admits (online), 0 at the local share.', [
    [{ state: team.state }, team.state === 'online' ? 1 : 0],
  ]);
  metric('rlm_team_machines', 'gauge', 'Machines of the team seen alive at the last heartbeat.', [[{}, team.nodes]]);
  metric(
    'rlm_team_window_requests',
    'gauge',
    "The whole team's requests in the account's 60 s window, per model.",
    team.models.map((m): Row => [{ model: m.model }, m.requests]),
  );
  metric(
    'rlm_team_window_tokens',
    'gauge',
    "The whole team's tokens in the account's 60 s window, per model.",
    team.models.map((m): Row => [{ model: m.model }, m.tokens]),
  );
}

type Key = ReturnType<Gateway['state']>['keys'][number];
type ReportRow = ReturnType<Gateway['metrics']['report']>['rows'][number];

/** Per limiter key: limits in force, what the windows hold, the queue, the adaptation. */
function keyGauges(metric: Emit, keys: Key[]): void {
  const keyLabels = (k: Key) => ({ key: k.key, model: k.model, scope: k.scope, workspace: k.workspace ?? '' });
  const perKey = (value: (k: Key) => number): Row[] => keys.map((k) => [keyLabels(k), value(k)]);
  const perWindow = (minute: (k: Key) => number, second: (k: Key) => number): Row[] =>
    keys.flatMap((k): Row[] => [
      [{ ...keyLabels(k), window: '60s' }, minute(k)],
      [{ ...keyLabels(k), window: '1s' }, second(k)],
    ]);
  const gauges: [string, string, Row[]][] = [
    [
      'rlm_limit_requests_per_minute',
      'Effective requests-per-minute limit of a limiter key.',
      perKey((k) => k.effective.rpm),
    ],
    [
      'rlm_limit_tokens_per_minute',
      'Effective tokens-per-minute limit of a limiter key.',
      perKey((k) => k.effective.tpm),
    ],
    [
      'rlm_window_requests',
      'Requests admitted in the sliding window.',
      perWindow(
        (k) => k.minute.requests,
        (k) => k.second.requests,
      ),
    ],
    [
      'rlm_window_tokens',
      'Tokens charged in the sliding window.',
      perWindow(
        (k) => k.minute.tokens,
        (k) => k.second.tokens,
      ),
    ],
    ['rlm_queue_length', 'Requests waiting for admission on a key.', perKey((k) => k.queueLength)],
    [
      'rlm_adaptation_factor',
      'Share of the configured limit in force after provider 429s (1 = all).',
      perKey((k) => k.adaptation),
    ],
  ];
  for (const [name, help, rows] of gauges) metric(name, 'gauge', help, rows);
}

/** Counters per model and workspace since the gateway started. */
function totals(metric: Emit, rows: ReportRow[]): void {
  const at = (r: ReportRow, extra: Record<string, string> = {}) => ({
    model: r.model,
    workspace: r.workspace,
    ...extra,
  });
  metric(
    'rlm_requests_total',
    'counter',
    'Attempts since the gateway started.',
    rows.map((r) => [at(r), r.totalCalls]),
  );
  metric(
    'rlm_failures_total',
    'counter',
    'Failed attempts since the gateway started.',
    rows.map((r) => [at(r), r.failedCalls]),
  );
  const tokens = rows.flatMap((r): Row[] => [
    [at(r, { type: 'prompt' }), r.promptTokens],
    [at(r, { type: 'completion' }), r.completionTokens],
  ]);
  metric('rlm_tokens_total', 'counter', 'Tokens used since the gateway started.', tokens);
  const refusals: Row[] = rows.map((r) => [at(r), r.localRejections]);
  metric(
    'rlm_local_refusals_total',
    'counter',
    'Requests the gateway refused itself (local 429s) since it started.',
    refusals,
  );
  const limited = rows.flatMap((r) => RATE_LIMIT_KINDS.map((kind): Row => [at(r, { kind }), r.rateLimited[kind]]));
  const help = 'Provider 429s by kind since the gateway started (local refusals are rlm_local_refusals_total).';
  metric('rlm_rate_limited_total', 'counter', help, limited);
  // only what has a price: an unknown price is no sample, not a zero
  const costs = rows.flatMap((r): Row[] => (r.cost ? [[at(r, { currency: r.cost.currency }), r.cost.amount]] : []));
  metric('rlm_cost_total', 'counter', 'Estimated cost since the gateway started (list prices; see the README).', costs);
}
