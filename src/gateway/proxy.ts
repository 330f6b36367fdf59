/**
 * The metered request path (docs/ARCHITECTURE.md, "The data's way"): estimate → admit (queue, pace,
 * fall back or refuse locally) → forward → pass the answer through → settle → record.
 * The gateway is the only retry layer: what follows a failed attempt (retry, fallback, fail) is
 * decided in src/core/retry.ts and carried out here; the caller is told not to retry.
 */
import type http from 'node:http';
import type { Limiter, Reservation } from '../core/limiter';
import { isRateLimitKind, nextStep, retryWaitMs, soonerBackup, type RetryPolicy } from '../core/retry';
import { forwardOnce, makeRecord, type AttemptArgs } from './attempt';
import type { Calibration } from '../core/tokens';
import type { AttemptRecord, Endpoint, Lane, RateLimitConfig } from '../core/types';
import type { LimitsManager } from './limits';
import { AdmissionError, type Scheduler } from './scheduler';
import { estimateTokens } from './tokenizer';
import { errorJson, rateLimitHeaders, sendError, sendFailure, type Failure } from './responses';
import type { UpstreamTimeouts } from './upstream';

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
}

export interface CallerInfo {
  workspace: string;
  source: string;
}

const PRIORITY_HEADER = 'x-rlm-priority';

/** The caller's lane: its x-rlm-priority, else its source's lane in the config, else interactive. */
export function laneOf(req: http.IncomingMessage, source: string, config: RateLimitConfig): Lane | { error: string } {
  const header = req.headers[PRIORITY_HEADER];
  if (header === undefined) return config.sourceLanes[source] ?? 'interactive';
  if (header === 'interactive' || header === 'background') return header;
  return {
    error: `${PRIORITY_HEADER}: "${String(header)}" is not a lane. Send "interactive" (the default) or "background".`,
  };
}

const MAX_WAIT_HEADER = 'x-rlm-max-wait-ms';
/** What a model id may hold (Model Studio's and OpenAI's ids fit; a newline or a space does not). */
const MODEL_NAME = /^[A-Za-z0-9][\w.:/-]{0,199}$/;

export async function handleMetered(
  ctx: ProxyContext,
  req: http.IncomingMessage,
  res: http.ServerResponse,
  endpoint: Endpoint,
  rawBody: Buffer,
  caller: CallerInfo,
): Promise<void> {
  const arrivedAt = ctx.now();
  const config = ctx.config();
  let body: Record<string, unknown>;
  try {
    const parsed: unknown = JSON.parse(rawBody.toString('utf8'));
    if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) throw new Error('not an object');
    body = parsed as Record<string, unknown>;
  } catch {
    return sendError(
      res,
      400,
      'The request body is not a JSON object. Send Content-Type: application/json with an object body.',
      'invalid_request_error',
      'invalid_json',
    );
  }
  const requestedModel = body.model;
  if (typeof requestedModel !== 'string' || requestedModel.trim() === '') {
    return sendError(
      res,
      400,
      'The request has no "model". Add e.g. "model": "qwen-plus".',
      'invalid_request_error',
      'missing_model',
    );
  }
  // Checked before anything is charged or sent: the name also goes into headers and records.
  if (!MODEL_NAME.test(requestedModel)) {
    return sendError(
      res,
      400,
      `"model" must be a model id (letters, digits and . _ : / -, at most 200 characters); got ` +
        `${JSON.stringify(requestedModel.slice(0, 60))}.`,
      'invalid_request_error',
      'invalid_model',
    );
  }
  if (!ctx.limits.workspaceKnown(caller.workspace)) {
    const known = ['default', ...Object.keys(config.workspaces)].join(', ');
    return sendError(
      res,
      400,
      `Unknown workspace '${caller.workspace}' in x-rlm-workspace. Known: ${known}.`,
      'invalid_request_error',
      'unknown_workspace',
    );
  }
  const lane = laneOf(req, caller.source, config);
  if (typeof lane !== 'string') return sendError(res, 400, lane.error, 'invalid_request_error', 'invalid_header');
  const maxWaitHeader = req.headers[MAX_WAIT_HEADER];
  let maxWaitMs = config.maxQueueMs;
  if (typeof maxWaitHeader === 'string') {
    const v = Number(maxWaitHeader);
    if (!Number.isFinite(v) || v < 0 || !/^\d+(\.\d+)?$/.test(maxWaitHeader.trim())) {
      return sendError(
        res,
        400,
        `${MAX_WAIT_HEADER}: "${maxWaitHeader}" is not a number of milliseconds ≥ 0.`,
        'invalid_request_error',
        'invalid_header',
      );
    }
    maxWaitMs = v;
  }

  const abort = new AbortController();
  res.on('close', () => {
    if (!res.writableFinished) abort.abort();
  });

  const stream = body.stream === true;
  let addedUsage = false;
  if (stream && (endpoint === 'chat.completions' || endpoint === 'completions')) {
    const opts = (
      typeof body.stream_options === 'object' && body.stream_options !== null ? body.stream_options : {}
    ) as Record<string, unknown>;
    if (opts.include_usage !== true) {
      body.stream_options = { ...opts, include_usage: true };
      addedUsage = true;
    }
  }
  const estimate = estimateTokens(endpoint, body, config.defaultMaxOutputTokens);
  const chain = [requestedModel, ...(config.fallbacks[requestedModel] ?? [])];
  /** The charge for this request on a model: calibrated prompt estimate + output allowance. */
  const costFor = (model: string) =>
    Math.ceil(estimate.promptTokens * ctx.calibration.factor(model)) + estimate.maxOutputTokens;
  const base: Omit<
    AttemptRecord,
    'id' | 'startedAt' | 'model' | 'status' | 'outcome' | 'queuedMs' | 'latencyMs' | 'attempt' | 'estimatedTokens'
  > = {
    requestedModel,
    workspace: caller.workspace,
    source: caller.source,
    lane,
    endpoint,
    stream,
    promptTokens: 0,
    completionTokens: 0,
    totalTokens: 0,
    cachedTokens: 0,
  };

  if (!ctx.limits.metered(requestedModel)) {
    // No limits configured: pass through unmetered but still recorded, and say so.
    res.setHeader('x-rlm-unmetered', 'true');
    await forwardOnce(ctx, {
      req,
      res,
      body,
      model: requestedModel,
      endpoint,
      addedUsage,
      abort,
      base,
      estimatedTokens: estimate.promptTokens + estimate.maxOutputTokens,
      queuedMs: 0,
      attempt: 1,
      keys: [],
      retried: false,
      lastChance: true,
    });
    return;
  }

  let chainIndex = 0;
  let attemptOnModel = 0;
  let retried = false;
  let attemptsTotal = 0;
  let holdUntil = 0;
  let lastFailure: Failure | undefined;
  for (;;) {
    const model = chain[chainIndex]!;
    const keys = ctx.limits.keysFor(model, caller.workspace);
    const cost = costFor(model);
    const queueStart = ctx.now();
    const deadline = Math.max(queueStart, holdUntil) + maxWaitMs;
    // A retry on the same model goes before the requests that arrived after it.
    const front = attemptOnModel > 0;
    const startAt = front ? queueStart : ctx.limiter.estimateStart(keys, cost, queueStart, lane);
    const fallbackFrom = model !== requestedModel ? requestedModel : undefined;

    let reservation: Reservation | undefined;
    if (startAt <= deadline) {
      try {
        reservation = await ctx.scheduler.admit(keys, cost, deadline, abort.signal, { front, lane });
      } catch (e) {
        const reason = e instanceof AdmissionError ? e.reason : 'timeout';
        if (reason === 'cancelled') {
          ctx.record(
            makeRecord(ctx.now(), base, {
              model,
              status: 0,
              outcome: 'cancelled',
              errorKind: 'cancelled',
              queuedMs: ctx.now() - queueStart,
              latencyMs: ctx.now() - arrivedAt,
              attempt: attemptOnModel + 1,
              estimatedTokens: cost,
              fallbackFrom,
            }),
          );
          return;
        }
        if (reason === 'impossible') {
          const tpm = Math.min(...keys.map((k) => ctx.limiter.limitsOf(k)!.tpm));
          ctx.record(
            makeRecord(ctx.now(), base, {
              model,
              status: 400,
              outcome: 'rejected',
              errorKind: 'bad_request',
              errorCode: 'request_too_large',
              queuedMs: 0,
              latencyMs: ctx.now() - arrivedAt,
              attempt: 1,
              estimatedTokens: cost,
              fallbackFrom,
            }),
          );
          return sendError(
            res,
            400,
            `This request needs about ${cost} tokens, more than ${model}'s limit of ${tpm} tokens per minute. ` +
              `Lower max_tokens or split the input.`,
            'invalid_request_error',
            'request_too_large',
          );
        }
      }
    }
    if (!reservation) {
      // The wait would exceed the maximum: the first backup that can start sooner, else a local 429.
      const now = ctx.now();
      const startOf = (backup: string) =>
        ctx.limiter.estimateStart(ctx.limits.keysFor(backup, caller.workspace), costFor(backup), now, lane);
      const next = soonerBackup(chain, chainIndex, startAt, startOf, now, maxWaitMs);
      if (next >= 0) {
        chainIndex = next;
        attemptOnModel = 0;
        holdUntil = 0;
        continue;
      }
      if (lastFailure) return sendFailure(res, lastFailure, retried, attemptsTotal);
      const waitedMs = startAt <= deadline ? now - queueStart : 0;
      return refuseLocally(ctx, res, base, {
        model,
        keys,
        cost,
        startAt: ctx.limiter.estimateStart(keys, cost, now, lane),
        maxWaitMs,
        arrivedAt,
        waitedMs,
        lane,
        fallbackFrom,
      });
    }

    attemptsTotal++;
    ctx.onAdmitted?.(keys, cost, reservation.admittedAt);
    const perSecond = ctx.limits.perSecondTight(keys, cost, reservation.admittedAt);
    const outcome = await forwardOnce(ctx, {
      req,
      res,
      body,
      model,
      endpoint,
      addedUsage,
      abort,
      base,
      reservation,
      estimatedTokens: cost,
      estimatedPrompt: estimate.promptTokens,
      queuedMs: ctx.now() - queueStart,
      attempt: attemptOnModel + 1,
      keys,
      retried,
      fallbackFrom,
      attemptsTotal,
      lastChance: false,
    });
    if (outcome.done) return;

    lastFailure = outcome.failure;
    attemptOnModel++;
    // what comes next is decided in src/core/retry.ts; here it is only carried out
    const failure = {
      kind: outcome.classification.kind,
      retryable: outcome.classification.retryable,
      ...(outcome.retryAfterMs !== undefined ? { retryAfterMs: outcome.retryAfterMs } : {}),
    };
    const state = { chainIndex, chainLength: chain.length, failuresOnModel: attemptOnModel };
    const wait = retryWaitMs(ctx.retry, state, failure, ctx.random);
    const now = ctx.now();
    if (isRateLimitKind(failure.kind)) ctx.limits.onRateLimited(keys, failure.kind, now, now + wait, perSecond);
    const step = nextStep(ctx.retry, state, failure, wait);
    if (step.action === 'fail') return sendFailure(res, outcome.failure, retried, attemptsTotal);
    retried = true;
    if (step.action === 'fallback') {
      [chainIndex, attemptOnModel, holdUntil] = [step.chainIndex, 0, 0];
      continue;
    }
    holdUntil = now + step.waitMs;
    // a held key makes the retry wait in the limiter; otherwise it waits here
    if (!step.holdKey) await sleep(step.waitMs, abort.signal);
    if (abort.signal.aborted) return;
  }
}

function refuseLocally(
  ctx: ProxyContext,
  res: http.ServerResponse,
  base: AttemptArgs['base'],
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
    }),
  );
  const text = errorJson(message, type, type);
  res.writeHead(429, {
    'content-type': 'application/json',
    'content-length': Buffer.byteLength(text),
    'retry-after': String(retryAfter),
    'retry-after-ms': String(Math.ceil(waitMs)),
    'x-rlm-local': 'true',
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
