/**
 * Server-sent events as text: split a stream into whole events and read their data. Used by
 * the gateway (provider streams, passed through event by event) and by the clients of its
 * own event stream (the extension and the dashboard page).
 */

/** The longest event we accept: a real one is a few kilobytes. */
export const MAX_EVENT_CHARS = 1_000_000;

export class SseEventTooLarge extends Error {
  constructor() {
    super(`an event in the stream exceeded ${MAX_EVENT_CHARS} characters without ending`);
  }
}

/**
 * Splits a byte stream into complete events (each with its blank-line terminator). Each
 * push scans only what it has not scanned before, so a stream that never ends an event
 * costs linear time, and past MAX_EVENT_CHARS it is an error instead of a growing buffer.
 */
export class SseSplitter {
  private buffer = '';
  /** Where the next search for a terminator starts. */
  private scanned = 0;

  constructor(private readonly maxEventChars = MAX_EVENT_CHARS) {}

  push(chunk: string): string[] {
    this.buffer += chunk;
    const events: string[] = [];
    let start = 0;
    let i = this.buffer.indexOf('\n', this.scanned);
    while (i !== -1) {
      // a blank line ends an event: "\n\n", "\r\n\r\n" or "\n\r\n"
      const prev = this.buffer[i - 1];
      const ends =
        i - 1 >= start && (prev === '\n' || (prev === '\r' && i - 2 >= start && this.buffer[i - 2] === '\n'));
      if (ends) {
        events.push(this.buffer.slice(start, i + 1));
        start = i + 1;
      }
      i = this.buffer.indexOf('\n', i + 1);
    }
    if (start > 0) this.buffer = this.buffer.slice(start);
    this.scanned = this.buffer.length;
    if (this.buffer.length > this.maxEventChars) throw new SseEventTooLarge();
    return events;
  }

  /** Whatever is left when the stream ends (a truncated event). */
  rest(): string {
    return this.buffer;
  }
}

export function dataOf(rawEvent: string): string | undefined {
  const lines = rawEvent.split(/\r?\n/).filter((l) => l.startsWith('data:'));
  if (lines.length === 0) return undefined;
  return lines.map((l) => l.slice(5).replace(/^ /, '')).join('\n');
}

/** The data of each event in a fetch response body (WHATWG stream), as it arrives. */
export async function* sseData(body: ReadableStream<Uint8Array>): AsyncGenerator<string> {
  const reader = body.getReader();
  const decoder = new TextDecoder();
  const splitter = new SseSplitter();
  for (;;) {
    const { value, done } = await reader.read();
    if (done) return;
    for (const raw of splitter.push(decoder.decode(value, { stream: true }))) {
      const data = dataOf(raw);
      if (data) yield data;
    }
  }
}
