/**
 * Forecasts on a virtual clock: when a window reaches its limit at the recent growth, and when
 * a queue clears; nothing is forecast when use is flat, shrinking or too far off.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { forecastOf, forecastText, FORECAST_HORIZON_MS } from '../../src/core/forecast';
import { MetricsStore } from '../../src/core/metrics';
import type { KeyState } from '../../src/core/protocol';
import { withForecasts } from '../../src/gateway/forecasts';
import { attemptRecord, keyState } from '../support/shapes';

const key = (requests: number, tokens: number, queueLength = 0, extra: Partial<KeyState> = {}): KeyState =>
  keyState({
    key: 'account:m',
    model: 'm',
    minute: { requests, tokens, requestLimit: 600, tokenLimit: 1_000_000 },
    queueLength,
    ...extra,
  });

describe('forecasts', () => {
  it('names the limit the growing window reaches first, and when', () => {
    // tokens grow 100k a minute: 400k now, the 1M limit in 6 minutes; requests stay flat
    const f = forecastOf(key(100, 400_000), [
      { requests: 100, tokens: 100_000 },
      { requests: 100, tokens: 200_000 },
      { requests: 100, tokens: 300_000 },
    ]);
    assert.deepEqual(f.limit, { kind: 'tpm', inMs: 6 * 60_000 });
    assert.equal(forecastText(f), 'TPM limit reached in ~6 min at this rate');
  });

  it('says nothing of a flat or shrinking use, or of a limit past the horizon', () => {
    const flat = [
      { requests: 300, tokens: 500_000 },
      { requests: 300, tokens: 500_000 },
    ];
    assert.deepEqual(forecastOf(key(300, 500_000), flat), {});
    const shrinking = [
      { requests: 500, tokens: 900_000 },
      { requests: 400, tokens: 700_000 },
    ];
    assert.deepEqual(forecastOf(key(300, 500_000), shrinking), {});
    // 1 request a minute more, 590 left: ten hours away
    const slow = forecastOf(key(10, 10), [
      { requests: 8, tokens: 10 },
      { requests: 9, tokens: 10 },
    ]);
    assert.equal(slow.limit, undefined);
    assert.ok(FORECAST_HORIZON_MS < 10 * 3_600_000);
    assert.equal(forecastText(undefined), '');
  });

  it('says when a queue clears: the first one’s turn, then one pacing slot or token share each', () => {
    const wait = { waiting: 5, oldestMs: 100, nextInMs: 500, binds: 'pacing' as const, onKey: 'account:m', cost: 10 };
    const k = key(60, 600, 5, { effective: { rpm: 60, tpm: 1_000_000 }, wait });
    assert.equal(forecastOf(k, []).queueClearsInMs, 500 + 4 * 1_000);
    // token-bound: 10k tokens a request against 60k TPM is 10 s each
    const heavy = key(6, 60_000, 3, { effective: { rpm: 600, tpm: 60_000 }, wait });
    assert.equal(forecastOf(heavy, []).queueClearsInMs, 500 + 2 * 10_000);
    assert.equal(forecastText({ queueClearsInMs: 40_000 }), 'queue clears in ~40 s');
    // a request that can never fit: no clearing time
    const never = key(0, 0, 1, { wait: { ...wait, nextInMs: Infinity } });
    assert.equal(forecastOf(never, []).queueClearsInMs, undefined);
  });

  it("reads a key's last complete minutes from the metrics (the gateway's state)", () => {
    const metrics = new MetricsStore();
    const at = (minute: number, i: number) =>
      attemptRecord({ startedAt: minute * 60_000 + i, model: 'm', promptTokens: 1_000 });
    // 100, 200, 300 requests in minutes 7, 8, 9; 400 in the live window at minute 10 — the RPM
    // limit of 600 two minutes away (tokens: 400k of 1M, six minutes away)
    for (const [minute, n] of [
      [7, 100],
      [8, 200],
      [9, 300],
    ])
      for (let i = 0; i < n!; i++) metrics.add(at(minute!, i));
    // local refusals never reached the provider nor the key's window: they are not use
    for (let i = 0; i < 2_000; i++)
      metrics.add(attemptRecord({ startedAt: 7 * 60_000 + i, model: 'm', outcome: 'rejected', status: 429 }));
    const [k] = withForecasts([key(400, 400_000)], metrics, 10 * 60_000 + 5_000);
    assert.deepEqual(k!.forecast, { limit: { kind: 'rpm', inMs: 2 * 60_000 } });
  });
});
