/**
 * Which advice becomes a notification: the kinds worth interrupting for (a higher-limit
 * alias, an idle or ending temporary increase, background work for the Batch API — not a
 * forecast, which the threshold warning already covers), each model and kind at most once a
 * week. `shown` (kept in globalState by the host) remembers when each was last shown.
 */
import type { Advice, AdviceKind } from '../../core/advice';

export const ADVICE_REPEAT_MS = 7 * 86_400_000;
export const NOTIFIED_KINDS: readonly AdviceKind[] = [
  'higher-limit-model',
  'idle-increase',
  'increase-expiring',
  'use-batch',
];

/** When each (kind, model) was last shown, epoch ms. */
export type ShownAdvice = Record<string, number>;

const keyOf = (a: Pick<Advice, 'kind' | 'model'>) => `${a.kind}:${a.model}`;

/** The items to show now, and what `shown` becomes (entries older than a week are dropped). */
export function adviceToNotify(
  items: readonly Advice[],
  shown: Readonly<ShownAdvice>,
  now: number,
): { due: Advice[]; shown: ShownAdvice } {
  const next: ShownAdvice = {};
  for (const [key, at] of Object.entries(shown)) if (now - at < ADVICE_REPEAT_MS && at <= now) next[key] = at;
  const due: Advice[] = [];
  for (const a of items) {
    const key = keyOf(a);
    if (!NOTIFIED_KINDS.includes(a.kind) || key in next) continue;
    next[key] = now;
    due.push(a);
  }
  return { due, shown: next };
}

/** A stored value read back: anything malformed counts as nothing shown. */
export function readShownAdvice(raw: unknown): ShownAdvice {
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) return {};
  return Object.fromEntries(
    Object.entries(raw).filter((e): e is [string, number] => typeof e[1] === 'number' && Number.isFinite(e[1])),
  );
}
