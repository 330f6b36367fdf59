/**
 * A machine's share of an account's limits while the team store is out of reach
 * (docs/ARCHITECTURE.md, "Team mode"). Pure arithmetic, so it is tested with plain numbers.
 *
 * Safety argument: each of the n machines seeds a key of its own with 1/n of what the whole
 * team admitted in the last minute (as far as it knows) and admits at most 1/n of the limits
 * on that key. Summed over the machines, the old admissions count once and the new ones stay
 * within the limit minus the old ones: the account's windows are never over, whoever had
 * sent more before the store went away.
 */
import type { ModelLimits } from './types';

export interface WindowEntry {
  at: number;
  tokens: number;
}

/**
 * 1/n of a window's entries: every n entries, newest first, become one at the newest one's
 * time carrying 1/n of their tokens (rounded up). Later times leave the window later, so the
 * share never ends earlier than the entries it stands for.
 */
export function shareOfEntries(entries: readonly WindowEntry[], n: number): WindowEntry[] {
  const sorted = [...entries].sort((a, b) => a.at - b.at);
  const parts = Math.max(1, Math.floor(n));
  const out: WindowEntry[] = [];
  for (let end = sorted.length; end > 0; end -= parts) {
    const group = sorted.slice(Math.max(0, end - parts), end);
    const tokens = group.reduce((s, e) => s + e.tokens, 0);
    out.push({ at: group[group.length - 1]!.at, tokens: Math.ceil(tokens / parts) });
  }
  return out.reverse();
}

/**
 * What the team may have admitted between the last look at its windows and now: as much as
 * the per-second limits allow over that gap, all counted at `to` (the safe side).
 */
export function gapEntries(from: number, to: number, limits: ModelLimits): WindowEntry[] {
  const seconds = Math.min(60, Math.max(0, to - from) / 1000);
  if (seconds === 0) return [];
  const count = Math.ceil(seconds * Math.max(1, Math.ceil(limits.rpm / 60)));
  const tokens = Math.ceil(seconds * Math.max(1, Math.ceil(limits.tpm / 60)));
  return Array.from({ length: count }, (_, i) => ({ at: to, tokens: i === 0 ? tokens : 0 }));
}

/**
 * One machine's limits out of n, and the pacing factor that keeps its per-second windows
 * within 1/n of the account's too (the local limiter derives those from the per-minute ones).
 * Where a per-second limit is below n it cannot be split: each machine keeps one per second.
 */
export function shareLimits(limits: ModelLimits, n: number): { limits: ModelLimits; rateFactor: number } {
  const parts = Math.max(1, Math.floor(n));
  const rpm = Math.max(1, Math.floor(limits.rpm / parts));
  const tpm = Math.max(1, Math.floor(limits.tpm / parts));
  const perSecondRequests = Math.max(1, Math.floor(Math.max(1, Math.ceil(limits.rpm / 60)) / parts));
  const perSecondTokens = Math.max(1, Math.floor(Math.max(1, Math.ceil(limits.tpm / 60)) / parts));
  // a hair under: the limiters take ceil(rpm × factor / 60), and 295 × (240 / 295) is 240.00000000000003
  const exact = Math.min(1, (perSecondRequests * 60) / rpm, (perSecondTokens * 60) / tpm);
  return { limits: { rpm, tpm }, rateFactor: exact < 1 ? exact * (1 - 1e-9) : 1 };
}
