/**
 * The metered request path (docs/ARCHITECTURE.md, "The data's way"): estimate → admit (queue, pace,
 * fall back or refuse locally) → forward → pass the answer through → settle → record.
 * The gateway is the only retry layer: what follows a failed attempt (retry, fallback, fail) is
 * decided in src/core/retry.ts and carried out here; the caller is told not to retry.
 */
import { randomUUID } from 'node:crypto';
import type http from 'node:http';
import { classifyError, parseRetryAfter, readErrorBody, readErrorText, type Classification } from '../core/classify';
import type { Limiter, Reservation } from '../core/limiter';
import { isRateLimitKind, nextStep, retryWaitMs, soonerBackup, type RetryPolicy } from '../core/retry';
import type { Calibration } from '../core/tokens';
import type { AttemptRecord, Endpoint, ErrorKind, Lane, RateLimitConfig } from '../core/types';
import type { LimitsManager } from './limits';
import { AdmissionError, type Scheduler } from './scheduler';
import { dataOf, inspectEvent, mayMatter, SseSplitter, usageOf, type UsageFigures } from './sse';
import { estimateTokens } from './tokenizer';
import { drained, errorJson, rateLimitHeaders, sendError, sendFailure, type Failure } from './responses';
import { forwardHeaders, readText, sendUpstream, upstreamUrl, UpstreamError, type UpstreamTimeouts } from './upstream';
import { errorMessage } from '../core/values';

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
  return { error: `${PRIORITY_HEADER}: "${String(header)}" is not a lane. Send "interactive" (the default) or "background".` };
}

type AttemptOutcome =
  | { done: true }
  | { done: false; classification: Classification; retryAfterMs?: number; failure: Failure };

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
    return sendError(res, 400, 'The request body is not a JSON object. Send Content-Type: application/json with an object body.', 'invalid_request_error', 'invalid_json');
  }
  const requestedModel = body.model;
  if (typeof requestedModel !== 'string' || requestedModel.trim() === '') {
    return sendError(res, 400, 'The request has no "model". Add e.g. "model": "qwen-plus".', 'invalid_request_error', 'missing_model');
  }
  // Checked before anything is charged or sent: the name also goes into headers and records.
  if (!MODEL_NAME.test(requestedModel)) {
    return sendError(res, 400, `"model" must be a model id (letters, digits and . _ : / -, at most 200 characters); got ${JSON.stringify(requestedModel.slice(0, 60))}.`, 'invalid_request_error', 'invalid_model');
  }
  if (!ctx.limits.workspaceKnown(caller.workspace)) {
    const known = ['default', ...Object.keys(config.workspaces)].join(', ');
    return sendError(res, 400, `Unknown workspace '${caller.workspace}' in x-rlm-workspace. Known: ${known}.`, 'invalid_request_error', 'unknown_workspace');
  }
  const lane = laneOf(req, caller.source, config);
  if (typeof lane !== 'string') return sendError(res, 400, lane.error, 'invalid_request_error', 'invalid_header');
  const maxWaitHeader = req.headers[MAX_WAIT_HEADER];
  let maxWaitMs = config.maxQueueMs;
  if (typeof maxWaitHeader === 'string') {
    const v = Number(maxWaitHeader);
    if (!Number.isFinite(v) || v < 0 || !/^\d+(\.\d+)?$/.test(maxWaitHeader.trim())) {
      return sendError(res, 400, `${MAX_WAIT_HEADER}: "${maxWaitHeader}" is not a number of milliseconds ≥ 0.`, 'invalid_request_error', 'invalid_header');
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
    const opts = (typeof body.stream_options === 'object' && body.stream_options !== null ? body.stream_options : {}) as Record<string, unknown>;
    if (opts.include_usage !== true) {
      body.stream_options = { ...opts, include_usage: true };
      addedUsage = true;
    }
  }
  const estimate = estimateTokens(endpoint, body, config.defaultMaxOutputTokens);
  const chain = [requestedModel, ...(config.fallbacks[requestedModel] ?? [])];
  /** The charge for this request on a model: calibrated prompt estimate + output allowance. */
  const costFor = (model: string) => Math.ceil(estimate.promptTokens * ctx.calibration.factor(model)) + estimate.maxOutputTokens;
  const base: Omit<AttemptRecord, 'id' | 'startedAt' | 'model' | 'status' | 'outcome' | 'queuedMs' | 'latencyMs' | 'attempt' | 'estimatedTokens'> = {
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
    await forwardOnce(ctx, { req, res, body, model: requestedModel, endpoint, addedUsage, abort, base, estimatedTokens: estimate.promptTokens + estimate.maxOutputTokens, queuedMs: 0, attempt: 1, keys: [], retried: false, lastChance: true });
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
          ctx.record(makeRecord(ctx.now(), base, { model, status: 0, outcome: 'cancelled', errorKind: 'cancelled', queuedMs: ctx.now() - queueStart, latencyMs: ctx.now() - arrivedAt, attempt: attemptOnModel + 1, estimatedTokens: cost, fallbackFrom }));
          return;
        }
        if (reason === 'impossible') {
          const tpm = Math.min(...keys.map((k) => ctx.limiter.limitsOf(k)!.tpm));
          ctx.record(makeRecord(ctx.now(), base, { model, status: 400, outcome: 'rejected', errorKind: 'bad_request', errorCode: 'request_too_large', queuedMs: 0, latencyMs: ctx.now() - arrivedAt, attempt: 1, estimatedTokens: cost, fallbackFrom }));
          return sendError(res, 400, `This request needs about ${cost} tokens, more than ${model}'s limit of ${tpm} tokens per minute. Lower max_tokens or split the input.`, 'invalid_request_error', 'request_too_large');
        }
      }
    }
    if (!reservation) {
      // The wait would exceed the maximum: the first backup that can start sooner, else a local 429.
      const now = ctx.now();
      const startOf = (backup: string) => ctx.limiter.estimateStart(ctx.limits.keysFor(backup, caller.workspace), costFor(backup), now, lane);
      const next = soonerBackup(chain, chainIndex, startAt, startOf, now, maxWaitMs);
      if (next >= 0) {
        chainIndex = next;
        attemptOnModel = 0;
        holdUntil = 0;
        continue;
      }
      if (lastFailure) return sendFailure(res, lastFailure, retried, attemptsTotal);
      const waitedMs = startAt <= deadline ? now - queueStart : 0;
      return refuseLocally(ctx, res, base, { model, keys, cost, startAt: ctx.limiter.estimateStart(keys, cost, now, lane), maxWaitMs, arrivedAt, waitedMs, lane, fallbackFrom });
    }

    attemptsTotal++;
    ctx.onAdmitted?.(keys, cost, reservation.admittedAt);
    const perSecond = ctx.limits.perSecondTight(keys, cost, reservation.admittedAt);
    const outcome = await forwardOnce(ctx, {
      req, res, body, model, endpoint, addedUsage, abort, base, reservation,
      estimatedTokens: cost, estimatedPrompt: estimate.promptTokens, queuedMs: ctx.now() - queueStart,
      attempt: attemptOnModel + 1, keys, retried, fallbackFrom, attemptsTotal, lastChance: false,
    });
    if (outcome.done) return;

    lastFailure = outcome.failure;
    attemptOnModel++;
    // what comes next is decided in src/core/retry.ts; here it is only carried out
    const failure = { kind: outcome.classification.kind, retryable: outcome.classification.retryable, ...(outcome.retryAfterMs !== undefined ? { retryAfterMs: outcome.retryAfterMs } : {}) };
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

interface AttemptArgs {
  req: http.IncomingMessage;
  res: http.ServerResponse;
  body: Record<string, unknown>;
  model: string;
  endpoint: Endpoint;
  addedUsage: boolean;
  abort: AbortController;
  base: Omit<AttemptRecord, 'id' | 'startedAt' | 'model' | 'status' | 'outcome' | 'queuedMs' | 'latencyMs' | 'attempt' | 'estimatedTokens'>;
  reservation?: Reservation;
  estimatedTokens: number;
  estimatedPrompt?: number;
  queuedMs: number;
  attempt: number;
  keys: string[];
  retried: boolean;
  fallbackFrom?: string | undefined;
  attemptsTotal?: number;
  /** Unmetered pass-through: whatever comes back goes to the caller. */
  lastChance: boolean;
}

/** One attempt upstream. Either answers the caller (done) or reports a retryable failure untouched. */
async function forwardOnce(ctx: ProxyContext, a: AttemptArgs): Promise<AttemptOutcome> {
  const startedAt = ctx.now();
  const key = ctx.apiKey(a.base.workspace);
  const record = (fields: Partial<AttemptRecord> & Pick<AttemptRecord, 'status' | 'outcome'>, usage?: UsageFigures, ttftMs?: number) => {
    const r = makeRecord(ctx.now(), a.base, {
      model: a.model,
      queuedMs: a.queuedMs,
      latencyMs: ctx.now() - startedAt,
      attempt: a.attempt,
      estimatedTokens: a.estimatedTokens,
      fallbackFrom: a.fallbackFrom,
      ...fields,
    });
    r.startedAt = startedAt;
    if (usage) Object.assign(r, usage);
    if (ttftMs !== undefined) r.ttftMs = ttftMs;
    ctx.record(r);
  };
  const settle = (tokens: number) => {
    if (a.reservation) {
      ctx.limiter.settle(a.reservation, tokens);
      ctx.scheduler.pump();
    }
  };
  if (!key) {
    settle(0);
    record({ status: 401, outcome: 'error', errorKind: 'auth', errorCode: 'no_api_key' });
    sendError(a.res, 401, 'The gateway has no provider API key. Run "Rate Limit Monitor: Set API Key", or set RLM_API_KEY (or DASHSCOPE_API_KEY / OPENAI_API_KEY) for the headless gateway.', 'invalid_request_error', 'no_api_key');
    return { done: true };
  }
  const payload = Buffer.from(JSON.stringify({ ...a.body, model: a.model }));
  let upstream: http.IncomingMessage;
  try {
    upstream = await sendUpstream({
      url: upstreamUrl(ctx.config().baseUrl, a.req.url ?? '/'),
      method: a.req.method ?? 'POST',
      headers: forwardHeaders(a.req.headers, key, payload.length),
      body: payload,
      signal: a.abort.signal,
      timeouts: ctx.timeouts,
      ...(a.reservation ? { onSent: (at: number) => ctx.limiter.retime(a.reservation!, at) } : {}),
    });
  } catch (e) {
    const err = e instanceof UpstreamError ? e : new UpstreamError('network', String(e));
    // The provider may have counted it: keep the charge.
    settle(a.reservation?.tokens ?? 0);
    if (err.kind === 'cancelled') {
      record({ status: 0, outcome: 'cancelled', errorKind: 'cancelled' });
      return { done: true };
    }
    record({ status: 0, outcome: 'error', errorKind: err.kind, errorCode: err.kind === 'timeout' ? 'upstream_timeout' : 'upstream_unreachable' });
    return { done: false, classification: { kind: err.kind, retryable: true }, failure: { status: err.kind === 'timeout' ? 504 : 502, headers: {}, body: errorJson(err.message, 'server_error', err.kind === 'timeout' ? 'upstream_timeout' : 'upstream_unreachable') } };
  }

  const status = upstream.statusCode ?? 502;
  const contentType = String(upstream.headers['content-type'] ?? '');
  const header = (n: string) => {
    const v = upstream.headers[n];
    return Array.isArray(v) ? v[0] : v;
  };
  const passHeaders = (): Record<string, string> => {
    const h: Record<string, string> = { 'content-type': contentType || 'application/json' };
    const rid = header('x-request-id') ?? header('x-dashscope-request-id');
    if (rid) h['x-request-id'] = rid;
    return h;
  };

  if (status >= 400) {
    const text = await readText(upstream).catch(() => '');
    settle(0);
    const info = readErrorText(text);
    const classification = classifyError({ provider: ctx.config().provider, status, ...info });
    const retryAfterMs = parseRetryAfter(header, ctx.now());
    record({ status, outcome: 'error', errorKind: classification.kind, ...(classification.code ? { errorCode: classification.code } : {}) });
    const failure: Failure = { status, headers: passHeaders(), body: text };
    if (retryAfterMs !== undefined) failure.headers['retry-after'] = String(Math.ceil(retryAfterMs / 1000));
    if (!classification.retryable || a.lastChance) {
      sendFailure(a.res, failure, a.retried, a.attemptsTotal ?? 1);
      return { done: true };
    }
    return { done: false, classification, failure, ...(retryAfterMs !== undefined ? { retryAfterMs } : {}) };
  }

  const ourHeaders = () => ({
    ...passHeaders(),
    ...rateLimitHeaders(ctx.limiter, a.keys, ctx.now()),
    'x-rlm-model': a.model,
    'x-rlm-attempts': String(a.attemptsTotal ?? 1),
    'x-rlm-queued-ms': String(Math.round(a.queuedMs)),
    ...(a.retried ? { 'x-should-retry': 'false' } : {}),
  });

  if (!contentType.includes('text/event-stream')) {
    let text: string;
    try {
      text = await readText(upstream);
    } catch (e) {
      settle(a.reservation?.tokens ?? 0);
      const err = e instanceof UpstreamError ? e : new UpstreamError('network', String(e));
      record({ status: 0, outcome: err.kind === 'cancelled' ? 'cancelled' : 'error', errorKind: err.kind });
      if (err.kind === 'cancelled') return { done: true };
      return { done: false, classification: { kind: err.kind, retryable: true }, failure: { status: 502, headers: {}, body: errorJson(err.message, 'server_error', 'upstream_interrupted') } };
    }
    const json = safeJson(text);
    if (json === undefined && a.endpoint !== 'other') {
      settle(a.reservation?.tokens ?? 0);
      record({ status, outcome: 'error', errorKind: 'server', errorCode: 'malformed_response' });
      return { done: false, classification: { kind: 'server', retryable: true }, failure: { status: 502, headers: {}, body: errorJson('The provider sent a malformed JSON response.', 'server_error', 'malformed_response') } };
    }
    const usage = usageOf((json as { usage?: unknown } | undefined)?.usage);
    settle(usage ? usage.totalTokens : a.reservation?.tokens ?? 0);
    if (usage && a.estimatedPrompt) ctx.calibration.observe(a.model, a.estimatedPrompt, usage.promptTokens);
    const headers = ourHeaders();
    a.res.writeHead(status, { ...headers, 'content-length': Buffer.byteLength(text) });
    a.res.end(text);
    record({ status, outcome: 'ok' }, usage);
    return { done: true };
  }

  // A stream: hold the headers back until the first event, so an in-band error before
  // any content can still be retried without the caller noticing.
  upstream.setEncoding('utf8');
  const splitter = new SseSplitter();
  let headersSent = false;
  let usage: UsageFigures | undefined;
  let ttftMs: number | undefined;
  let sawDone = false;
  let streamError: { classification: Classification; body: string } | undefined;
  const sendHeaders = () => {
    if (headersSent) return;
    headersSent = true;
    // the headers leave with the first event's bytes: one write instead of two
    a.res.writeHead(status, { ...ourHeaders(), 'cache-control': 'no-cache', connection: 'keep-alive' });
  };
  try {
    for await (const chunk of upstream as AsyncIterable<string>) {
      let out = '';
      for (const raw of splitter.push(chunk)) {
        const data = dataOf(raw);
        if (data === undefined) {
          out += raw;
          continue;
        }
        // Once TTFT is known only usage, errors and the end matter: skip parsing the rest.
        if (ttftMs !== undefined && !mayMatter(data)) {
          out += raw;
          continue;
        }
        const info = inspectEvent(data);
        if (info.kind === 'error') {
          const err = readErrorBody(info.error);
          const classification = classifyError({ provider: ctx.config().provider, ...err });
          streamError = { classification, body: JSON.stringify(info.error) };
          if (!headersSent && classification.retryable && !a.lastChance) break;
          out += raw;
          continue;
        }
        if (info.kind === 'done') sawDone = true;
        if ('usage' in info && info.usage) usage = info.usage;
        if (info.kind === 'content' && ttftMs === undefined) ttftMs = ctx.now() - startedAt;
        if (info.kind === 'usage-only' && a.addedUsage) continue;
        out += raw;
      }
      if (streamError && !headersSent && streamError.classification.retryable && !a.lastChance) break;
      if (out) {
        sendHeaders();
        // A caller that stops reading must not make us buffer the whole stream: wait for it
        // to drain, which stops reading the provider too (TCP pushes back to them).
        if (!a.res.write(out)) await drained(a.res);
      }
    }
  } catch (e) {
    const err = e instanceof UpstreamError ? e : new UpstreamError('network', errorMessage(e));
    settle(usage?.totalTokens ?? a.reservation?.tokens ?? 0);
    if (err.kind === 'cancelled' || a.abort.signal.aborted) {
      record({ status, outcome: 'cancelled', errorKind: 'cancelled' }, usage, ttftMs);
      return { done: true };
    }
    record({ status, outcome: 'error', errorKind: err.kind, errorCode: 'stream_interrupted' }, usage, ttftMs);
    if (!headersSent) return { done: false, classification: { kind: err.kind, retryable: true }, failure: { status: 502, headers: {}, body: errorJson(err.message, 'server_error', 'stream_interrupted') } };
    a.res.destroy(); // the caller must see the cut, not a clean end
    return { done: true };
  }
  if (streamError && !headersSent) {
    upstream.destroy();
    settle(0);
    record({ status, outcome: 'error', errorKind: streamError.classification.kind, ...(streamError.classification.code ? { errorCode: streamError.classification.code } : {}) });
    const failure: Failure = { status: isRateLimitKind(streamError.classification.kind) ? 429 : 500, headers: { 'content-type': 'application/json' }, body: streamError.body };
    if (!streamError.classification.retryable || a.lastChance) {
      sendFailure(a.res, failure, a.retried, a.attemptsTotal ?? 1);
      return { done: true };
    }
    return { done: false, classification: streamError.classification, failure };
  }
  const tail = splitter.rest();
  sendHeaders();
  if (tail) a.res.write(tail);
  a.res.end();
  settle(usage?.totalTokens ?? a.reservation?.tokens ?? 0);
  if (usage && a.estimatedPrompt) ctx.calibration.observe(a.model, a.estimatedPrompt, usage.promptTokens);
  if (streamError) {
    record({ status, outcome: 'error', errorKind: streamError.classification.kind, ...(streamError.classification.code ? { errorCode: streamError.classification.code } : {}) }, usage, ttftMs);
  } else if (!sawDone && a.endpoint !== 'responses') {
    record({ status, outcome: 'error', errorKind: 'network', errorCode: 'stream_truncated' }, usage, ttftMs);
  } else {
    record({ status, outcome: 'ok' }, usage, ttftMs);
  }
  return { done: true };
}

function refuseLocally(
  ctx: ProxyContext,
  res: http.ServerResponse,
  base: AttemptArgs['base'],
  o: { model: string; keys: string[]; cost: number; startAt: number; maxWaitMs: number; arrivedAt: number; waitedMs: number; lane: Lane; fallbackFrom?: string | undefined },
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
  const what = o.waitedMs > 0
    ? `${o.model} waited the maximum queue time of ${seconds(o.maxWaitMs)} for its limit of ${limitText}${lane}; its turn was still about ${seconds(waitMs)} away.`
    : `${o.model} would wait about ${seconds(waitMs)} for its limit of ${limitText}${lane}, more than the maximum queue time of ${seconds(o.maxWaitMs)}.`;
  const message = `Local rate limit: ${what} Retry after ${retryAfter} s, allow a longer wait with ${MAX_WAIT_HEADER}, or configure a fallback model.`;
  const type = kind === 'rpm' ? 'limit_requests' : 'insufficient_quota';
  ctx.record(makeRecord(ctx.now(), base, { model: o.model, status: 429, outcome: 'rejected', errorKind: kind, errorCode: `local_${type}`, queuedMs: 0, latencyMs: now - o.arrivedAt, attempt: 1, estimatedTokens: o.cost, fallbackFrom: o.fallbackFrom }));
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

function makeRecord(
  startedAt: number,
  base: AttemptArgs['base'],
  f: Pick<AttemptRecord, 'model' | 'status' | 'outcome' | 'queuedMs' | 'latencyMs' | 'attempt' | 'estimatedTokens'> & { errorKind?: ErrorKind; errorCode?: string; fallbackFrom?: string | undefined },
): AttemptRecord {
  const { fallbackFrom, ...rest } = f;
  const r: AttemptRecord = { id: randomUUID(), startedAt, ...base, ...rest };
  r.queuedMs = Math.round(r.queuedMs);
  if (fallbackFrom) r.fallbackFrom = fallbackFrom;
  return r;
}

function sleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal.aborted || ms <= 0) return resolve();
    const t = setTimeout(resolve, ms);
    signal.addEventListener('abort', () => {
      clearTimeout(t);
      resolve();
    }, { once: true });
  });
}

function safeJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}

