/**
 * Any other /v1/* route (files, batches, models …): forwarded with the provider key and
 * recorded, not metered — the provider's real-time limits do not count these.
 */
import { randomUUID } from 'node:crypto';
import type http from 'node:http';
import type { AttemptRecord } from '../core/types';
import { errorMessage } from '../core/values';
import { sendError } from './responses';
import { forwardHeaders, sendUpstream, upstreamUrl, UpstreamError, type UpstreamTimeouts } from './upstream';

export interface PassThroughContext {
  apiKey: (workspace: string) => string | undefined;
  baseUrl: string;
  timeouts: UpstreamTimeouts;
  record: (r: AttemptRecord) => void;
  /** A batch route went through: what the gateway knows of the jobs is stale. */
  onBatchRoute: () => void;
}

export interface PassThroughCall {
  req: http.IncomingMessage;
  res: http.ServerResponse;
  body: Buffer;
  workspace: string;
  source: string;
}

export async function passThrough(ctx: PassThroughContext, c: PassThroughCall): Promise<void> {
  const { req, res, body } = c;
  const startedAt = Date.now();
  const key = ctx.apiKey(c.workspace);
  if (!key) {
    const message = 'The gateway has no provider API key. Run "Rate Limit Monitor: Set API Key" or set RLM_API_KEY.';
    return sendError(res, 401, message, 'invalid_request_error', 'no_api_key');
  }
  const abort = new AbortController();
  res.on('close', () => {
    if (!res.writableFinished) abort.abort();
  });
  const base = recordBase(c, startedAt);
  try {
    const upstream = await sendUpstream({
      url: upstreamUrl(ctx.baseUrl, req.url ?? '/'),
      method: req.method ?? 'GET',
      // file uploads (the Batch API) keep their multipart content type
      headers: forwardHeaders(
        req.headers,
        key,
        body.length > 0 ? body.length : undefined,
        req.headers['content-type'] ?? 'application/json',
      ),
      ...(body.length > 0 ? { body } : {}),
      signal: abort.signal,
      timeouts: ctx.timeouts,
    });
    const status = upstream.statusCode ?? 502;
    if (/\/batches(\/|\?|$)/.test(req.url ?? '')) ctx.onBatchRoute();
    res.writeHead(status, { 'content-type': String(upstream.headers['content-type'] ?? 'application/octet-stream') });
    upstream.pipe(res);
    await new Promise<void>((resolve) =>
      upstream
        .on('end', resolve)
        .on('error', () => resolve())
        .on('close', resolve),
    );
    const errorKind = status >= 500 ? 'server' : 'bad_request';
    const failed = status >= 400 ? { errorKind } : {};
    ctx.record({
      ...base,
      status,
      outcome: status < 400 ? 'ok' : 'error',
      latencyMs: Date.now() - startedAt,
      ...failed,
    } as AttemptRecord);
  } catch (e) {
    const kind = e instanceof UpstreamError ? e.kind : 'network';
    const outcome = kind === 'cancelled' ? 'cancelled' : 'error';
    ctx.record({ ...base, status: 0, outcome, errorKind: kind, latencyMs: Date.now() - startedAt });
    const message = `The provider could not be reached: ${errorMessage(e)}`;
    sendError(res, kind === 'timeout' ? 504 : 502, message, 'server_error', 'upstream_unreachable');
  }
}

/** The record's fields known before the answer: the model, when the body is JSON that names one. */
function recordBase(c: PassThroughCall, startedAt: number) {
  let model = '';
  try {
    const m = (JSON.parse(c.body.toString('utf8')) as { model?: unknown }).model;
    if (typeof m === 'string') model = m;
  } catch {
    // not JSON: nothing to learn
  }
  return {
    id: randomUUID(),
    startedAt,
    model,
    requestedModel: model,
    workspace: c.workspace,
    source: c.source,
    endpoint: 'other' as const,
    stream: false,
    promptTokens: 0,
    completionTokens: 0,
    totalTokens: 0,
    cachedTokens: 0,
    estimatedTokens: 0,
    queuedMs: 0,
    attempt: 1,
  };
}
