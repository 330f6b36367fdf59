import { describe, it } from 'node:test';
import { attemptRecord } from '../support/shapes';
import assert from 'node:assert/strict';
import { MetricsStore } from '../../src/core/metrics';
import type { AttemptRecord } from '../../src/core/types';

const T0 = Date.parse('2026-11-30T10:00:00Z');
const rec = (over: Partial<AttemptRecord>): AttemptRecord =>
  attemptRecord({
    startedAt: T0,
    promptTokens: 100,
    completionTokens: 50,
    estimatedTokens: 200,
    latencyMs: 100,
    ...over,
  });

describe('metrics from minute buckets', () => {
  const m = new MetricsStore();
  // minute 0: 3 calls (one stream), minute 2: 2 calls incl. a tpm 429; ws-a: one call; qwen-turbo: a local rejection
  m.add(rec({ startedAt: T0 + 1_000, latencyMs: 100 }));
  m.add(rec({ startedAt: T0 + 1_500, latencyMs: 300, stream: true, ttftMs: 40 }));
  m.add(rec({ startedAt: T0 + 30_000, latencyMs: 200, stream: true, ttftMs: 60 }));
  m.add(
    rec({
      startedAt: T0 + 125_000,
      status: 429,
      outcome: 'error',
      errorKind: 'tpm',
      totalTokens: 0,
      promptTokens: 0,
      completionTokens: 0,
    }),
  );
  m.add(rec({ startedAt: T0 + 126_000, latencyMs: 400 }));
  m.add(rec({ startedAt: T0 + 10_000, workspace: 'ws-a' }));
  m.add(
    rec({
      startedAt: T0 + 5_000,
      model: 'qwen-turbo',
      status: 429,
      outcome: 'rejected',
      errorKind: 'rpm',
      totalTokens: 0,
    }),
  );
  m.add(rec({ startedAt: T0 + 6_000, model: 'qwen-turbo', outcome: 'cancelled', errorKind: 'cancelled', status: 0 }));

  it('summarises a window: models, calls, failures, averages, provider 429s by kind apart from local refusals', () => {
    const r = m.report(T0, T0 + 3_600_000);
    assert.equal(r.summary.totalModels, 2);
    assert.equal(r.summary.totalCalls, 8);
    assert.equal(r.summary.failures, 2, 'a cancelled call is not a failure');
    assert.equal(r.summary.avgTtftMs, 50);
    assert.equal(r.summary.avgLatencyMs, (100 + 300 + 200 + 400 + 100) / 5, 'successful calls only');
    assert.deepEqual(
      r.summary.rateLimited,
      { rpm: 0, tpm: 1, burst: 0 },
      'the local rpm refusal is not a provider 429',
    );
    assert.equal(r.summary.localRejections, 1);
  });

  it('gives per-model rows with Avg RPM/TPM over active minutes, peaks and failure rate', () => {
    const row = m.report(T0, T0 + 3_600_000).rows.find((x) => x.model === 'qwen-plus' && x.workspace === 'default')!;
    assert.equal(row.totalCalls, 5);
    assert.equal(row.failedCalls, 1);
    assert.equal(row.failureRate, 0.2);
    assert.equal(row.activeMinutes, 2);
    assert.equal(row.avgRpm, 2.5, '5 calls over 2 active minutes, idle minute 1 not counted');
    assert.equal(row.avgTpm, (150 * 4) / 2);
    assert.equal(row.peakRpm, 3);
    assert.equal(row.peakTpm, 450);
    assert.equal(row.peakRps, 2, 'two calls in second 1');
    assert.equal(row.peakTps, 300);
    assert.deepEqual(row.rateLimited, { rpm: 0, tpm: 1, burst: 0 });
    assert.ok(row.p50LatencyMs! >= 180 && row.p50LatencyMs! <= 230, `p50 ${row.p50LatencyMs}`);
    assert.ok(row.p95LatencyMs! >= 360 && row.p95LatencyMs! <= 450, `p95 ${row.p95LatencyMs}`);
    const turbo = m.report(T0, T0 + 3_600_000).rows.find((x) => x.model === 'qwen-turbo')!;
    assert.equal(turbo.localRejections, 1);
    assert.equal(turbo.cancelledCalls, 1);
  });

  it('filters by workspace and window, and builds series per step and per second', () => {
    assert.equal(m.report(T0, T0 + 3_600_000, { workspace: 'ws-a' }).summary.totalCalls, 1);
    assert.equal(m.report(T0 + 120_000, T0 + 180_000).summary.totalCalls, 2);
    const pts = m.timeSeries(T0, T0 + 180_000, 60_000, { model: 'qwen-plus', workspace: 'default' });
    assert.deepEqual(
      pts.map((p) => p.calls),
      [3, 0, 2],
    );
    assert.deepEqual(
      pts.map((p) => p.rateLimited.tpm),
      [0, 0, 1],
    );
    const turboPts = m.timeSeries(T0, T0 + 60_000, 60_000, { model: 'qwen-turbo' });
    assert.deepEqual(
      turboPts.map((p) => [p.rateLimited.rpm, p.localRejections]),
      [[0, 1]],
    );
    const secs = m.secondSeries(T0, T0 + 3_000, { model: 'qwen-plus' });
    assert.deepEqual(
      secs.map((s) => s.calls),
      [0, 2, 0],
    );
  });

  it('drops buckets older than retention', () => {
    const m2 = new MetricsStore();
    m2.add(rec({ startedAt: T0 }));
    m2.add(rec({ startedAt: T0 + 7_200_000 }));
    m2.dropBefore(T0 + 3_600_000);
    assert.equal(m2.report(0, T0 + 10_000_000).summary.totalCalls, 1);
  });
});
