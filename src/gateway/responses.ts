/**
 * What the gateway writes back to a caller besides the provider's own answer: its errors in
 * the provider's shape, a failure passed through after the gateway's own retries, the
 * OpenAI-format x-ratelimit-* headers, and waiting for a slow reader.
 */
import type http from 'node:http';
import { formatGoDuration } from '../core/classify';
import type { Limiter } from '../core/limiter';

/**
 * On a metered answer: the wait the gateway expected when the request joined the queue, in ms
 * (next to x-rlm-queued-ms, the wait it had); on a local 429: how long until it could start.
 */
export const EXPECTED_START_HEADER = 'x-rlm-expected-start-ms';

/** A provider answer kept to pass through when retries and fallbacks are spent. */
export interface Failure {
  status: number;
  headers: Record<string, string>;
  body: string;
}

/**
 * OpenAI-format `x-ratelimit-*` for the model's tightest key, per dimension: the request
 * figures from the key with the fewest requests left, the token figures from the key with
 * the fewest tokens left.
 */
export function rateLimitHeaders(limiter: Limiter, keys: string[], now: number): Record<string, string> {
  const usages = keys.map((k) => limiter.windows(k, now).minute);
  if (usages.length === 0) return {};
  const left = (m: (typeof usages)[number], d: 'requests' | 'tokens') =>
    d === 'requests' ? m.requestLimit - m.requests : m.tokenLimit - m.tokens;
  const tightest = (d: 'requests' | 'tokens') => usages.reduce((a, b) => (left(b, d) < left(a, d) ? b : a));
  const r = tightest('requests');
  const t = tightest('tokens');
  return {
    'x-ratelimit-limit-requests': String(r.requestLimit),
    'x-ratelimit-limit-tokens': String(t.tokenLimit),
    'x-ratelimit-remaining-requests': String(Math.max(0, r.requestLimit - r.requests)),
    'x-ratelimit-remaining-tokens': String(Math.max(0, Math.floor(t.tokenLimit - t.tokens))),
    // Time to replenish fully at the limit's rate, as OpenAI reports it.
    'x-ratelimit-reset-requests': formatGoDuration((r.requests / r.requestLimit) * 60_000),
    'x-ratelimit-reset-tokens': formatGoDuration((t.tokens / t.tokenLimit) * 60_000),
  };
}

export function sendFailure(res: http.ServerResponse, f: Failure, retried: boolean, attempts: number): void {
  if (res.headersSent || res.destroyed) return;
  res.writeHead(f.status, {
    'content-type': 'application/json',
    ...f.headers,
    'content-length': Buffer.byteLength(f.body),
    'x-rlm-attempts': String(attempts),
    ...(retried ? { 'x-should-retry': 'false' } : {}),
  });
  res.end(f.body);
}

export function errorJson(message: string, type: string, code: string): string {
  return JSON.stringify({ error: { message, type, param: null, code } });
}

export function sendError(res: http.ServerResponse, status: number, message: string, type: string, code: string): void {
  if (res.headersSent || res.destroyed) return;
  const text = errorJson(message, type, code);
  res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text) });
  res.end(text);
}

/** Resolves when `res` can take more, or is gone. */
export function drained(res: http.ServerResponse): Promise<void> {
  return new Promise((resolve) => {
    const done = () => {
      res.off('drain', done);
      res.off('close', done);
      resolve();
    };
    res.once('drain', done);
    res.once('close', done);
  });
}
