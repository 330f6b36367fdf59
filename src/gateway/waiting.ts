/**
 * The requests waiting in the queue now, for the views: who sent each, how long it has waited
 * and when the queue expected it to start when it joined. The limiter's tickets know keys and
 * costs only; this keeps the caller's side, added when a request joins a queue and removed when
 * it leaves (admitted, cancelled, timed out).
 */
import type { WaitingRequest } from '../core/protocol';
import type { Lane } from '../core/types';

/** The state lists this many, the longest-waiting first: enough for a view, bounded for a flood. */
export const MAX_LISTED = 50;

interface Entry {
  model: string;
  workspace: string;
  source: string;
  lane: Lane;
  /** When it joined the queue (epoch ms). */
  since: number;
  /** When the queue expected it to start then. */
  expectedAt: number;
}

export class WaitingRequests {
  // a Set keeps the order of insertion: the longest-waiting first
  private readonly entries = new Set<Entry>();

  /** A request joins a queue; call the function returned when it leaves. */
  add(e: Entry): () => void {
    this.entries.add(e);
    return () => this.entries.delete(e);
  }

  get size(): number {
    return this.entries.size;
  }

  list(now: number): WaitingRequest[] {
    const out: WaitingRequest[] = [];
    for (const e of this.entries) {
      if (out.length === MAX_LISTED) break;
      const { since, expectedAt, ...who } = e;
      out.push({ ...who, waitingMs: Math.max(0, now - since), expectedInMs: Math.max(0, expectedAt - now) });
    }
    return out;
  }
}
