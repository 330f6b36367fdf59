/**
 * How a failed attempt goes on — the one place that answers "how is a 429 retried?".
 *
 * The gateway is the only retry layer (callers are told not to retry). After an attempt fails:
 * - not retryable (400, 401, quota, a cancelled caller) → fail, passing the provider's answer on;
 * - retryable, and retries left on this model → retry after max(Retry-After, full-jitter backoff);
 *   an rpm/tpm 429 holds the key for that long, so the limiter makes the retry wait (it goes to
 *   the front of the queue); a burst 429 or a server error waits here, without holding the key;
 * - no retries left → the next model of the fallback chain, from a fresh budget;
 * - no model left → fail.
 * A retry that cannot start within the caller's maximum wait is answered in src/gateway/proxy.ts
 * (noPlace): the gateway's own 429 after a rate limit, else the failure itself.
 * Pure: the random source is a parameter, as is time everywhere in src/core.
 */
import { RATE_LIMIT_KINDS, type ErrorKind, type RateLimitKind } from './types';

export interface RetryPolicy {
  /** Retries on the same model after a 429, before falling back. */
  rateLimitRetries: number;
  /** Retries after a 5xx, time-out or network error. */
  serverRetries: number;
  baseDelayMs: number;
  maxDelayMs: number;
}

export const DEFAULT_RETRY: RetryPolicy = {
  rateLimitRetries: 2,
  serverRetries: 2,
  baseDelayMs: 250,
  maxDelayMs: 8_000,
};

export function isRateLimitKind(kind: ErrorKind | undefined): kind is RateLimitKind {
  return (RATE_LIMIT_KINDS as readonly string[]).includes(kind ?? '');
}

/** Where a request stands when an attempt failed. */
export interface RetryState {
  /** Which model of the chain (0: the one asked for). */
  chainIndex: number;
  chainLength: number;
  /** Failed attempts on this model so far, the one that just failed included. */
  failuresOnModel: number;
}

export interface AttemptFailure {
  kind: ErrorKind;
  retryable: boolean;
  /** The provider's Retry-After, when it sent one. */
  retryAfterMs?: number;
  /** A 429 by a per-second rule (RPS, TPS): what the provider counted stays in its 1 s window for up to a second. */
  perSecond?: boolean;
}

/** How long a per-second refusal's retry waits at least: until the provider's 1 s window has moved past it. */
export const PER_SECOND_RETRY_MS = 1_000;

export type NextStep =
  /** Try the same model again after `waitMs`: by holding the key (`holdKey`), or by sleeping here. */
  | { action: 'retry'; waitMs: number; holdKey: boolean }
  | { action: 'fallback'; chainIndex: number }
  | { action: 'fail' };

/** Full jitter (a random wait up to the capped exponential step), so retries do not come in waves. */
export function backoffMs(policy: RetryPolicy, failures: number, random: () => number): number {
  return random() * Math.min(policy.maxDelayMs, policy.baseDelayMs * 2 ** (failures - 1));
}

/**
 * The wait a failure asks for: the provider's Retry-After or our backoff, whichever is longer —
 * and a full second after a per-second refusal. The provider counts tokens its own way; when it
 * saw one more than we did, a retry within the second meets the same full window again (three
 * such retries in 300 ms had spent a request's retry budget and shown its caller the 429).
 */
export function retryWaitMs(
  policy: RetryPolicy,
  state: RetryState,
  failure: AttemptFailure,
  random: () => number,
): number {
  const floor = failure.perSecond && failure.kind !== 'burst' ? PER_SECOND_RETRY_MS : 0;
  return Math.max(failure.retryAfterMs ?? 0, floor, backoffMs(policy, state.failuresOnModel, random));
}

export function nextStep(policy: RetryPolicy, state: RetryState, failure: AttemptFailure, waitMs: number): NextStep {
  if (!failure.retryable) return { action: 'fail' };
  const rateLimited = isRateLimitKind(failure.kind);
  const budget = rateLimited ? policy.rateLimitRetries : policy.serverRetries;
  if (state.failuresOnModel <= budget)
    return { action: 'retry', waitMs, holdKey: rateLimited && failure.kind !== 'burst' };
  if (state.chainIndex + 1 < state.chainLength) return { action: 'fallback', chainIndex: state.chainIndex + 1 };
  return { action: 'fail' };
}

/**
 * When the wait on a model would pass the maximum: the first backup of the chain that could
 * start sooner than the model itself, and within the maximum; -1 when none could.
 */
export function soonerBackup(
  chain: readonly string[],
  from: number,
  ownStart: number,
  startOf: (model: string) => number,
  now: number,
  maxWaitMs: number,
): number {
  for (let j = from + 1; j < chain.length; j++) {
    const start = startOf(chain[j]!);
    if (start < Math.max(ownStart, now + 1) && start - now <= maxWaitMs) return j;
  }
  return -1;
}
