/**
 * npm run bench:core — admission decisions per second (1 and 100 keys) and metrics
 * queries over 1,000,000 records. Targets: ≥ 1,000,000 decisions/s on one key; a 24 h
 * summary over 1,000,000 records in ≤ 20 ms once buckets exist.
 */
import { Limiter } from '../src/core/limiter';
import { MetricsStore } from '../src/core/metrics';
import type { AttemptRecord } from '../src/core/types';
import { machine, printTable } from './table';

function decisions(keys: number, n: number): number {
  const l = new Limiter();
  const names = Array.from({ length: keys }, (_, i) => [`account:m${i}`]);
  // Limits high enough that every decision admits: the hot path of a busy gateway.
  for (const [k] of names) l.setLimits(k!, { rpm: 1e12, tpm: 1e15 });
  let now = 0;
  const start = process.hrtime.bigint();
  for (let i = 0; i < n; i++) {
    now += 0.001;
    const r = l.reserve(names[i % keys]!, 100, now);
    if (r.ok && (i & 7) === 0) l.settle(r.reservation, 80);
  }
  const seconds = Number(process.hrtime.bigint() - start) / 1e9;
  return n / seconds;
}

function saturatedDecisions(n: number): number {
  // A saturated key: every decision is "wait until T" with a queue behind it.
  const l = new Limiter();
  l.setLimits('k', { rpm: 600, tpm: 1_000_000 });
  for (let i = 0; i < 100; i++) l.enqueue(['k'], 100, 0);
  l.poll(0);
  const start = process.hrtime.bigint();
  for (let i = 0; i < n; i++) l.reserve(['k'], 100, 1 + i * 1e-6);
  return n / (Number(process.hrtime.bigint() - start) / 1e9);
}

function metricsBench(records: number) {
  const m = new MetricsStore();
  const models = ['qwen-plus', 'qwen-turbo', 'qwen-max', 'qwen-flash', 'qwen-vl-plus'];
  const now = Date.parse('2026-11-30T12:00:00Z');
  const span = 24 * 3_600_000;
  const kinds = ['rpm', 'tpm', 'burst'] as const;
  const recs: AttemptRecord[] = [];
  for (let i = 0; i < records; i++) {
    const failed = i % 50 === 0;
    recs.push({
      id: String(i),
      startedAt: now - span + Math.floor((i / records) * span),
      model: models[i % models.length]!,
      requestedModel: models[i % models.length]!,
      workspace: i % 3 === 0 ? 'ws-a' : 'default',
      source: 'bench',
      endpoint: 'chat.completions',
      stream: i % 2 === 0,
      status: failed ? 429 : 200,
      outcome: failed ? 'error' : 'ok',
      ...(failed ? { errorKind: kinds[i % 3]! } : {}),
      promptTokens: 200 + (i % 300),
      completionTokens: 50 + (i % 100),
      totalTokens: 250 + (i % 300) + (i % 100),
      cachedTokens: 0,
      estimatedTokens: 400,
      queuedMs: i % 20,
      ...(i % 2 === 0 ? { ttftMs: 100 + (i % 400) } : {}),
      latencyMs: 300 + (i % 2000),
      attempt: 1,
    });
  }
  const t0 = process.hrtime.bigint();
  for (const r of recs) m.add(r);
  const buildMs = Number(process.hrtime.bigint() - t0) / 1e6;
  const time = (fn: () => unknown) => {
    const samples: number[] = [];
    for (let i = 0; i < 30; i++) {
      const s = process.hrtime.bigint();
      fn();
      samples.push(Number(process.hrtime.bigint() - s) / 1e6);
    }
    samples.sort((a, b) => a - b);
    return { p50: samples[15]!, max: samples[29]! };
  };
  const summary = time(() => m.report(now - span, now + 1));
  const hour = time(() => m.report(now - 3_600_000, now + 1));
  const series = time(() => m.timeSeries(now - span, now + 1, 12 * 60_000, { model: 'qwen-plus' }));
  return { buildMs, summary, hour, series };
}

function main() {
  console.log(`bench:core on ${machine()}`);
  const n = 5_000_000;
  decisions(1, 200_000); // warm up
  const one = decisions(1, n);
  const hundred = decisions(100, n);
  const saturated = saturatedDecisions(1_000_000);
  printTable('Admission decisions (virtual clock, one core)', [
    {
      case: '1 key, admitting',
      'decisions/s': Math.round(one).toLocaleString('en-US'),
      target: '≥ 1,000,000',
      met: one >= 1e6 ? 'yes' : 'NO',
    },
    { case: '100 keys, admitting', 'decisions/s': Math.round(hundred).toLocaleString('en-US'), target: '—', met: '—' },
    {
      case: '1 key, saturated (answer: wait until T)',
      'decisions/s': Math.round(saturated).toLocaleString('en-US'),
      target: '—',
      met: '—',
    },
  ]);
  const m = metricsBench(1_000_000);
  printTable('Metrics over 1,000,000 records (24 h, 5 models × 2 workspaces)', [
    {
      query: 'build minute buckets (all records)',
      'p50 ms': m.buildMs.toFixed(0),
      'max ms': '—',
      target: '—',
      met: '—',
    },
    {
      query: '24 h summary + per-model rows',
      'p50 ms': m.summary.p50.toFixed(2),
      'max ms': m.summary.max.toFixed(2),
      target: '≤ 20 ms',
      met: m.summary.max <= 20 ? 'yes' : 'NO',
    },
    {
      query: '1 h summary + per-model rows',
      'p50 ms': m.hour.p50.toFixed(2),
      'max ms': m.hour.max.toFixed(2),
      target: '—',
      met: '—',
    },
    {
      query: '24 h series, one model, 12 min steps',
      'p50 ms': m.series.p50.toFixed(2),
      'max ms': m.series.max.toFixed(2),
      target: '—',
      met: '—',
    },
  ]);
}

main();
