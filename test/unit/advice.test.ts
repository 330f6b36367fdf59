/**
 * Advice on a virtual clock: a dated snapshot with a higher-limit alias, an idle or expiring
 * temporary increase, a limit about to be reached, background work for the Batch API — and
 * nothing when there is nothing to advise.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { adviceAction, adviceMessage, adviceOf, BATCH_MIN_CALLS, type AdviceInput } from '../../src/core/advice';
import { pricingFor } from '../../src/core/cost';
import { SourceStore } from '../../src/core/sources';
import { attemptRecord } from '../support/shapes';
import type { TemporaryIncrease } from '../../src/core/types';

const DAY = 86_400_000;
const NOW = Date.parse('2026-12-02T12:00:00Z');
const increase = (appliedDaysAgo: number, lastsDays = 30): TemporaryIncrease => ({
  model: 'qwen-plus',
  tpm: 5_000_000,
  previousTpm: 1_000_000,
  appliedAt: new Date(NOW - appliedDaysAgo * DAY).toISOString(),
  expiresAt: new Date(NOW - appliedDaysAgo * DAY + lastsDays * DAY).toISOString(),
});
const input = (o: Partial<AdviceInput> = {}): AdviceInput => ({
  config: {
    models: {
      'qwen-plus': { rpm: 15_000, tpm: 5_000_000 },
      'qwen-plus-2025-07-28': { rpm: 600, tpm: 1_000_000 },
    },
    temporaryIncreases: [],
  },
  inUse: ['qwen-plus'],
  peakTpmSince: () => 0,
  forecasts: {},
  now: NOW,
  ...o,
});

describe('advice', () => {
  it('says nothing when there is nothing to advise', () => {
    assert.deepEqual(adviceOf(input()), []);
  });

  it('points a dated snapshot in use at its alias when the alias has higher limits', () => {
    const [a, ...rest] = adviceOf(input({ inUse: ['qwen-plus-2025-07-28'] }));
    assert.deepEqual(rest, []);
    assert.equal(a!.kind, 'higher-limit-model');
    assert.equal(a!.data.alias, 'qwen-plus');
    assert.match(a!.message, /qwen-plus-2025-07-28 is a dated snapshot; its alias qwen-plus allows 15000 RPM/);
    // its button, in the dashboard and in the notification alike
    assert.deepEqual(adviceAction(a!), { kind: 'preferFallback', fallback: 'qwen-plus', label: 'Use qwen-plus first' });
    // not when the alias has none configured, or no higher ones
    const lower = input({ inUse: ['qwen-plus-2025-07-28'] });
    lower.config.models['qwen-plus'] = { rpm: 600, tpm: 1_000_000 };
    assert.deepEqual(adviceOf(lower), []);
  });

  it('warns of an increase idle for three days, and reminds of one ending within three', () => {
    const idle = adviceOf(input({ config: { ...input().config, temporaryIncreases: [increase(4)] } }));
    assert.deepEqual(
      idle.map((a) => a.kind),
      ['idle-increase'],
    );
    // busy enough (peak ≥ 20 % of the raised TPM): no warning; two days old: too early to tell
    const busy = input({ config: { ...input().config, temporaryIncreases: [increase(4)] }, peakTpmSince: () => 1e6 });
    assert.deepEqual(adviceOf(busy), []);
    assert.deepEqual(adviceOf(input({ config: { ...input().config, temporaryIncreases: [increase(2)] } })), []);
    const ending = adviceOf(
      input({ config: { ...input().config, temporaryIncreases: [increase(28)] }, peakTpmSince: () => 4e6 }),
    );
    assert.deepEqual(
      ending.map((a) => a.kind),
      ['increase-expiring'],
    );
    assert.match(ending[0]!.message, /ends in 2\.0 h|ends in 48\.0 h/);
    // an expired one says nothing
    assert.deepEqual(adviceOf(input({ config: { ...input().config, temporaryIncreases: [increase(31)] } })), []);
  });

  it('passes on a forecast limit, and words each item in the view’s language', () => {
    const [a] = adviceOf(input({ forecasts: { 'qwen-plus': { limit: { kind: 'tpm', inMs: 240_000 } } } }));
    assert.equal(a!.message, 'qwen-plus reaches its TPM limit in ~4 min at this rate.');
    const upper = { t: (m: string, ...args: (string | number)[]) => `«${m}»${args.join('|')}` };
    assert.equal(adviceMessage(a!, upper), '«{0} reaches its {1} limit in ~{2} at this rate.»qwen-plus|TPM|4 min');
  });

  it('sends background work to the Batch API when it is most of a model’s tokens, with what it would save', () => {
    const pricing = pricingFor({ baseUrl: 'https://dashscope-intl.aliyuncs.com/compatible-mode/v1' });
    const use = (background: number, interactive: number, model = 'qwen-plus') => {
      const store = new SourceStore();
      const rec = (lane: 'background' | 'interactive') =>
        attemptRecord({ startedAt: NOW - 60_000, model, lane, promptTokens: 1_000, completionTokens: 500 });
      for (let i = 0; i < background; i++) store.add(rec('background'));
      for (let i = 0; i < interactive; i++) store.add(rec('interactive'));
      return store.laneUse(NOW - 3_600_000, NOW + 1, pricing);
    };
    const [a, ...rest] = adviceOf(input({ laneUse: use(BATCH_MIN_CALLS, 5), batchFactor: 0.5 }));
    assert.deepEqual(rest, []);
    assert.equal(a!.kind, 'use-batch');
    assert.deepEqual(adviceAction(a!), { kind: 'runBatchFile', label: 'Run Batch File…' });
    assert.equal(a!.data.calls, BATCH_MIN_CALLS);
    // 20 calls × (1,000 × $0.4 + 500 × $1.2) / 1M = $0.02 in real time; the Batch API halves it
    const saving = a!.data.saving as { amount: number; currency: string };
    assert.ok(Math.abs(saving.amount - 0.01) < 1e-12, String(saving.amount));
    assert.match(a!.message, /qwen-plus: 20 calls on the background lane in the last hour, 80 % of its tokens/);
    assert.match(a!.message, /It would have saved about \$0\.01\./);
    // too few calls, a minority of the tokens, no cheaper batch price: nothing
    assert.deepEqual(adviceOf(input({ laneUse: use(BATCH_MIN_CALLS - 1, 0), batchFactor: 0.5 })), []);
    assert.deepEqual(adviceOf(input({ laneUse: use(BATCH_MIN_CALLS, BATCH_MIN_CALLS + 1), batchFactor: 0.5 })), []);
    assert.deepEqual(adviceOf(input({ laneUse: use(BATCH_MIN_CALLS, 0), batchFactor: 1 })), []);
    // a model without limits (it shares the "other" series) gets none
    assert.deepEqual(adviceOf(input({ laneUse: use(BATCH_MIN_CALLS, 0, 'mystery'), batchFactor: 0.5 })), []);
    // a model without a price: the advice stands, without a figure it cannot know
    const snapshot = 'qwen-plus-2025-07-28';
    const [unpriced] = adviceOf(input({ laneUse: use(BATCH_MIN_CALLS, 0, snapshot), batchFactor: 0.5 }));
    assert.equal(unpriced!.data.saving, null);
    assert.doesNotMatch(unpriced!.message, /saved/);
  });
});
