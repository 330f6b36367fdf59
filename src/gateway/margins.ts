/**
 * The pad on each key's 1 s window, adapted to what the gateway sees.
 *
 * The provider counts a request when it arrives; we count it when we admit it. If the
 * oldest request of a second reaches the provider later than the newest (a busy machine,
 * a jittery link), two sends more than a second apart arrive less than a second apart and
 * the per-second rule refuses one. A pad on the 1 s window tolerates that much delay, at a
 * throughput cost of pad / (1 s + pad) when the per-second rule binds (25 ms: 2.4 %).
 *
 * - A per-second refusal doubles the key's pad (up to the cap).
 * - Five minutes without one halve it, back toward the floor.
 *
 * Delay the gateway can see itself (a request handed to its socket late, on a busy machine)
 * needs no pad: the limiter counts such a request from when it really left (Limiter.retime).
 * The pad is for what only the provider sees: the network, the provider's own front door.
 *
 * See docs/ARCHITECTURE.md, "Margins that follow the machine".
 */
import type { Limiter } from '../core/limiter';
import type { SecondMargin } from '../core/protocol';

export const MARGIN = {
  floorMs: 25,
  capMs: 250,
  /** Time without a per-second refusal before the pad is halved. */
  cleanMs: 5 * 60_000,
};

interface Entry extends SecondMargin {
  lastWidenedAt: number;
}

export class SecondMargins {
  private readonly entries = new Map<string, Entry>();

  constructor(
    private readonly limiter: Limiter,
    private readonly floorMs = MARGIN.floorMs,
  ) {}

  private entry(key: string, now: number): Entry {
    let e = this.entries.get(key);
    if (!e) {
      e = { padMs: this.floorMs, changedAt: now, reason: 'the floor', lastWidenedAt: -Infinity };
      this.entries.set(key, e);
      this.limiter.setSecondPad(key, e.padMs, now);
    }
    return e;
  }

  /** Make sure a key (new, or re-created by a configuration change) has its pad installed. */
  install(key: string, now: number): void {
    const e = this.entry(key, now);
    if (this.limiter.secondPadOf(key) !== e.padMs) this.limiter.setSecondPad(key, e.padMs, now);
  }

  /** The provider refused a request by its per-second rule on this key. */
  onPerSecondRefusal(key: string, now: number, rule: 'rps' | 'tps'): void {
    const e = this.entry(key, now);
    this.set(key, e, Math.min(MARGIN.capMs, e.padMs * 2), now, `a per-second refusal (${rule.toUpperCase()})`);
  }

  /** Called periodically: halve a pad that has had nothing to widen it for five minutes. */
  recover(now: number): void {
    for (const [key, e] of this.entries) {
      if (e.padMs <= this.floorMs) continue;
      if (now - e.lastWidenedAt < MARGIN.cleanMs || now - e.changedAt < MARGIN.cleanMs) continue;
      const padMs = Math.max(this.floorMs, Math.round(e.padMs / 2));
      e.padMs = padMs;
      e.changedAt = now;
      e.reason = 'five minutes without a per-second refusal';
      this.limiter.setSecondPad(key, padMs, now);
    }
  }

  state(key: string): SecondMargin | undefined {
    const e = this.entries.get(key);
    return e ? { padMs: e.padMs, changedAt: e.changedAt, reason: e.reason } : undefined;
  }

  private set(key: string, e: Entry, padMs: number, now: number, reason: string): void {
    e.lastWidenedAt = now;
    if (padMs <= e.padMs) return;
    e.padMs = padMs;
    e.changedAt = now;
    e.reason = reason;
    this.limiter.setSecondPad(key, padMs, now);
  }
}
