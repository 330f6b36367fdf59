/**
 * Server-sent events as text: split a stream into whole events and read their data. Used by
 * the gateway (provider streams, passed through event by event) and by the clients of its
 * own event stream (the extension and the dashboard page).
 */
/** Splits a byte stream into complete events (each with its blank-line terminator). */
export class SseSplitter {
  private buffer = '';

  push(chunk: string): string[] {
    this.buffer += chunk;
    const events: string[] = [];
    for (;;) {
      const m = /\r?\n\r?\n/.exec(this.buffer);
      if (!m) break;
      const end = m.index + m[0].length;
      events.push(this.buffer.slice(0, end));
      this.buffer = this.buffer.slice(end);
    }
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
