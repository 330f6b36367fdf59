/**
 * One HTTP exchange with the provider: keep-alive sockets, the real key added here and
 * nowhere else, and three time-outs (connect, first byte, idle between chunks).
 */
import http from 'node:http';
import https from 'node:https';

export interface UpstreamTimeouts {
  connectMs: number;
  firstByteMs: number;
  idleMs: number;
}

export const DEFAULT_TIMEOUTS: UpstreamTimeouts = { connectMs: 10_000, firstByteMs: 120_000, idleMs: 60_000 };

export class UpstreamError extends Error {
  constructor(
    readonly kind: 'network' | 'timeout' | 'cancelled',
    message: string,
  ) {
    super(message);
  }
}

const agents = {
  http: new http.Agent({ keepAlive: true, maxSockets: 256, keepAliveMsecs: 10_000 }),
  https: new https.Agent({ keepAlive: true, maxSockets: 256, keepAliveMsecs: 10_000 }),
};

/** Forwarded from the caller; everything else (its Authorization above all) stays behind. */
const FORWARDED_HEADERS = [
  'accept',
  'user-agent',
  'openai-beta',
  'x-dashscope-sse',
  'x-dashscope-wait-timeout',
  'x-dashscope-workspace',
];

export function upstreamUrl(baseUrl: string, incomingPath: string): URL {
  const rest = incomingPath.replace(/^\/v1(?=\/|$|\?)/, '');
  return new URL(baseUrl.replace(/\/+$/, '') + rest);
}

export function forwardHeaders(
  incoming: http.IncomingHttpHeaders,
  apiKey: string,
  bodyLength: number | undefined,
  contentType = 'application/json',
): http.OutgoingHttpHeaders {
  const out: http.OutgoingHttpHeaders = { authorization: `Bearer ${apiKey}` };
  for (const name of FORWARDED_HEADERS) {
    const v = incoming[name];
    if (v !== undefined) out[name] = v;
  }
  if (bodyLength !== undefined) {
    out['content-type'] = contentType;
    out['content-length'] = bodyLength;
  }
  return out;
}

export interface UpstreamRequest {
  url: URL;
  method: string;
  headers: http.OutgoingHttpHeaders;
  body?: Buffer;
  signal: AbortSignal;
  timeouts: UpstreamTimeouts;
  /** Called once the whole request has been handed to the socket (the time it left us). */
  onSent?: (at: number) => void;
}

/**
 * Resolves with the response once its headers arrive. The returned stream enforces the
 * idle time-out; abort the signal to cancel the exchange at any point.
 */
export function sendUpstream(r: UpstreamRequest): Promise<http.IncomingMessage> {
  return new Promise((resolve, reject) => {
    if (r.signal.aborted) return reject(new UpstreamError('cancelled', 'cancelled before sending'));
    const mod = r.url.protocol === 'https:' ? https : http;
    const req = mod.request(r.url, {
      method: r.method,
      headers: r.headers,
      agent: r.url.protocol === 'https:' ? agents.https : agents.http,
    });
    let settled = false;
    const fail = (e: UpstreamError) => {
      if (settled) return;
      settled = true;
      clearTimeout(connectTimer);
      clearTimeout(firstByteTimer);
      req.destroy(e);
      reject(e);
    };
    const connectTimer = setTimeout(
      () => fail(new UpstreamError('timeout', `no connection to the provider within ${r.timeouts.connectMs} ms`)),
      r.timeouts.connectMs,
    );
    const firstByteTimer = setTimeout(
      () => fail(new UpstreamError('timeout', `no response from the provider within ${r.timeouts.firstByteMs} ms`)),
      r.timeouts.firstByteMs,
    );
    req.on('socket', (socket) => {
      // stream chunks are small and latency-bound: no Nagle delay on the way back
      socket.setNoDelay(true);
      if (!socket.connecting) clearTimeout(connectTimer);
      else socket.once('connect', () => clearTimeout(connectTimer));
    });
    const onAbort = () => fail(new UpstreamError('cancelled', 'the caller went away'));
    r.signal.addEventListener('abort', onAbort, { once: true });
    req.on('error', (e: NodeJS.ErrnoException) =>
      fail(new UpstreamError('network', `provider connection failed: ${e.code ?? e.message}`)),
    );
    req.on('response', (res) => {
      if (settled) {
        res.destroy();
        return;
      }
      settled = true;
      clearTimeout(connectTimer);
      clearTimeout(firstByteTimer);
      res.setTimeout(r.timeouts.idleMs, () =>
        res.destroy(new UpstreamError('timeout', `the provider sent nothing for ${r.timeouts.idleMs} ms`)),
      );
      res.once('close', () => r.signal.removeEventListener('abort', onAbort));
      r.signal.addEventListener('abort', () => res.destroy(new UpstreamError('cancelled', 'the caller went away')), {
        once: true,
      });
      resolve(res);
    });
    if (r.onSent) req.once('finish', () => r.onSent!(Date.now()));
    req.end(r.body);
  });
}

/** The largest non-streamed answer we hold in memory (a real one is far smaller). */
export const MAX_BODY_BYTES = 64 * 1024 * 1024;

/** Read a whole message body as UTF-8; a connection cut mid-body, or a body past the cap, is an error. */
export function readText(stream: http.IncomingMessage, maxBytes = MAX_BODY_BYTES): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    stream.on('data', (c: Buffer) => {
      size += c.length;
      if (size > maxBytes) {
        stream.destroy(new UpstreamError('network', `the provider's answer exceeded ${maxBytes} bytes`));
        return;
      }
      chunks.push(c);
    });
    stream.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    stream.on('error', reject);
    stream.on('aborted', () => reject(new UpstreamError('network', 'the connection closed mid-body')));
  });
}
