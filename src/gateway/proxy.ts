/**
 * The metered request path (docs/ARCHITECTURE.md, "The data's way"): estimate → admit (queue, pace,
 * fall back or refuse locally) → forward → pass the answer through → settle → record.
 * The gateway is the only retry layer: what follows a failed attempt (retry, fallback, fail) is
 * decided in src/core/retry.ts and carried out here; the caller is told not to retry.
 */
import type http from 'node:http';
import type { Limiter } from '../core/limiter';
import { isRateLimitKind, nextStep, retryWaitMs, soonerBackup, type RetryPolicy } from '../core/retry';
import { forwardOnce, makeRecord, type AttemptArgs, type AttemptOutcome } from './attempt';
import { MAX_WAIT_HEADER, readMeteredRequest, type MeteredRequest, type RecordBase } from './request';
import type { Calibration } from '../core/tokens';
import type { AttemptRecord, Endpoint, ErrorKind, Lane, RateLimitConfig } from '../core/types';
import type { LimitsManager } from './limits';
import { AdmissionError, type Scheduler } from './scheduler';
import { EXPECTED_START_HEADER, errorJson, rateLimitHeaders, sendError, sendFailure } from './responses';
import type { UpstreamTimeouts } from './upstream';
import type { WaitingRequests } from './waiting';

export interface ProxyContext {
  config: () => RateLimitConfig;
  /** The provider key for a workspace (keys belong to workspaces); undefined when none is set. */
  apiKey: (workspace: string) => string | undefined;
  limits: LimitsManager;
  limiter: Limiter;
  scheduler: Scheduler;
  calibration: Calibration;
  timeouts: UpstreamTimeouts;
  retry: RetryPolicy;
  record: (r: AttemptRecord) => void;
  /** Called the moment a request is admitted, before it goes upstream. */
  onAdmitted?: (keys: readonly string[], tokens: number, at: number) => void;
  random: () => number;
  /** The clock every decision on the request path reads (the limiter's, in tests a virtual one). */
  now: () => number;
  /** Who waits in the queue now, for the views (src/gateway/waiting.ts). */
  waiting?: WaitingRequests;
}

export interface CallerInfo {
  workspace: string;
  source: string;
}

export async function handleMetered(
  ctx: ProxyContext,
  req: http.IncomingMessage,
  res: http.ServerResponse,
  endpoint: Endpoint,
  rawBody: Buffer,
  caller: CallerInfo,
): Promise<void> {
  const arrivedAt = ctx.now();
  const r = readMeteredRequest(ctx, req, endpoint, rawBody, caller);
  if (!('body' in r)) return sendError(res, 400, r.message, 'invalid_request_error', r.code);
  const abort = new AbortController();
  res.on('close', () => {
    if (!res.writableFinished) abort.abort();
  });
  const attempt = { req, res, body: r.body, endpoint, addedUsage: r.addedUsage, abort, base: r.base };
  if (!ctx.limits.metered(r.requestedModel)) {
    // No limits configured: pass through unmetered but still recorded, and say so.
    res.setHeader('x-rlm-unmetered', 'true');
    const estimatedTokens = r.estimate.promptTokens + r.estimate.maxOutputTokens;
    const unmetered = { model: r.requestedModel, estimatedTokens, queuedMs: 0, attempt: 1, keys: [], retried: false };
    await forwardOnce(ctx, { ...attempt, ...unmetered, lastChance: true });
    return;
  }
  await walkChain(ctx, { ...r, caller, arrivedAt, attempt });
}

type FailedAttempt = Extract<AttemptOutcome, { done: false }>;

/** A metered request on its way along the chain: where it stands, and what it shares with every attempt. */
interface Walk extends MeteredRequest {
  caller: CallerInfo;
  arrivedAt: number;
  attempt: Pick<AttemptArgs, 'req' | 'res' | 'body' | 'endpoint' | 'addedUsage' | 'abort' | 'base'>;
  chainIndex: number;
  attemptOnModel: number;
  retried: boolean;
  attemptsTotal: number;
  holdUntil: number;
  /** The last failed attempt: its answer to pass on, and what kind of failure it was. */
  lastFailure?: FailedAttempt;
  /** The queue's estimate of the wait when this attempt joined it; none for a retry, which goes first. */
  expectedWaitMs?: number | undefined;
}

/** The charge for the request on a model: calibrated prompt estimate + output allowance. */
const costFor = (ctx: ProxyContext, w: Walk, model: string) =>
  Math.ceil(w.estimate.promptTokens * ctx.calibration.factor(model)) + w.estimate.maxOutputTokens;

/** Admit, forward, and after a failure do what the retry policy says, until the caller has an answer. */
async function walkChain(ctx: ProxyContext, start: MeteredRequest & Pick<Walk, 'caller' | 'arrivedAt' | 'attempt'>) {
  const w: Walk = { ...start, chainIndex: 0, attemptOnModel: 0, retried: false, attemptsTotal: 0, holdUntil: 0 };
  // queued again because its keys changed (team mode): the wait so far still counts
  let queuedSince: number | undefined;
  for (;;) {
    const model = w.chain[w.chainIndex]!;
    const keys = ctx.limits.keysFor(model, w.caller.workspace);
    const cost = costFor(ctx, w, model);
    const queueStart = queuedSince ?? ctx.now();
    queuedSince = undefined;
    const admitted = await admit(ctx, w, model, keys, cost, queueStart);
    if (admitted === 'answered') return;
    if (admitted === 'again') queuedSince = queueStart;
    if (admitted === 'next' || admitted === 'again') continue;
    w.attemptsTotal++;
    ctx.onAdmitted?.(keys, cost, admitted.admittedAt);
    const perSecond = ctx.limits.perSecondTight(keys, cost, admitted.admittedAt);
    const outcome = await forwardOnce(ctx, {
      ...w.attempt,
      model,
      reservation: admitted,
      estimatedTokens: cost,
      estimatedPrompt: w.estimate.promptTokens,
      queuedMs: ctx.now() - queueStart,
      expectedWaitMs: w.expectedWaitMs,
      attempt: w.attemptOnModel + 1,
      keys,
      retried: w.retried,
      fallbackFrom: model !== w.requestedModel ? w.requestedModel : undefined,
      attemptsTotal: w.attemptsTotal,
      lastChance: false,
    });
    if (outcome.done || !(await afterFailure(ctx, w, outcome, keys, perSecond))) return;
  }
}

/**
 * Wait for a place on the model's keys. 'answered': the caller has its answer (cancelled, too
 * large, a local 429); 'next': the wait would pass the maximum and a backup can start sooner;
 * 'again': the keys changed while it waited (team mode), queue again on the same model.
 */
async function admit(ctx: ProxyContext, w: Walk, model: string, keys: string[], cost: number, queueStart: number) {
  const deadline = Math.max(queueStart, w.holdUntil) + w.maxWaitMs;
  // A retry on the same model goes before the requests that arrived after it.
  const front = w.attemptOnModel > 0;
  const startAt = front ? queueStart : ctx.limiter.estimateStart(keys, cost, queueStart, w.lane);
  w.expectedWaitMs = front || !Number.isFinite(startAt) ? undefined : Math.max(0, startAt - queueStart);
  const fallbackFrom = model !== w.requestedModel ? w.requestedModel : undefined;
  const record = (
    f: Pick<AttemptRecord, 'status' | 'outcome' | 'queuedMs' | 'attempt'> & {
      errorKind: ErrorKind;
      errorCode?: string;
    },
  ) =>
    ctx.record(
      makeRecord(ctx.now(), w.base, {
        model,
        latencyMs: ctx.now() - w.arrivedAt,
        estimatedTokens: cost,
        fallbackFrom,
        expectedWaitMs: w.expectedWaitMs,
        ...f,
      }),
    );
  if (startAt <= deadline) {
    const { workspace, source } = w.caller;
    const leave = ctx.waiting?.add({ model, workspace, source, lane: w.lane, since: queueStart, expectedAt: startAt });
    try {
      return await ctx.scheduler.admit(keys, cost, deadline, w.attempt.abort.signal, { front, lane: w.lane });
    } catch (e) {
      const reason = e instanceof AdmissionError ? e.reason : 'timeout';
      // The team store went away (or came back) while this waited: queue again on the new keys.
      if (reason === 'again') return 'again';
      if (reason === 'cancelled') {
        const queuedMs = ctx.now() - queueStart;
        record({ status: 0, outcome: 'cancelled', errorKind: 'cancelled', queuedMs, attempt: w.attemptOnModel + 1 });
        return 'answered';
      }
      if (reason === 'impossible') {
        record({
          status: 400,
          outcome: 'rejected',
          errorKind: 'bad_request',
          errorCode: 'request_too_large',
          queuedMs: 0,
          attempt: 1,
        });
        const tpm = Math.min(...keys.map((k) => ctx.limiter.limitsOf(k)!.tpm));
        const message =
          `This request needs about ${cost} tokens, more than ${model}'s limit of ${tpm} tokens per minute. ` +
          `Lower max_tokens or split the input.`;
        sendError(w.attempt.res, 400, message, 'invalid_request_error', 'request_too_large');
        return 'answered';
      }
    } finally {
      leave?.();
    }
  }
  const waitedMs = startAt <= deadline ? ctx.now() - queueStart : 0;
  return noPlace(ctx, w, { model, keys, cost, startAt, waitedMs, fallbackFrom });
}

/** The wait would pass the maximum: the first backup that can start sooner, else a local 429 (or the last failure). */
function noPlace(
  ctx: ProxyContext,
  w: Walk,
  o: {
    model: string;
    keys: string[];
    cost: number;
    startAt: number;
    waitedMs: number;
    fallbackFrom: string | undefined;
  },
): 'next' | 'answered' {
  const now = ctx.now();
  const startOf = (backup: string) =>
    ctx.limiter.estimateStart(ctx.limits.keysFor(backup, w.caller.workspace), costFor(ctx, w, backup), now, w.lane);
  const next = soonerBackup(w.chain, w.chainIndex, o.startAt, startOf, now, w.maxWaitMs);
  if (next >= 0) {
    [w.chainIndex, w.attemptOnModel, w.holdUntil] = [next, 0, 0];
    return 'next';
  }
  // A retry that cannot start within the maximum wait: after a 5xx or a network error the
  // caller gets that failure; after a provider 429 it gets our own 429, which says when the
  // request could start. The provider's stale "quota exceeded" would blame the account's quota
  // for a window we are already waiting out (a team run showed it to a caller).
  if (w.lastFailure && !isRateLimitKind(w.lastFailure.classification.kind))
    sendFailure(w.attempt.res, w.lastFailure.failure, w.retried, w.attemptsTotal);
  else {
    const startAt = ctx.limiter.estimateStart(o.keys, o.cost, now, w.lane);
    refuseLocally(ctx, w.attempt.res, w.base, {
      ...o,
      startAt,
      maxWaitMs: w.maxWaitMs,
      arrivedAt: w.arrivedAt,
      lane: w.lane,
    });
  }
  return 'answered';
}

/**
 * After a failed attempt: tell the limits, then do what src/core/retry.ts decides. Resolves to
 * true to go on (a retry or a fallback), false when the caller has been answered.
 */
async function afterFailure(
  ctx: ProxyContext,
  w: Walk,
  outcome: FailedAttempt,
  keys: string[],
  perSecond: string[],
): Promise<boolean> {
  w.lastFailure = outcome;
  w.attemptOnModel++;
  const failure = {
    kind: outcome.classification.kind,
    retryable: outcome.classification.retryable,
    ...(outcome.retryAfterMs !== undefined ? { retryAfterMs: outcome.retryAfterMs } : {}),
    // the keys whose 1 s window was tight when it left: a 429 now is the provider's per-second rule
    perSecond: perSecond.length > 0,
  };
  const state = { chainIndex: w.chainIndex, chainLength: w.chain.length, failuresOnModel: w.attemptOnModel };
  const wait = retryWaitMs(ctx.retry, state, failure, ctx.random);
  const now = ctx.now();
  if (isRateLimitKind(failure.kind)) ctx.limits.onRateLimited(keys, failure.kind, now, now + wait, perSecond);
  const step = nextStep(ctx.retry, state, failure, wait);
  if (step.action === 'fail') {
    sendFailure(w.attempt.res, outcome.failure, w.retried, w.attemptsTotal);
    return false;
  }
  w.retried = true;
  if (step.action === 'fallback') {
    [w.chainIndex, w.attemptOnModel, w.holdUntil] = [step.chainIndex, 0, 0];
    return true;
  }
  w.holdUntil = now + step.waitMs;
  // a held key makes the retry wait in the limiter; otherwise it waits here
  if (!step.holdKey) await sleep(step.waitMs, w.attempt.abort.signal);
  return !w.attempt.abort.signal.aborted;
}

function refuseLocally(
  ctx: ProxyContext,
  res: http.ServerResponse,
  base: RecordBase,
  o: {
    model: string;
    keys: string[];
    cost: number;
    startAt: number;
    maxWaitMs: number;
    arrivedAt: number;
    waitedMs: number;
    lane: Lane;
    fallbackFrom?: string | undefined;
  },
): void {
  const now = ctx.now();
  // Name the limit that binds: the fuller of requests and tokens on the tightest key.
  let kind: 'rpm' | 'tpm' = 'rpm';
  let worst = -1;
  let limitText = '';
  for (const key of o.keys) {
    const u = ctx.limiter.usage(key, now, o.cost);
    const reqFill = (u.minute.requests + u.queueLength + 1) / u.minute.requestLimit;
    const tokFill = (u.minute.tokens + o.cost) / u.minute.tokenLimit;
    if (reqFill > worst) [worst, kind, limitText] = [reqFill, 'rpm', `${u.minute.requestLimit} requests per minute`];
    if (tokFill > worst) [worst, kind, limitText] = [tokFill, 'tpm', `${u.minute.tokenLimit} tokens per minute`];
  }
  const waitMs = o.startAt === Infinity ? 60_000 : Math.max(0, o.startAt - now);
  const retryAfter = Math.max(1, Math.ceil(waitMs / 1000));
  const seconds = (ms: number) => `${(ms / 1000).toFixed(1)} s`;
  const lane = o.lane === 'background' ? ' (background lane: interactive requests go first)' : '';
  // Say what happened: refused up front because the wait would be too long, or queued until
  // the maximum queue time ran out (then the remaining wait may well be shorter than it).
  const what =
    o.waitedMs > 0
      ? `${o.model} waited the maximum queue time of ${seconds(o.maxWaitMs)} for its limit of ` +
        `${limitText}${lane}; its turn was still about ${seconds(waitMs)} away.`
      : `${o.model} would wait about ${seconds(waitMs)} for its limit of ${limitText}${lane}, more than the ` +
        `maximum queue time of ${seconds(o.maxWaitMs)}.`;
  const message =
    `Local rate limit: ${what} Retry after ${retryAfter} s, allow a longer wait with ` +
    `${MAX_WAIT_HEADER}, or configure a fallback model.`;
  const type = kind === 'rpm' ? 'limit_requests' : 'insufficient_quota';
  ctx.record(
    makeRecord(ctx.now(), base, {
      model: o.model,
      status: 429,
      outcome: 'rejected',
      errorKind: kind,
      errorCode: `local_${type}`,
      queuedMs: 0,
      latencyMs: now - o.arrivedAt,
      attempt: 1,
      estimatedTokens: o.cost,
      fallbackFrom: o.fallbackFrom,
      expectedWaitMs: waitMs,
    }),
  );
  const text = errorJson(message, type, type);
  res.writeHead(429, {
    'content-type': 'application/json',
    'content-length': Buffer.byteLength(text),
    'retry-after': String(retryAfter),
    'retry-after-ms': String(Math.ceil(waitMs)),
    'x-rlm-local': 'true',
    [EXPECTED_START_HEADER]: String(Math.ceil(waitMs)),
    ...rateLimitHeaders(ctx.limiter, o.keys, now),
  });
  res.end(text);
}

function sleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal.aborted || ms <= 0) return resolve();
    const t = setTimeout(resolve, ms);
    signal.addEventListener(
      'abort',
      () => {
        clearTimeout(t);
        resolve();
      },
      { once: true },
    );
  });
}
