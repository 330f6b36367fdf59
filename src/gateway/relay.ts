/**
 * The stream relay: a provider's server-sent events passed to the caller as they come, with
 * what the gateway must learn on the way (time to first token, usage, the end, an in-band
 * error). Headers are held back until the first event, so an in-band error before any content
 * can still be retried without the caller noticing. A caller that stops reading stops the
 * relay too (backpressure), so a slow reader never makes the gateway buffer a whole answer.
 */
import type http from 'node:http';
import { classifyError, readErrorBody, type Classification } from '../core/classify';
import type { ProviderId } from '../core/types';
import { drained } from './responses';
import { dataOf, inspectEvent, mayMatter, SseSplitter, type UsageFigures } from './sse';

export interface RelayOptions {
  res: http.ServerResponse;
  /** Writes the response's head; called once, just before the first bytes. */
  writeHead: () => void;
  provider: ProviderId;
  startedAt: number;
  now: () => number;
  /** May an in-band error before any content be retried (held back from the caller)? */
  mayRetry: boolean;
  /** The gateway asked for usage on its own: drop the usage-only event the caller did not ask for. */
  dropAddedUsage: boolean;
}

export interface RelayResult {
  usage?: UsageFigures;
  ttftMs?: number;
  sawDone: boolean;
  /** An error event from the provider. */
  streamError?: { classification: Classification; body: string };
  headersSent: boolean;
  /** True when the caller got the whole stream and its end. */
  ended: boolean;
  /** The upstream failed mid-stream (network, time-out, cancelled). */
  failure?: unknown;
}

export async function relayStream(upstream: http.IncomingMessage, o: RelayOptions): Promise<RelayResult> {
  upstream.setEncoding('utf8');
  const splitter = new SseSplitter();
  const r: RelayResult = { sawDone: false, headersSent: false, ended: false };
  const sendHead = () => {
    if (r.headersSent) return;
    r.headersSent = true;
    o.writeHead();
  };
  const holdBack = () =>
    r.streamError !== undefined && !r.headersSent && r.streamError.classification.retryable && o.mayRetry;
  try {
    for await (const chunk of upstream as AsyncIterable<string>) {
      const out = relayEvents(splitter.push(chunk), r, o, holdBack);
      if (holdBack()) return r;
      if (out) {
        sendHead();
        if (!o.res.write(out)) await drained(o.res);
      }
    }
  } catch (e) {
    r.failure = e;
    return r;
  }
  if (holdBack()) return r;
  const tail = splitter.rest();
  sendHead();
  if (tail) o.res.write(tail);
  o.res.end();
  r.ended = true;
  return r;
}

/** Look at each event of a chunk; return what goes on to the caller. */
function relayEvents(events: readonly string[], r: RelayResult, o: RelayOptions, holdBack: () => boolean): string {
  let out = '';
  for (const raw of events) {
    const data = dataOf(raw);
    // Once TTFT is known only usage, errors and the end matter: skip parsing the rest.
    if (data === undefined || (r.ttftMs !== undefined && !mayMatter(data))) {
      out += raw;
      continue;
    }
    const info = inspectEvent(data);
    if (info.kind === 'error') {
      const classification = classifyError({ provider: o.provider, ...readErrorBody(info.error) });
      r.streamError = { classification, body: JSON.stringify(info.error) };
      if (holdBack()) return out;
      out += raw;
      continue;
    }
    if (info.kind === 'done') r.sawDone = true;
    if ('usage' in info && info.usage) r.usage = info.usage;
    if (info.kind === 'content' && r.ttftMs === undefined) r.ttftMs = o.now() - o.startedAt;
    if (info.kind === 'usage-only' && o.dropAddedUsage) continue;
    out += raw;
  }
  return out;
}
