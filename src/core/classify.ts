/**
 * Provider errors → the kinds of docs/PROVIDER.md. Reads `error.code`, `error.type` and the
 * message, not only the status: Model Studio can send an error event inside an SSE
 * stream, which arrives with no HTTP status at all.
 */
import type { ErrorKind, ProviderId } from './types';

export interface ProviderErrorInput {
  provider: ProviderId;
  /** HTTP status; undefined for an error event inside a stream. */
  status?: number;
  code?: string | null;
  type?: string | null;
  message?: string | null;
}

export interface Classification {
  kind: ErrorKind;
  /** Worth another attempt (after a wait) on the same model. */
  retryable: boolean;
  /** The provider's own code, for records and the dashboard. */
  code?: string;
}

const RPM_CODES = new Set(['limit_requests', 'throttling.ratequota', 'throttling', 'throttling.user']);
const TPM_CODES = new Set(['throttling.allocationquota']);
const BURST_CODES = new Set(['limit_burst_rate', 'throttling.burstrate']);
const BILLING_CODES = new Set([
  'commoditynotpurchased',
  'prepaidbilloverdue',
  'postpaidbilloverdue',
  'arrearage',
  'billing_hard_limit_reached',
]);
const AUTH_CODES = new Set([
  'invalidapikey',
  'invalid_api_key',
  'accessdenied',
  'accessdenied.unpurchased',
  'unauthorized',
  'authentication_error',
  'permission_denied',
]);
const SERVER_CODES = new Set([
  'modelservingerror',
  'internalerror',
  'internal_error',
  'server_error',
  'serviceunavailable',
]);

const RPM_MESSAGES = [
  /requests rate limit exceeded/i,
  /exceeded your current requests list/i,
  /exceeded your request limit/i,
  /requests throttling triggered/i,
  /too many requests in route/i,
  /requests per min/i,
  /\bRPM\b/,
];
const TPM_MESSAGES = [/allocated quota exceeded/i, /tokens per min/i, /\bTPM\b/];
const BURST_MESSAGES = [/increased too quickly/i, /burst rate/i];
const CAPACITY_MESSAGES = [/system capacity limits/i];

/** Parse an OpenAI-shaped error body `{"error":{message,type,code}}` (or Model Studio's native `{code,message}`). */
export function readErrorBody(body: unknown): { code?: string; type?: string; message?: string } | undefined {
  if (typeof body !== 'object' || body === null) return undefined;
  const outer = body as Record<string, unknown>;
  const inner =
    typeof outer.error === 'object' && outer.error !== null ? (outer.error as Record<string, unknown>) : outer;
  const str = (v: unknown) => (typeof v === 'string' && v !== '' ? v : typeof v === 'number' ? String(v) : undefined);
  const out = { code: str(inner.code), type: str(inner.type), message: str(inner.message) };
  return out.code || out.type || out.message ? out : undefined;
}

/** The same, from a response's text (undefined when it is not JSON or holds no error). */
export function readErrorText(text: string): { code?: string; type?: string; message?: string } | undefined {
  try {
    return readErrorBody(JSON.parse(text));
  } catch {
    return undefined;
  }
}

export function classifyError(input: ProviderErrorInput): Classification {
  const code = (input.code ?? '').trim();
  const type = (input.type ?? '').trim();
  const message = input.message ?? '';
  const ids = [code.toLowerCase(), type.toLowerCase()].filter(Boolean);
  const has = (set: Set<string>) => ids.some((id) => set.has(id));
  const said = (patterns: RegExp[]) => patterns.some((p) => p.test(message));
  const providerCode = code || type || undefined;
  const result = (kind: ErrorKind, retryable: boolean): Classification =>
    providerCode ? { kind, retryable, code: providerCode } : { kind, retryable };

  if (has(BURST_CODES) || said(BURST_MESSAGES)) return result('burst', true);
  if (has(BILLING_CODES)) return result('quota', false);
  // insufficient_quota: a per-minute token throttle on Model Studio, billing exhausted on OpenAI.
  if (ids.includes('insufficient_quota') || /exceeded your current quota/i.test(message)) {
    return input.provider === 'openai' ? result('quota', false) : result('tpm', true);
  }
  if (has(TPM_CODES) || said(TPM_MESSAGES)) return result('tpm', true);
  if (ids.includes('rate_limit_exceeded')) return result(/token/i.test(message) ? 'tpm' : 'rpm', true);
  if (has(RPM_CODES) || said(RPM_MESSAGES)) return result('rpm', true);
  if (has(SERVER_CODES) || said(CAPACITY_MESSAGES)) return result('server', true);
  if (has(AUTH_CODES)) return result('auth', false);

  const status = input.status;
  if (status === 429) return result('rpm', true);
  if (status === 401 || status === 403) return result('auth', false);
  if (status === 408 || status === 504) return result('timeout', true);
  if (status !== undefined && status >= 500) return result('server', true);
  if (status !== undefined && status >= 400) return result('bad_request', false);
  if (/timed? ?out/i.test(message)) return result('timeout', true);
  // An error event in a stream that names nothing we know: the server failed mid-answer.
  return result('server', true);
}

/** Format milliseconds as a Go duration the way OpenAI's headers do (`1s`, `6m0s`, `12ms`). */
export function formatGoDuration(ms: number): string {
  if (!(ms > 0)) return '0s';
  if (ms < 1000) return `${Math.ceil(ms)}ms`;
  const totalSeconds = ms / 1000;
  const h = Math.floor(totalSeconds / 3600);
  const m = Math.floor((totalSeconds % 3600) / 60);
  const sec = totalSeconds - h * 3600 - m * 60;
  const secText = `${Number(sec.toFixed(3))}s`;
  if (h > 0) return `${h}h${m}m${secText}`;
  if (m > 0) return `${m}m${secText}`;
  return secText;
}

export type HeaderLookup = (name: string) => string | null | undefined;

/** Milliseconds to wait from `retry-after-ms` or `retry-after` (seconds or an HTTP date). */
export function parseRetryAfter(header: HeaderLookup, now: number): number | undefined {
  const ms = header('retry-after-ms');
  if (ms != null && ms.trim() !== '' && Number.isFinite(Number(ms)) && Number(ms) >= 0) return Number(ms);
  const ra = header('retry-after');
  if (ra == null || ra.trim() === '') return undefined;
  if (/^\d+(\.\d+)?$/.test(ra.trim())) return Number(ra) * 1000;
  const date = Date.parse(ra);
  return Number.isNaN(date) ? undefined : Math.max(0, date - now);
}
