/**
 * npm run bench:history — batched append throughput, rebuild time and peak memory for
 * 1,000,000 records, and a 24 h query over them. Targets: ≥ 100,000 appends/s; rebuild of
 * 1,000,000 records ≤ 3 s within ≤ 200 MB; query ≤ 20 ms.
 * Runs with --expose-gc (see package.json) so the memory figure is the rebuild's own.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { MetricsStore } from '../src/core/metrics';
import type { AttemptRecord } from '../src/core/types';
import { JsonlHistory } from '../src/gateway/historyStore';
import { machine, printTable } from './table';

const N = Number(process.env.BENCH_RECORDS ?? 1_000_000);

function record(i: number, start: number, span: number): AttemptRecord {
  const failed = i % 50 === 0;
  return {
    id: `bench-${i}`,
    startedAt: start + Math.floor((i / N) * span),
    model: ['qwen-plus', 'qwen-turbo', 'qwen-max'][i % 3]!,
    requestedModel: 'qwen-plus',
    workspace: i % 4 === 0 ? 'ws-a' : 'default',
    source: 'bench',
    endpoint: 'chat.completions',
    stream: i % 2 === 0,
    status: failed ? 429 : 200,
    outcome: failed ? 'error' : 'ok',
    ...(failed ? { errorKind: 'tpm' as const, errorCode: 'insufficient_quota' } : {}),
    promptTokens: 300 + (i % 500),
    completionTokens: 80 + (i % 120),
    totalTokens: 380 + (i % 500) + (i % 120),
    cachedTokens: 0,
    estimatedTokens: 900,
    queuedMs: i % 40,
    ...(i % 2 === 0 ? { ttftMs: 150 + (i % 300) } : {}),
    latencyMs: 400 + (i % 3000),
    attempt: 1,
  };
}

async function main() {
  console.log(`bench:history on ${machine()}`);
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'rlm-bench-history-'));
  const now = Date.now();
  const span = 24 * 3_600_000;
  const start = now - span;
  try {
    // Append: records arrive one by one; the store batches and flushes every 50 ms.
    const writer = new JsonlHistory({ dir, retentionMs: 2 * span });
    const t0 = performance.now();
    for (let i = 0; i < N; i++) {
      writer.append(record(i, start, span));
      if ((i & 0xffff) === 0) await new Promise((r) => setImmediate(r)); // let flush timers run, as a server would
    }
    await writer.flush();
    const appendSeconds = (performance.now() - t0) / 1000;
    const bytes = fs.readdirSync(dir).reduce((n, f) => n + fs.statSync(path.join(dir, f)).size, 0);

    // Rebuild: a fresh process-like start reads every segment into minute buckets.
    globalThis.gc?.();
    const heapBefore = process.memoryUsage().heapUsed;
    let peak = 0;
    let seen = 0;
    const metrics = new MetricsStore();
    const reader = new JsonlHistory({ dir, retentionMs: 2 * span, recentCapacity: 10_000 });
    const t1 = performance.now();
    // The load is synchronous, so the heap is sampled from inside it (every 5,000 records).
    const stats = reader.load((r) => {
      metrics.add(r);
      if (++seen % 5_000 === 0) peak = Math.max(peak, process.memoryUsage().heapUsed - heapBefore);
    });
    const rebuildSeconds = (performance.now() - t1) / 1000;
    peak = Math.max(peak, process.memoryUsage().heapUsed - heapBefore);
    globalThis.gc?.();
    const retained = (process.memoryUsage().heapUsed - heapBefore) / 2 ** 20;

    const q: number[] = [];
    for (let i = 0; i < 3; i++) metrics.report(now - span, now + 1); // warm up the JIT
    for (let i = 0; i < 30; i++) {
      const s = performance.now();
      metrics.report(now - span, now + 1);
      q.push(performance.now() - s);
    }
    q.sort((a, b) => a - b);

    printTable(
      `History with ${N.toLocaleString('en-US')} records (${(bytes / 2 ** 20).toFixed(0)} MB of JSONL in ${fs.readdirSync(dir).length} hourly segments)`,
      [
        {
          measure: 'batched appends',
          value: `${Math.round(N / appendSeconds).toLocaleString('en-US')} /s`,
          target: '≥ 100,000 /s',
          met: N / appendSeconds >= 100_000 ? 'yes' : 'NO',
        },
        {
          measure: 'rebuild (read + parse + buckets)',
          value: `${rebuildSeconds.toFixed(2)} s (${stats.records.toLocaleString('en-US')} records)`,
          target: '≤ 3 s',
          met: rebuildSeconds <= 3 ? 'yes' : 'NO',
        },
        {
          measure: 'peak heap during rebuild',
          value: `${(peak / 2 ** 20).toFixed(0)} MB`,
          target: '≤ 200 MB',
          met: peak / 2 ** 20 <= 200 ? 'yes' : 'NO',
        },
        { measure: 'heap kept after rebuild', value: `${retained.toFixed(0)} MB`, target: '—', met: '—' },
        {
          measure: '24 h query (summary + rows), p50 / max',
          value: `${q[15]!.toFixed(2)} / ${q[29]!.toFixed(2)} ms`,
          target: '≤ 20 ms',
          met: q[29]! <= 20 ? 'yes' : 'NO',
        },
      ],
    );
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

void main();
