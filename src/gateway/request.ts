/**
 * A metered request as the proxy sees it, read from the caller's body and headers: the model
 * and its fallback chain, the lane, the longest wait the caller accepts, the token estimate and
 * the fields every record of it carries. Bad input is refused here, before anything is charged.
 */
import type http from 'node:http';
import type { AttemptRecord, Endpoint, Lane, RateLimitConfig } from '../core/types';
import { isPlainObject } from '../core/values';
import type { CallerInfo, ProxyContext } from './proxy';
import { estimateTokens } from './tokenizer';

export const PRIORITY_HEADER = 'x-rlm-priority';
export const MAX_WAIT_HEADER = 'x-rlm-max-wait-ms';
/** What a model id may hold (Model Studio's and OpenAI's ids fit; a newline or a space does not). */
const MODEL_NAME = /^[A-Za-z0-9][\w.:/-]{0,199}$/;

/** A label fit for a record, a table and a Prometheus label: printable, one line, at most 64 characters. */
const label = (text: string) =>
  text
    .replace(/[^\x20-\x7e]/g, '')
    .trim()
    .slice(0, 64);

/**
 * Who is calling, for "who spends the quota": the caller's x-rlm-source (the extension API's
 * `source` sets it), else the product of its User-Agent — "OpenAI/JS" and "OpenAI/Python" for
 * the SDKs, "curl" for curl/8.5.0 (a version is not part of the name) — else "external".
 */
export function sourceOf(req: http.IncomingMessage): string {
  const header = req.headers['x-rlm-source'];
  const given = typeof header === 'string' ? label(header) : '';
  if (given) return given;
  const agent = label(req.headers['user-agent'] ?? '').split(' ')[0] ?? '';
  const [product, second] = agent.split('/');
  if (!product || !/^[A-Za-z]/.test(product)) return 'external';
  return second && /^[A-Za-z]/.test(second) ? `${product}/${second}` : product;
}

/** The fields every attempt record of a request shares. */
export type RecordBase = Omit<
  AttemptRecord,
  'id' | 'startedAt' | 'model' | 'status' | 'outcome' | 'queuedMs' | 'latencyMs' | 'attempt' | 'estimatedTokens'
>;

export interface MeteredRequest {
  body: Record<string, unknown>;
  requestedModel: string;
  /** The model asked for, then its fallbacks in order. */
  chain: string[];
  lane: Lane;
  maxWaitMs: number;
  /** The gateway asked for usage in the stream on its own (the caller did not). */
  addedUsage: boolean;
  estimate: { promptTokens: number; maxOutputTokens: number };
  base: RecordBase;
}

export interface RequestProblem {
  message: string;
  code: 'invalid_json' | 'missing_model' | 'invalid_model' | 'unknown_workspace' | 'invalid_header';
}

/** The caller's lane: its x-rlm-priority, else its source's lane in the config, else interactive. */
export function laneOf(req: http.IncomingMessage, source: string, config: RateLimitConfig): Lane | { error: string } {
  const header = req.headers[PRIORITY_HEADER];
  if (header === undefined) return config.sourceLanes[source] ?? 'interactive';
  if (header === 'interactive' || header === 'background') return header;
  return {
    error: `${PRIORITY_HEADER}: "${String(header)}" is not a lane. Send "interactive" (the default) or "background".`,
  };
}

export function readMeteredRequest(
  ctx: ProxyContext,
  req: http.IncomingMessage,
  endpoint: Endpoint,
  rawBody: Buffer,
  caller: CallerInfo,
): MeteredRequest | RequestProblem {
  const config = ctx.config();
  const body = parseBody(rawBody);
  if (!body) {
    return {
      message: 'The request body is not a JSON object. Send Content-Type: application/json with an object body.',
      code: 'invalid_json',
    };
  }
  const requestedModel = body.model;
  if (typeof requestedModel !== 'string' || requestedModel.trim() === '') {
    return { message: 'The request has no "model". Add e.g. "model": "qwen-plus".', code: 'missing_model' };
  }
  // Checked before anything is charged or sent: the name also goes into headers and records.
  if (!MODEL_NAME.test(requestedModel)) {
    const got = JSON.stringify(requestedModel.slice(0, 60));
    return {
      message: `"model" must be a model id (letters, digits and . _ : / -, at most 200 characters); got ${got}.`,
      code: 'invalid_model',
    };
  }
  if (!ctx.limits.workspaceKnown(caller.workspace)) {
    const known = ['default', ...Object.keys(config.workspaces)].join(', ');
    return {
      message: `Unknown workspace '${caller.workspace}' in x-rlm-workspace. Known: ${known}.`,
      code: 'unknown_workspace',
    };
  }
  const lane = laneOf(req, caller.source, config);
  if (typeof lane !== 'string') return { message: lane.error, code: 'invalid_header' };
  const maxWaitMs = readMaxWait(req, config.maxQueueMs);
  if (typeof maxWaitMs !== 'number') return maxWaitMs;
  const stream = body.stream === true;
  const addedUsage = stream && (endpoint === 'chat.completions' || endpoint === 'completions') && askForUsage(body);
  return {
    body,
    requestedModel,
    chain: [requestedModel, ...(config.fallbacks[requestedModel] ?? [])],
    lane,
    maxWaitMs,
    addedUsage,
    estimate: estimateTokens(endpoint, body, config.defaultMaxOutputTokens),
    base: {
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
    },
  };
}

function parseBody(raw: Buffer): Record<string, unknown> | undefined {
  try {
    const parsed: unknown = JSON.parse(raw.toString('utf8'));
    return isPlainObject(parsed) ? parsed : undefined;
  } catch {
    return undefined;
  }
}

/** The caller's x-rlm-max-wait-ms, else the configured maximum queue time. */
function readMaxWait(req: http.IncomingMessage, fallback: number): number | RequestProblem {
  const header = req.headers[MAX_WAIT_HEADER];
  if (typeof header !== 'string') return fallback;
  const v = Number(header);
  if (Number.isFinite(v) && v >= 0 && /^\d+(\.\d+)?$/.test(header.trim())) return v;
  return { message: `${MAX_WAIT_HEADER}: "${header}" is not a number of milliseconds ≥ 0.`, code: 'invalid_header' };
}

/** A stream's usage is how the gateway settles: ask for it when the caller did not (and drop it for them). */
function askForUsage(body: Record<string, unknown>): boolean {
  const opts = isPlainObject(body.stream_options) ? body.stream_options : {};
  if (opts.include_usage === true) return false;
  body.stream_options = { ...opts, include_usage: true };
  return true;
}
