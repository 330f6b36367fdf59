/** `GET /metrics` in Prometheus text format, for people who already run Grafana. */
import type { Gateway } from './server';

const esc = (v: string) => v.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\n/g, '\\n');
const labels = (l: Record<string, string>) =>
  `{${Object.entries(l)
    .map(([k, v]) => `${k}="${esc(v)}"`)
    .join(',')}}`;

export function prometheusText(gw: Gateway): string {
  const lines: string[] = [];
  const metric = (name: string, type: 'gauge' | 'counter', help: string, rows: [Record<string, string>, number][]) => {
    lines.push(`# HELP ${name} ${help}`, `# TYPE ${name} ${type}`);
    for (const [l, v] of rows) lines.push(`${name}${labels(l)} ${Number.isFinite(v) ? v : 0}`);
  };
  const state = gw.state();
  const keyLabels = (k: (typeof state.keys)[number]) => ({
    key: k.key,
    model: k.model,
    scope: k.scope,
    workspace: k.workspace ?? '',
  });
  metric(
    'rlm_limit_requests_per_minute',
    'gauge',
    'Effective requests-per-minute limit of a limiter key.',
    state.keys.map((k) => [keyLabels(k), k.effective.rpm]),
  );
  metric(
    'rlm_limit_tokens_per_minute',
    'gauge',
    'Effective tokens-per-minute limit of a limiter key.',
    state.keys.map((k) => [keyLabels(k), k.effective.tpm]),
  );
  metric(
    'rlm_window_requests',
    'gauge',
    'Requests admitted in the sliding window.',
    state.keys.flatMap(
      (k) =>
        [
          [{ ...keyLabels(k), window: '60s' }, k.minute.requests],
          [{ ...keyLabels(k), window: '1s' }, k.second.requests],
        ] as [Record<string, string>, number][],
    ),
  );
  metric(
    'rlm_window_tokens',
    'gauge',
    'Tokens charged in the sliding window.',
    state.keys.flatMap(
      (k) =>
        [
          [{ ...keyLabels(k), window: '60s' }, k.minute.tokens],
          [{ ...keyLabels(k), window: '1s' }, k.second.tokens],
        ] as [Record<string, string>, number][],
    ),
  );
  metric(
    'rlm_queue_length',
    'gauge',
    'Requests waiting for admission on a key.',
    state.keys.map((k) => [keyLabels(k), k.queueLength]),
  );
  metric(
    'rlm_adaptation_factor',
    'gauge',
    'Share of the configured limit in force after provider 429s (1 = all).',
    state.keys.map((k) => [keyLabels(k), k.adaptation]),
  );
  const now = Date.now();
  // Totals since the gateway started, from the minute buckets.
  const report = gw.metrics.report(gw.startedAt, now + 1);
  metric(
    'rlm_requests_total',
    'counter',
    'Attempts since the gateway started.',
    report.rows.map((r) => [{ model: r.model, workspace: r.workspace }, r.totalCalls]),
  );
  metric(
    'rlm_failures_total',
    'counter',
    'Failed attempts since the gateway started.',
    report.rows.map((r) => [{ model: r.model, workspace: r.workspace }, r.failedCalls]),
  );
  metric(
    'rlm_tokens_total',
    'counter',
    'Tokens used since the gateway started.',
    report.rows.flatMap(
      (r) =>
        [
          [{ model: r.model, workspace: r.workspace, type: 'prompt' }, r.promptTokens],
          [{ model: r.model, workspace: r.workspace, type: 'completion' }, r.completionTokens],
        ] as [Record<string, string>, number][],
    ),
  );
  metric(
    'rlm_local_refusals_total',
    'counter',
    'Requests the gateway refused itself (local 429s) since it started.',
    report.rows.map((r) => [{ model: r.model, workspace: r.workspace }, r.localRejections]),
  );
  metric(
    'rlm_rate_limited_total',
    'counter',
    'Provider 429s by kind since the gateway started (local refusals are rlm_local_refusals_total).',
    report.rows.flatMap((r) =>
      (['rpm', 'tpm', 'burst'] as const).map(
        (kind) =>
          [{ model: r.model, workspace: r.workspace, kind }, r.rateLimited[kind]] as [Record<string, string>, number],
      ),
    ),
  );
  metric('rlm_in_flight', 'gauge', 'Requests the gateway is handling.', [[{}, state.inFlight]]);
  return lines.join('\n') + '\n';
}
