/**
 * This machine's share of the account's limits while it cannot rely on the team store
 * (docs/ARCHITECTURE.md, "Team mode"): per limiter key a share key on the local limiter with
 * 1/n of the limits, seeded with 1/n of what the team admitted in the last minute. Requests are
 * admitted on their share keys too (LimitsManager.extraKeys) for as long as the share holds.
 *
 * It also remembers what this machine itself admitted in the last minute, so that a store that
 * lost its data (a restarted Redis) can be told again.
 */
import { gapEntries, shareLimits, shareOfEntries, type WindowEntry } from '../../core/teamShare';
import type { Limiter } from '../../core/limiter';

/** The account's 60 s window plus the limiter's slack: what "the last minute" keeps (ms). */
export const MINUTE_WINDOW_MS = 60_100;

export interface OwnAdmission extends WindowEntry {
  /** Admitted while the store did not answer: the store has not seen it yet. */
  unseen: boolean;
  member: string;
}

export class LocalShare {
  /** Per limiter key, its share key (while the share holds). */
  private readonly keys = new Map<string, string>();
  private epoch = 0;
  private seq = 0;
  /** What this machine admitted in the last minute, per limiter key. */
  private readonly own = new Map<string, OwnAdmission[]>();

  constructor(
    private readonly limiter: Limiter,
    private readonly nodeId: string,
  ) {}

  get active(): boolean {
    return this.keys.size > 0;
  }

  /** The share keys a request on `keys` must also be admitted on. */
  extraKeys(keys: readonly string[]): string[] {
    return keys.flatMap((k) => this.keys.get(k) ?? []);
  }

  /**
   * Hold 1/n of the limits from now on: fresh share keys, each seeded with 1/n of what the team
   * admitted in its last minute as far as this machine knows — the windows read at `windowsAt`,
   * this machine's unseen admissions, and as much as the limits allow since `windowsAt`.
   */
  enter(n: number, windows: ReadonlyMap<string, WindowEntry[]>, windowsAt: number, now: number): void {
    this.epoch++;
    this.keys.clear();
    for (const key of this.limiter.keyNames()) {
      if (isShareKey(key)) continue;
      const limits = this.limiter.limitsOf(key)!;
      const shareKey = `share${this.epoch}:${key}`;
      const share = shareLimits(limits, n);
      this.limiter.setLimits(shareKey, share.limits);
      this.limiter.setRateFactor(shareKey, share.rateFactor);
      this.limiter.setSecondPad(shareKey, this.limiter.secondPadOf(key), now);
      const unseen = (this.own.get(key) ?? []).filter((e) => e.unseen);
      const known = [...(windows.get(key) ?? []), ...unseen, ...gapEntries(windowsAt, now, limits)];
      const seeded = shareOfEntries(known, n).filter((e) => e.at > now - MINUTE_WINDOW_MS);
      this.limiter.replay(seeded.map((e) => ({ at: Math.min(e.at, now), tokens: e.tokens, keys: [shareKey] })));
      this.keys.set(key, shareKey);
    }
  }

  leave(): void {
    this.keys.clear();
  }

  /** Remember one admission of this machine (`unseen`: the store did not take part in it). */
  record(keys: readonly string[], tokens: number, at: number, unseen: boolean): [string, OwnAdmission][] {
    const added: [string, OwnAdmission][] = [];
    for (const key of keys) {
      if (isShareKey(key)) continue;
      let list = this.own.get(key);
      if (!list) this.own.set(key, (list = []));
      while (list.length > 0 && list[0]!.at <= at - MINUTE_WINDOW_MS) list.shift();
      const e = { at, tokens, unseen, member: `${this.nodeId}.o${++this.seq}:${tokens}` };
      list.push(e);
      added.push([key, e]);
    }
    return added;
  }

  /** What to tell a store that comes back: everything of the last minute if it lost its data, else the unseen. */
  toReplay(now: number, storeLostData: boolean): Map<string, OwnAdmission[]> {
    const out = new Map<string, OwnAdmission[]>();
    for (const [key, list] of this.own) {
      const recent = list.filter((e) => e.at > now - MINUTE_WINDOW_MS && (storeLostData || e.unseen));
      if (recent.length > 0) out.set(key, recent);
    }
    return out;
  }

  /** The store has them now. */
  markSeen(): void {
    for (const list of this.own.values()) for (const e of list) e.unseen = false;
  }
}

export const isShareKey = (key: string) => key.startsWith('share');
