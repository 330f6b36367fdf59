/**
 * Waiting callers in virtual time: each of `callers` sends a request, waits for its
 * admission and its answer (`latencyMs`), then sends the next. The limiter sees a queue
 * that never empties, as with a batch file, an agent with long contexts or several tools at
 * once. Returns the tokens admitted per minute as a share of the TPM, after a warm-up.
 */
import { Limiter, type Ticket } from '../../src/core/limiter';

export interface ClosedLoop {
  callers: number;
  rpm: number;
  tpm: number;
  /** Request sizes in tokens, drawn in turn. */
  sizes: (i: number) => number;
  latencyMs: number;
  durationMs: number;
  backfill: boolean;
}

export function runClosedLoop(o: ClosedLoop): { tokenUse: number; admitted: number } {
  const limiter = new Limiter({ backfill: o.backfill });
  limiter.setLimits('k', { rpm: o.rpm, tpm: o.tpm });
  let n = 0;
  const waiting = new Set<Ticket>();
  const answers: { at: number }[] = [];
  const admissions: { at: number; tokens: number }[] = [];
  for (let c = 0; c < o.callers; c++) waiting.add(limiter.enqueue(['k'], o.sizes(n++), 0));
  let now = 0;
  let wake = 0;
  while (now <= o.durationMs) {
    const r = limiter.poll(now);
    for (const t of r.admitted) {
      waiting.delete(t);
      admissions.push({ at: now, tokens: t.cost });
      answers.push({ at: now + o.latencyMs });
    }
    wake = r.nextWakeAt;
    const nextAnswer = answers.length ? Math.min(...answers.map((a) => a.at)) : Infinity;
    now = Math.min(wake, nextAnswer);
    if (now === Infinity) break;
    for (let i = answers.length - 1; i >= 0; i--) {
      if (answers[i]!.at <= now) {
        answers.splice(i, 1);
        waiting.add(limiter.enqueue(['k'], o.sizes(n++), now));
      }
    }
  }
  const from = o.durationMs - 60_000;
  const tokens = admissions.filter((a) => a.at > from && a.at <= o.durationMs).reduce((s, a) => s + a.tokens, 0);
  return { tokenUse: tokens / o.tpm, admitted: admissions.length };
}

/** Prompts of 100–450 tokens in a fixed, spread order (no randomness: the figure repeats). */
export const PACKING_SIZES = (i: number) => 100 + ((i * 157) % 351);
