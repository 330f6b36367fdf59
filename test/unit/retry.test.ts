/**
 * "How is a 429 retried?" as a table: each failure, where the request stands, what comes next.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import {
  backoffMs,
  DEFAULT_RETRY,
  isRateLimitKind,
  nextStep,
  retryWaitMs,
  soonerBackup,
  type AttemptFailure,
  type NextStep,
  type RetryState,
} from '../../src/core/retry';

const policy = DEFAULT_RETRY; // 2 retries after a 429, 2 after a server error
const at = (failuresOnModel: number, chainIndex = 0, chainLength = 2): RetryState => ({
  failuresOnModel,
  chainIndex,
  chainLength,
});
const f = (kind: AttemptFailure['kind'], retryable = true): AttemptFailure => ({ kind, retryable });

describe('the retry policy', () => {
  const table: [string, RetryState, AttemptFailure, NextStep][] = [
    ['an rpm 429 holds the key and retries', at(1), f('rpm'), { action: 'retry', waitMs: 100, holdKey: true }],
    ['a tpm 429, second try, still retries', at(2), f('tpm'), { action: 'retry', waitMs: 100, holdKey: true }],
    [
      'a burst 429 waits here, without holding the key',
      at(1),
      f('burst'),
      { action: 'retry', waitMs: 100, holdKey: false },
    ],
    ['a server error waits here', at(1), f('server'), { action: 'retry', waitMs: 100, holdKey: false }],
    ['a network error waits here', at(2), f('network'), { action: 'retry', waitMs: 100, holdKey: false }],
    ['retries used up → the next model of the chain', at(3), f('rpm'), { action: 'fallback', chainIndex: 1 }],
    ['server retries used up → the next model', at(3), f('timeout'), { action: 'fallback', chainIndex: 1 }],
    ['retries used up on the last model → fail', at(3, 1, 2), f('rpm'), { action: 'fail' }],
    ['no chain at all → fail', at(3, 0, 1), f('tpm'), { action: 'fail' }],
    ['not retryable (quota) → fail at once, whatever is left', at(1), f('quota', false), { action: 'fail' }],
    ['not retryable (a bad request) → fail at once', at(1), f('bad_request', false), { action: 'fail' }],
    ['not retryable (auth) → fail, no fallback', at(1, 0, 3), f('auth', false), { action: 'fail' }],
  ];
  for (const [name, state, failure, expected] of table) {
    it(name, () => assert.deepEqual(nextStep(policy, state, failure, 100), expected));
  }

  it('waits the longer of Retry-After and a full-jitter backoff that doubles and is capped', () => {
    assert.equal(
      backoffMs(policy, 1, () => 1),
      250,
    );
    assert.equal(
      backoffMs(policy, 3, () => 1),
      1_000,
    );
    assert.equal(
      backoffMs(policy, 20, () => 1),
      8_000,
      'capped',
    );
    assert.equal(
      backoffMs(policy, 3, () => 0.5),
      500,
      'jittered',
    );
    assert.equal(
      retryWaitMs(policy, at(1), { kind: 'rpm', retryable: true, retryAfterMs: 3_000 }, () => 1),
      3_000,
    );
    assert.equal(
      retryWaitMs(policy, at(3), { kind: 'rpm', retryable: true, retryAfterMs: 100 }, () => 1),
      1_000,
    );
    // a per-second refusal waits until the provider's 1 s window has moved past it (a burst does not: it is paced)
    assert.equal(
      retryWaitMs(policy, at(1), { kind: 'tpm', retryable: true, perSecond: true }, () => 0.1),
      1_000,
    );
    assert.equal(
      retryWaitMs(policy, at(1), { kind: 'rpm', retryable: true, perSecond: true }, () => 0.1),
      1_000,
    );
    assert.equal(
      retryWaitMs(policy, at(1), { kind: 'burst', retryable: true, perSecond: true }, () => 0.1),
      25,
    );
    assert.equal(
      retryWaitMs(policy, at(1), { kind: 'tpm', retryable: true }, () => 0.1),
      25,
    );
  });

  it('names the 429 kinds', () => {
    assert.deepEqual(
      ['rpm', 'tpm', 'burst', 'quota', 'server', undefined].map((k) => isRateLimitKind(k as never)),
      [true, true, true, false, false, false],
    );
  });

  it('falls back to the first backup that could start sooner, and within the maximum wait', () => {
    const chain = ['plus', 'turbo', 'max', 'flash'];
    const starts: Record<string, number> = { turbo: 5_000, max: 1_000, flash: 0 };
    assert.equal(
      soonerBackup(chain, 0, 2_000, (m) => starts[m]!, 0, 30_000),
      2,
      'turbo is later than plus itself; max is sooner',
    );
    assert.equal(
      soonerBackup(chain, 2, 2_000, (m) => starts[m]!, 0, 30_000),
      3,
      'from max on: flash',
    );
    assert.equal(
      soonerBackup(chain, 0, 2_000, () => 40_000, 0, 30_000),
      -1,
      'none could start sooner',
    );
    assert.equal(
      soonerBackup(['plus', 'turbo'], 0, 60_000, () => 40_000, 0, 30_000),
      -1,
      'sooner, but past the maximum',
    );
  });
});
