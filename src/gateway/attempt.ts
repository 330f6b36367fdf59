/**
 * One attempt upstream: send the request with the provider key, then answer the caller — an
 * error passed on, a JSON body, or a stream through the relay — or report a retryable failure
 * untouched, for the retry policy (src/core/retry.ts) to decide what comes next. Records every
 * attempt and settles its reservation with the tokens actually used.
 */
import { randomUUID } from 'node:crypto';
import type http from 'node:http';
import { classifyError, parseRetryAfter, readErrorText, type Classification } from '../core/classify';
import type { Reservation } from '../core/limiter';
import { isRateLimitKind } from '../core/retry';
import type { AttemptRecord, Endpoint, ErrorKind } from '../core/types';
import { errorMessage } from '../core/values';
import type { ProxyContext } from './proxy';
import { relayStream, type RelayResult } from './relay';
import { EXPECTED_START_HEADER, errorJson, rateLimitHeaders, sendError, sendFailure, type Failure } from './responses';
import { usageOf, type UsageFigures } from './sse';
import { forwardHeaders, readText, sendUpstream, upstreamUrl, UpstreamError } from './upstream';

export type AttemptOutcome =
  { done: true } | { done: false; classification: Classification; retryAfterMs?: number; failure: Failure };

export interface AttemptArgs {
  req: http.IncomingMessage;
  res: http.ServerResponse;
  body: Record<string, unknown>;
  model: string;
  endpoint: Endpoint;
  addedUsage: boolean;
  abort: AbortController;
  base: Omit<
    AttemptRecord,
    'id' | 'startedAt' | 'model' | 'status' | 'outcome' | 'queuedMs' | 'latencyMs' | 'attempt' | 'estimatedTokens'
  >;
  reservation?: Reservation;
  estimatedTokens: number;
  estimatedPrompt?: number;
  queuedMs: number;
  /** What the queue expected `queuedMs` to be when the request joined it (metered requests). */
  expectedWaitMs?: number;
  attempt: number;
  keys: string[];
  retried: boolean;
  fallbackFrom?: string | undefined;
  attemptsTotal?: number;
  /** Unmetered pass-through: whatever comes back goes to the caller. */
  lastChance: boolean;
}

/** One attempt upstream. Either answers the caller (done) or reports a retryable failure untouched. */
export async function forwardOnce(ctx: ProxyContext, a: AttemptArgs): Promise<AttemptOutcome> {
  const startedAt = ctx.now();
  const t = attemptTools(ctx, a, startedAt);
  const key = ctx.apiKey(a.base.workspace);
  if (!key) {
    t.settle(0);
    t.record({ status: 401, outcome: 'error', errorKind: 'auth', errorCode: 'no_api_key' });
    const message =
      'The gateway has no provider API key. Run "Rate Limit Monitor: Set API Key", or set RLM_API_KEY (or ' +
      'DASHSCOPE_API_KEY / OPENAI_API_KEY) for the headless gateway.';
    sendError(a.res, 401, message, 'invalid_request_error', 'no_api_key');
    return { done: true };
  }
  const sent = await send(ctx, a, key, t);
  if ('done' in sent) return sent;
  const u = answerOf(sent);
  if (u.status >= 400) return answerError(ctx, a, u, t);
  const ourHeaders = () => ({
    ...u.passHeaders(),
    ...rateLimitHeaders(ctx.limiter, a.keys, ctx.now()),
    'x-rlm-model': a.model,
    'x-rlm-attempts': String(a.attemptsTotal ?? 1),
    'x-rlm-queued-ms': String(Math.round(a.queuedMs)),
    ...(a.expectedWaitMs !== undefined ? { [EXPECTED_START_HEADER]: String(Math.round(a.expectedWaitMs)) } : {}),
    ...(a.retried ? { 'x-should-retry': 'false' } : {}),
  });
  if (!u.contentType.includes('text/event-stream')) return answerJson(ctx, a, u, t, ourHeaders);
  // A stream: relayed event by event (src/gateway/relay.ts)
  const r = await relayStream(sent, {
    res: a.res,
    writeHead: () =>
      a.res.writeHead(u.status, { ...ourHeaders(), 'cache-control': 'no-cache', connection: 'keep-alive' }),
    provider: ctx.config().provider,
    startedAt,
    now: ctx.now,
    mayRetry: !a.lastChance,
    dropAddedUsage: a.addedUsage,
  });
  return r.ended
    ? finishStream(ctx, a, r, u.status, t.settle, t.record)
    : streamFailed(a, sent, r, u.status, t.settle, t.record);
}

interface Tools {
  record: RecordAttempt;
  settle: Settle;
}

/** How an attempt records itself and settles its reservation (and lets the queue move on). */
function attemptTools(ctx: ProxyContext, a: AttemptArgs, startedAt: number): Tools {
  return {
    record: (fields, usage, ttftMs) => {
      const r = makeRecord(startedAt, a.base, {
        model: a.model,
        queuedMs: a.queuedMs,
        expectedWaitMs: a.expectedWaitMs,
        latencyMs: ctx.now() - startedAt,
        attempt: a.attempt,
        estimatedTokens: a.estimatedTokens,
        fallbackFrom: a.fallbackFrom,
        ...fields,
      });
      if (usage) Object.assign(r, usage);
      if (ttftMs !== undefined) r.ttftMs = ttftMs;
      ctx.record(r);
    },
    settle: (tokens) => {
      if (a.reservation) ctx.scheduler.settle(a.reservation, tokens);
    },
  };
}

/** A failure worth another try, with the error the caller gets if none is left. */
function retryable(kind: ErrorKind, status: number, message: string, code: string): AttemptOutcome {
  return {
    done: false,
    classification: { kind, retryable: true },
    failure: { status, headers: {}, body: errorJson(message, 'server_error', code) },
  };
}

/** Send the request with the provider key. The provider may have counted a request it never answered: the charge stays. */
async function send(
  ctx: ProxyContext,
  a: AttemptArgs,
  key: string,
  t: Tools,
): Promise<http.IncomingMessage | AttemptOutcome> {
  const payload = Buffer.from(JSON.stringify({ ...a.body, model: a.model }));
  try {
    return await sendUpstream({
      url: upstreamUrl(ctx.config().baseUrl, a.req.url ?? '/'),
      method: a.req.method ?? 'POST',
      headers: forwardHeaders(a.req.headers, key, payload.length),
      body: payload,
      signal: a.abort.signal,
      timeouts: ctx.timeouts,
      ...(a.reservation ? { onSent: (at: number) => ctx.scheduler.retime(a.reservation!, at) } : {}),
    });
  } catch (e) {
    const err = e instanceof UpstreamError ? e : new UpstreamError('network', String(e));
    t.settle(a.reservation?.tokens ?? 0);
    if (err.kind === 'cancelled') {
      t.record({ status: 0, outcome: 'cancelled', errorKind: 'cancelled' });
      return { done: true };
    }
    const code = err.kind === 'timeout' ? 'upstream_timeout' : 'upstream_unreachable';
    t.record({ status: 0, outcome: 'error', errorKind: err.kind, errorCode: code });
    return retryable(err.kind, err.kind === 'timeout' ? 504 : 502, err.message, code);
  }
}

interface Answer {
  upstream: http.IncomingMessage;
  status: number;
  contentType: string;
  header: (name: string) => string | undefined;
  /** The provider's headers the caller gets: the content type and the request id. */
  passHeaders: () => Record<string, string>;
}

function answerOf(upstream: http.IncomingMessage): Answer {
  const contentType = String(upstream.headers['content-type'] ?? '');
  const header = (n: string) => {
    const v = upstream.headers[n];
    return Array.isArray(v) ? v[0] : v;
  };
  const passHeaders = () => {
    const h: Record<string, string> = { 'content-type': contentType || 'application/json' };
    const rid = header('x-request-id') ?? header('x-dashscope-request-id');
    if (rid) h['x-request-id'] = rid;
    return h;
  };
  return { upstream, status: upstream.statusCode ?? 502, contentType, header, passHeaders };
}

/** The provider refused: classify, and pass it on unless it is worth another try. */
async function answerError(ctx: ProxyContext, a: AttemptArgs, u: Answer, t: Tools): Promise<AttemptOutcome> {
  const text = await readText(u.upstream).catch(() => '');
  t.settle(0);
  const classification = classifyError({ provider: ctx.config().provider, status: u.status, ...readErrorText(text) });
  const retryAfterMs = parseRetryAfter(u.header, ctx.now());
  t.record({ status: u.status, outcome: 'error', ...errorFields(classification) });
  const failure: Failure = { status: u.status, headers: u.passHeaders(), body: text };
  if (retryAfterMs !== undefined) failure.headers['retry-after'] = String(Math.ceil(retryAfterMs / 1000));
  if (!classification.retryable || a.lastChance) {
    sendFailure(a.res, failure, a.retried, a.attemptsTotal ?? 1);
    return { done: true };
  }
  return { done: false, classification, failure, ...(retryAfterMs !== undefined ? { retryAfterMs } : {}) };
}

/** A JSON answer: settle on its usage and pass it on whole. */
async function answerJson(
  ctx: ProxyContext,
  a: AttemptArgs,
  u: Answer,
  t: Tools,
  ourHeaders: () => Record<string, string>,
): Promise<AttemptOutcome> {
  let text: string;
  try {
    text = await readText(u.upstream);
  } catch (e) {
    t.settle(a.reservation?.tokens ?? 0);
    const err = e instanceof UpstreamError ? e : new UpstreamError('network', String(e));
    t.record({ status: 0, outcome: err.kind === 'cancelled' ? 'cancelled' : 'error', errorKind: err.kind });
    return err.kind === 'cancelled' ? { done: true } : retryable(err.kind, 502, err.message, 'upstream_interrupted');
  }
  const json = safeJson(text);
  if (json === undefined && a.endpoint !== 'other') {
    t.settle(a.reservation?.tokens ?? 0);
    t.record({ status: u.status, outcome: 'error', errorKind: 'server', errorCode: 'malformed_response' });
    return retryable('server', 502, 'The provider sent a malformed JSON response.', 'malformed_response');
  }
  const usage = usageOf((json as { usage?: unknown } | undefined)?.usage);
  t.settle(usage ? usage.totalTokens : (a.reservation?.tokens ?? 0));
  if (usage && a.estimatedPrompt) ctx.calibration.observe(a.model, a.estimatedPrompt, usage.promptTokens);
  a.res.writeHead(u.status, { ...ourHeaders(), 'content-length': Buffer.byteLength(text) });
  a.res.end(text);
  t.record({ status: u.status, outcome: 'ok' }, usage);
  return { done: true };
}

type Settle = (tokens: number) => void;
type RecordAttempt = (
  fields: Partial<AttemptRecord> & Pick<AttemptRecord, 'status' | 'outcome'>,
  usage?: UsageFigures,
  ttftMs?: number,
) => void;

/** The caller got the whole stream: settle on the usage, and record how it ended. */
function finishStream(
  ctx: ProxyContext,
  a: AttemptArgs,
  r: RelayResult,
  status: number,
  settle: Settle,
  record: RecordAttempt,
): AttemptOutcome {
  settle(r.usage?.totalTokens ?? a.reservation?.tokens ?? 0);
  if (r.usage && a.estimatedPrompt) ctx.calibration.observe(a.model, a.estimatedPrompt, r.usage.promptTokens);
  if (r.streamError)
    record({ status, outcome: 'error', ...errorFields(r.streamError.classification) }, r.usage, r.ttftMs);
  else if (!r.sawDone && a.endpoint !== 'responses')
    record({ status, outcome: 'error', errorKind: 'network', errorCode: 'stream_truncated' }, r.usage, r.ttftMs);
  else record({ status, outcome: 'ok' }, r.usage, r.ttftMs);
  return { done: true };
}

/** The stream broke off, or an in-band error came before any content (held back to retry). */
function streamFailed(
  a: AttemptArgs,
  upstream: http.IncomingMessage,
  r: RelayResult,
  status: number,
  settle: Settle,
  record: RecordAttempt,
): AttemptOutcome {
  if (r.failure !== undefined) {
    const err = r.failure instanceof UpstreamError ? r.failure : new UpstreamError('network', errorMessage(r.failure));
    settle(r.usage?.totalTokens ?? a.reservation?.tokens ?? 0);
    if (err.kind === 'cancelled' || a.abort.signal.aborted) {
      record({ status, outcome: 'cancelled', errorKind: 'cancelled' }, r.usage, r.ttftMs);
      return { done: true };
    }
    record({ status, outcome: 'error', errorKind: err.kind, errorCode: 'stream_interrupted' }, r.usage, r.ttftMs);
    if (!r.headersSent)
      return {
        done: false,
        classification: { kind: err.kind, retryable: true },
        failure: { status: 502, headers: {}, body: errorJson(err.message, 'server_error', 'stream_interrupted') },
      };
    a.res.destroy(); // the caller must see the cut, not a clean end
    return { done: true };
  }
  const { classification, body } = r.streamError!;
  upstream.destroy();
  settle(0);
  record({ status, outcome: 'error', ...errorFields(classification) });
  const failure: Failure = {
    status: isRateLimitKind(classification.kind) ? 429 : 500,
    headers: { 'content-type': 'application/json' },
    body,
  };
  if (!classification.retryable || a.lastChance) {
    sendFailure(a.res, failure, a.retried, a.attemptsTotal ?? 1);
    return { done: true };
  }
  return { done: false, classification, failure };
}

const errorFields = (c: Classification) => ({ errorKind: c.kind, ...(c.code ? { errorCode: c.code } : {}) });

export function makeRecord(
  startedAt: number,
  base: AttemptArgs['base'],
  f: Pick<AttemptRecord, 'model' | 'status' | 'outcome' | 'queuedMs' | 'latencyMs' | 'attempt' | 'estimatedTokens'> & {
    errorKind?: ErrorKind;
    errorCode?: string;
    fallbackFrom?: string | undefined;
    expectedWaitMs?: number | undefined;
  },
): AttemptRecord {
  const { fallbackFrom, expectedWaitMs, ...rest } = f;
  const r: AttemptRecord = { id: randomUUID(), startedAt, ...base, ...rest };
  r.queuedMs = Math.round(r.queuedMs);
  if (fallbackFrom) r.fallbackFrom = fallbackFrom;
  if (expectedWaitMs !== undefined) r.expectedWaitMs = Math.round(expectedWaitMs);
  return r;
}

function safeJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}
