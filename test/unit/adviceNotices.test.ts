/** Advice as notifications: the kinds worth interrupting for, each model and kind once a week. */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { Advice } from '../../src/core/advice';
import { ADVICE_REPEAT_MS, adviceToNotify, readShownAdvice } from '../../src/extension/logic/adviceNotices';

const item = (kind: Advice['kind'], model: string): Advice => ({ kind, model, message: '', data: {} });
const T0 = Date.parse('2026-12-02T09:00:00Z');

describe('advice notifications', () => {
  it('shows each model and kind once a week, and never a forecast', () => {
    const items = [item('higher-limit-model', 'a'), item('use-batch', 'a'), item('limit-soon', 'a')];
    const first = adviceToNotify(items, {}, T0);
    assert.deepEqual(
      first.due.map((a) => a.kind),
      ['higher-limit-model', 'use-batch'],
    );
    // the same advice an hour later, and six days later: nothing new
    assert.deepEqual(adviceToNotify(items, first.shown, T0 + 3_600_000).due, []);
    assert.deepEqual(adviceToNotify(items, first.shown, T0 + ADVICE_REPEAT_MS - 1).due, []);
    // another model, or a week later: shown
    assert.deepEqual(
      adviceToNotify([item('higher-limit-model', 'b')], first.shown, T0 + 1).due.map((a) => a.model),
      ['b'],
    );
    const weekLater = adviceToNotify(items, first.shown, T0 + ADVICE_REPEAT_MS);
    assert.equal(weekLater.due.length, 2);
    assert.deepEqual(Object.values(weekLater.shown), [T0 + ADVICE_REPEAT_MS, T0 + ADVICE_REPEAT_MS]);
  });

  it('forgets entries older than a week and reads a damaged store as empty', () => {
    const { shown } = adviceToNotify([], { 'use-batch:a': T0 - ADVICE_REPEAT_MS, 'use-batch:b': T0 - 1 }, T0);
    assert.deepEqual(shown, { 'use-batch:b': T0 - 1 });
    assert.deepEqual(readShownAdvice('nonsense'), {});
    assert.deepEqual(readShownAdvice({ 'use-batch:a': 'soon', 'use-batch:b': 5 }), { 'use-batch:b': 5 });
    // a time in the future (a clock set back) does not silence advice for good
    assert.equal(
      adviceToNotify([item('use-batch', 'c')], { 'use-batch:c': T0 + 10 * ADVICE_REPEAT_MS }, T0).due.length,
      1,
    );
  });
});
