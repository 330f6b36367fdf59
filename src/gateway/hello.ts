/**
 * How a starting window finds out whether the program on its port is our gateway, without
 * handing the token to whoever holds the port: a challenge. The asker sends a fresh nonce;
 * only a gateway that knows the token answers with HMAC-SHA256(token, nonce). The token never
 * travels, and on Linux a port held by another user is refused before anything is asked.
 */
import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import fs from 'node:fs';
import http from 'node:http';

export const HELLO_ROUTE = '/_rlm/hello';
const SERVICE = 'llm-rate-limit-monitor';

const proofOf = (token: string, nonce: string) =>
  createHmac('sha256', token).update(`${SERVICE}:${nonce}`).digest('hex');

/** The gateway's side: prove it knows the token (no auth needed: the answer reveals nothing). */
export function answerHello(req: http.IncomingMessage, res: http.ServerResponse, token: string): void {
  const nonce = new URL(req.url ?? '/', 'http://gateway').searchParams.get('nonce') ?? '';
  if (!/^[0-9a-f]{32}$/.test(nonce)) {
    res.writeHead(400, { 'content-type': 'application/json' });
    res.end(
      JSON.stringify({
        error: { message: 'nonce: 32 hex digits', type: 'invalid_request_error', code: 'invalid_nonce' },
      }),
    );
    return;
  }
  const body = JSON.stringify({ service: SERVICE, pid: process.pid, proof: proofOf(token, nonce) });
  res.writeHead(200, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) });
  res.end(body);
}

export interface LeaderInfo {
  pid: number;
}

/**
 * Is the program on host:port our gateway (same user, knows the token)? `checkOwner` reads the
 * socket table first; a follower's liveness probe (every 200 ms) skips it, since the answer to
 * the challenge already proves the holder knows the token.
 */
export async function probeLeader(
  host: string,
  port: number,
  token: string,
  timeoutMs = 500,
  checkOwner = true,
): Promise<LeaderInfo | undefined> {
  if (checkOwner) {
    const owner = listeningUid(port);
    if (owner !== undefined && typeof process.getuid === 'function' && owner !== process.getuid()) return undefined;
  }
  const nonce = randomBytes(16).toString('hex');
  const text = await new Promise<string | undefined>((resolve) => {
    const req = http.get(
      { host, port, path: `${HELLO_ROUTE}?nonce=${nonce}`, headers: { host: `${host}:${port}` }, timeout: timeoutMs },
      (res) => {
        let t = '';
        res.setEncoding('utf8');
        res.on('data', (c: string) => {
          t += c;
          if (t.length > 4096) res.destroy(); // a hello is small; anything else is not ours
        });
        res.on('end', () => resolve(res.statusCode === 200 ? t : undefined));
        res.on('error', () => resolve(undefined));
      },
    );
    req.on('timeout', () => req.destroy());
    req.on('error', () => resolve(undefined));
  });
  if (!text) return undefined;
  try {
    const body = JSON.parse(text) as { service?: unknown; pid?: unknown; proof?: unknown };
    const expected = Buffer.from(proofOf(token, nonce), 'hex');
    const given =
      typeof body.proof === 'string' && /^[0-9a-f]{64}$/.test(body.proof) ? Buffer.from(body.proof, 'hex') : undefined;
    if (body.service !== SERVICE || !given || !timingSafeEqual(given, expected) || typeof body.pid !== 'number')
      return undefined;
    return { pid: body.pid };
  } catch {
    return undefined;
  }
}

/** The uid that holds a listening TCP socket on this port (Linux's /proc/net/tcp{,6}), if known. */
export function listeningUid(port: number): number | undefined {
  const hexPort = port.toString(16).toUpperCase().padStart(4, '0');
  for (const table of ['/proc/net/tcp', '/proc/net/tcp6']) {
    let text: string;
    try {
      text = fs.readFileSync(table, 'utf8');
    } catch {
      continue;
    }
    for (const line of text.split('\n').slice(1)) {
      const cols = line.trim().split(/\s+/);
      // cols: sl, local_address, rem_address, st, tx:rx, tr:when, retrnsmt, uid, …
      if (cols.length > 7 && cols[1]!.endsWith(`:${hexPort}`) && cols[3] === '0A') return Number(cols[7]);
    }
  }
  return undefined;
}
