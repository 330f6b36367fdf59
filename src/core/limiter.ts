/**
 * The sliding-window limiter (docs/ARCHITECTURE.md, "The limiter contract"). Pure: every
 * method takes the time as a parameter, so tests drive it with a virtual clock and the
 * gateway with Date.now(). Each key's windows are in keyState.ts.
 *
 * A request is admitted on all of its keys or on none, and paced: consecutive admissions on
 * a key are at least 60 s / RPM apart. Waiters go in FIFO order per key with one exception,
 * EASY backfilling (from HPC batch schedulers): when the first waiter on a key (its head)
 * cannot go yet, it is promised its earliest start plus one pacing slot, and a later waiter
 * may go now if it fits now and, counted, leaves every such head able to start by its
 * promise. No head waits past its promise, so nothing starves, and the gaps a large head
 * leaves in a per-second window are filled. A waiter blocks, for those
 * behind it, only the keys it is waiting for (see poll).
 */
import { KeyState, type KeyLimits, type KeyUsage, type WaitReason, type WindowUsage } from './keyState';
import type { Lane } from './types';

export type { KeyLimits, KeyUsage, WaitReason, WindowUsage } from './keyState';
export { KeyState } from './keyState';

export interface LimiterOptions {
  /**
   * Widen the windows (1 s + pad, 60 s + pad). Requests reach the provider a little earlier or
   * later than we send them; the provider counts by arrival, so two sends a window + pad apart
   * can arrive less than a window apart when the first is delayed by more than the pad. A pad
   * tolerates that much delay at a throughput cost of pad/(window + pad) whenever that window
   * binds: 25 ms on the 1 s window costs 2.4 %, 100 ms on the 60 s window 0.17 %. 0 in virtual time.
   */
  secondWindowPadMs?: number;
  minuteWindowPadMs?: number;
  /** How far ahead of its paced slot a request may go: absorbs timer granularity. */
  pacingToleranceMs?: number;
  /** Give back reserved-but-unused tokens at settle (the default), or keep the reservation. */
  refundUnusedTokens?: boolean;
  /** Let later waiters fill gaps that do not delay a head (default); false = strict FIFO. */
  backfill?: boolean;
}

export interface WaitInfo {
  waiting: number;
  /** How long the first waiting request has waited. */
  oldestMs: number;
  /** When it may go (0: at the next poll; it may be passed by a backfill meanwhile). */
  nextInMs: number;
  binds: WaitReason;
  /** The key whose rule binds: this one, or another of the request's keys. */
  onKey: string;
  /** The first waiting request's charge in tokens (what a fallback would have to fit). */
  cost: number;
}

/** Where a new ticket goes: its lane, or the very front (a retry). */
export interface QueuePlace {
  lane?: Lane;
  front?: boolean;
}

/** How many waiters behind the heads one poll tries to backfill (bounds a poll's work). */
export const BACKFILL_SCAN_LIMIT = 256;

const MINUTE_MS = 60_000;
const SECOND_MS = 1_000;

/** What one admission holds on each of its keys; settle or cancel it exactly once. */
export interface Reservation {
  readonly tokens: number;
  readonly admittedAt: number;
  /** @internal positions of this admission in each key's log */
  readonly slots: ReadonlyArray<{ key: KeyState; seq: number }>;
  settled: boolean;
}

export type TicketState = 'waiting' | 'admitted' | 'cancelled' | 'impossible';

/** A place in the queue. `poll` admits tickets; `cancel` gives the place up. */
export interface Ticket {
  readonly id: number;
  readonly keys: readonly string[];
  readonly cost: number;
  readonly enqueuedAt: number;
  readonly lane: Lane;
  state: TicketState;
  reservation?: Reservation;
  /** Set once it waits at the head of a key: backfilling never makes it start later than this. */
  promisedAt?: number;
  /** @internal */
  readonly keyStates: KeyState[];
}

export interface PollResult {
  admitted: Ticket[];
  /** Tickets that can never fit (cost above the key's TPM): answer them with an error. */
  impossible: Ticket[];
  /** Earliest time another poll can admit something; Infinity when nobody waits. */
  nextWakeAt: number;
}

export class Limiter {
  private readonly keys = new Map<string, KeyState>();
  private queue: Ticket[] = [];
  private queueHead = 0;
  private nextTicketId = 1;
  /** Keys with at least one waiting ticket: once all are blocked, a poll can stop. */
  private keysWithWaiters = 0;
  private readonly w60: number;
  private readonly w1: number;
  private readonly tolerance: number;
  refundUnusedTokens: boolean;
  private readonly backfill: boolean;

  constructor(options: LimiterOptions = {}) {
    this.w60 = MINUTE_MS + (options.minuteWindowPadMs ?? 0);
    this.w1 = SECOND_MS + (options.secondWindowPadMs ?? 0);
    this.tolerance = options.pacingToleranceMs ?? 0;
    this.refundUnusedTokens = options.refundUnusedTokens ?? true;
    this.backfill = options.backfill ?? true;
  }

  /** Create or update a key's limits. Lowering limits never drops what is already admitted. */
  setLimits(key: string, limits: KeyLimits): void {
    if (!(limits.rpm > 0) || !(limits.tpm > 0)) {
      throw new RangeError(`limits for ${key} must be positive (rpm ${limits.rpm}, tpm ${limits.tpm})`);
    }
    const state = this.keys.get(key);
    if (state) state.limits = { rpm: limits.rpm, tpm: limits.tpm };
    else this.keys.set(key, new KeyState(key, limits, this.w60, this.w1));
  }

  hasKey(key: string): boolean {
    return this.keys.has(key);
  }

  keyNames(): string[] {
    return [...this.keys.keys()];
  }

  limitsOf(key: string): KeyLimits | undefined {
    const s = this.keys.get(key);
    return s ? { ...s.limits } : undefined;
  }

  /** Scale a key's per-second pacing (burst back-off): 1 = the full rate. */
  setRateFactor(key: string, factor: number): void {
    this.state(key).rateFactor = Math.min(1, Math.max(0.01, factor));
  }

  rateFactorOf(key: string): number {
    return this.state(key).rateFactor;
  }

  /** Admit nothing on `key` before `until` (after a provider 429 said our picture was wrong). */
  hold(key: string, until: number): void {
    const s = this.state(key);
    s.heldUntil = Math.max(s.heldUntil, until);
  }

  private state(key: string): KeyState {
    const s = this.keys.get(key);
    if (!s) throw new Error(`unknown limiter key '${key}': call setLimits first`);
    return s;
  }

  /**
   * Admit now if nobody waits on these keys (or `front`: a retry that may go before them)
   * and the cost fits on all of them; otherwise say the earliest time it might (Infinity: the cost can never fit).
   */
  reserve(
    keys: readonly string[],
    cost: number,
    now: number,
    place: QueuePlace = {},
  ): { ok: true; reservation: Reservation } | { ok: false; at: number } {
    const states = keys.map((k) => this.state(k));
    const lane = place.lane ?? 'interactive';
    let at = now;
    let queued = false;
    for (const s of states) {
      s.advance(now);
      at = Math.max(at, s.fitTime(cost, now, this.tolerance));
      if (!place.front && (lane === 'interactive' ? s.waitingInteractive : s.waiting) > 0) queued = true;
    }
    if (at <= now && !queued) return { ok: true, reservation: this.admit(states, cost, now) };
    return { ok: false, at: queued ? this.estimateStart(keys, cost, now, lane) : at };
  }

  /**
   * Re-charge admissions another limiter made (a gateway taking over after a crash).
   * Call before any live admission; entries must be oldest first. Unknown keys are skipped.
   */
  replay(entries: readonly { at: number; tokens: number; keys: readonly string[] }[]): number {
    let replayed = 0;
    for (const e of entries) {
      const states = e.keys.map((k) => this.keys.get(k)).filter((s): s is KeyState => s !== undefined);
      for (const s of states) s.push(e.at, e.tokens);
      if (states.length > 0) replayed++;
    }
    return replayed;
  }

  /**
   * Join the queue of every key. Poll to be admitted. An interactive ticket goes before every
   * waiting background one; `front` puts it before everyone: for a retry of a request that was
   * already admitted once, so that a refusal the caller never sees does not also send it to
   * the back of the line.
   */
  enqueue(keys: readonly string[], cost: number, now: number, place: QueuePlace = {}): Ticket {
    const keyStates = keys.map((k) => this.state(k));
    const lane = place.lane ?? 'interactive';
    const ticket: Ticket = {
      id: this.nextTicketId++,
      keys: [...keys],
      cost,
      enqueuedAt: now,
      lane,
      state: 'waiting',
      keyStates,
    };
    for (const s of keyStates) {
      if (s.waiting++ === 0) this.keysWithWaiters++;
      if (lane === 'interactive') s.waitingInteractive++;
    }
    if (place.front) {
      if (this.queueHead > 0) this.queue[--this.queueHead] = ticket;
      else this.queue.unshift(ticket);
    } else if (lane === 'background') this.queue.push(ticket);
    else {
      let i = this.queueHead;
      while (i < this.queue.length && !(this.queue[i]!.state === 'waiting' && this.queue[i]!.lane === 'background'))
        i++;
      this.queue.splice(i, 0, ticket);
    }
    return ticket;
  }

  /** Set a key's 1 s window pad (ms): widened when requests reach the provider later than planned. */
  setSecondPad(key: string, padMs: number, now: number): void {
    this.state(key).setSecondWindow(SECOND_MS + Math.max(0, padMs), now);
  }

  secondPadOf(key: string): number {
    return this.state(key).secondWindowMs - SECOND_MS;
  }

  /**
   * Admit every waiting ticket that fits at `now`: heads in FIFO order per key, then later
   * waiters that fit without delaying a head (backfilling).
   */
  poll(now: number): PollResult {
    const admitted: Ticket[] = [];
    const impossible: Ticket[] = [];
    let nextWakeAt = Infinity;
    /** key → the head waiting for it and that head's earliest start */
    const heads = new Map<KeyState, { ticket: Ticket; at: number }>();
    let scanned = 0;
    for (let i = this.queueHead; i < this.queue.length; i++) {
      const t = this.queue[i]!;
      if (t.state !== 'waiting') continue;
      if (heads.size > 0 && t.keyStates.some((s) => heads.has(s))) {
        if (!this.backfill) {
          if (heads.size >= this.keysWithWaiters) break;
          continue;
        }
        if (++scanned > BACKFILL_SCAN_LIMIT) break;
        const fit = this.tryBackfill(t, heads, now);
        if (fit === 'admitted') admitted.push(t);
        else nextWakeAt = Math.min(nextWakeAt, fit);
        continue;
      }
      const head = this.headFit(t, now);
      if (head.at === Infinity) {
        this.leaveQueue(t, 'impossible');
        impossible.push(t);
      } else if (head.at <= now) {
        this.leaveQueue(t, 'admitted');
        t.reservation = this.admit(t.keyStates, t.cost, now);
        admitted.push(t);
      } else {
        nextWakeAt = Math.min(nextWakeAt, head.firstFree);
        // The start backfilling keeps for this head: its earliest start the first time it was
        // found waiting, plus one pacing slot (a backfilled request takes one slot before it).
        t.promisedAt ??= head.at + Math.max(...t.keyStates.map((s) => s.spacingMs));
        // Block only the keys it waits for: a request held by its workspace's limit does
        // not hold up other workspaces on the shared account key (no head-of-line blocking).
        const entry = { ticket: t, at: Math.max(head.at, t.promisedAt) };
        for (const s of head.waitingOn) heads.set(s, entry);
      }
    }
    this.compactQueue();
    return { admitted, impossible, nextWakeAt };
  }

  /** A head's earliest start, the keys it waits for, and the first moment one of them frees. */
  private headFit(t: Ticket, now: number): { at: number; firstFree: number; waitingOn: KeyState[] } {
    let at = now;
    let firstFree = Infinity;
    const waitingOn: KeyState[] = [];
    for (const s of t.keyStates) {
      s.advance(now);
      const fit = s.fitTime(t.cost, now, this.tolerance);
      if (fit > now) {
        waitingOn.push(s);
        firstFree = Math.min(firstFree, fit);
      }
      at = Math.max(at, fit);
    }
    return { at, firstFree, waitingOn };
  }

  /**
   * Admit `t` ahead of the heads on its keys if it fits now and, once counted, every one of
   * those heads still fits at its earliest start. Otherwise leave everything as it was and
   * return when `t` alone would fit (a moment worth waking up for).
   */
  private tryBackfill(
    t: Ticket,
    heads: Map<KeyState, { ticket: Ticket; at: number }>,
    now: number,
  ): 'admitted' | number {
    let fit = now;
    for (const s of t.keyStates) {
      s.advance(now);
      fit = Math.max(fit, s.fitTime(t.cost, now, this.tolerance));
    }
    if (fit > now) return fit;
    const undo = t.keyStates.map((s) => s.nextSlotAt);
    const slots = t.keyStates.map((key) => ({ key, seq: key.push(now, t.cost) }));
    for (const s of t.keyStates) {
      const head = heads.get(s);
      if (head && head.ticket.keyStates.some((k) => k.fitTime(head.ticket.cost, now, this.tolerance) > head.at)) {
        for (let i = t.keyStates.length - 1; i >= 0; i--) t.keyStates[i]!.unpush(undo[i]!);
        return Infinity;
      }
    }
    this.leaveQueue(t, 'admitted');
    t.reservation = { tokens: t.cost, admittedAt: now, slots, settled: false };
    return 'admitted';
  }

  /** Give up a place in the queue, or release an admitted reservation that never ran. */
  cancel(ticket: Ticket): void {
    if (ticket.state === 'waiting') this.leaveQueue(ticket, 'cancelled');
    else if (ticket.state === 'admitted' && ticket.reservation && !ticket.reservation.settled)
      this.settle(ticket.reservation, 0);
    this.compactQueue();
  }

  /**
   * The request left for the provider at `sentAt` (later than its admission when the machine
   * is busy): count it in the windows from then, so the next request a window later is not
   * admitted before this one's window has really passed at the provider.
   */
  retime(reservation: Reservation, sentAt: number): void {
    if (sentAt <= reservation.admittedAt) return;
    for (const { key, seq } of reservation.slots) key.retime(seq, sentAt);
  }

  /**
   * Charge the actual token usage. Unused reservation comes back only when refunds are on;
   * usage above the reservation is always charged, so a bad estimate slows what follows.
   */
  settle(reservation: Reservation, actualTokens: number): void {
    if (reservation.settled) return;
    reservation.settled = true;
    let delta = actualTokens - reservation.tokens;
    if (delta < 0 && !this.refundUnusedTokens) delta = 0;
    if (delta === 0) return;
    for (const { key, seq } of reservation.slots) key.adjust(seq, delta);
  }

  private admit(states: KeyState[], cost: number, now: number): Reservation {
    const slots = states.map((key) => ({ key, seq: key.push(now, cost) }));
    return { tokens: cost, admittedAt: now, slots, settled: false };
  }

  private leaveQueue(t: Ticket, state: TicketState): void {
    t.state = state;
    for (const s of t.keyStates) {
      if (--s.waiting === 0) this.keysWithWaiters--;
      if (t.lane === 'interactive') s.waitingInteractive--;
    }
  }

  private compactQueue(): void {
    while (this.queueHead < this.queue.length && this.queue[this.queueHead]!.state !== 'waiting') this.queueHead++;
    if (this.queueHead > 1024 && this.queueHead > this.queue.length / 2) {
      this.queue = this.queue.slice(this.queueHead);
      this.queueHead = 0;
    }
  }

  queueLength(key?: string): number {
    if (key === undefined) {
      let n = 0;
      for (let i = this.queueHead; i < this.queue.length; i++) if (this.queue[i]!.state === 'waiting') n++;
      return n;
    }
    return this.keys.get(key)?.waiting ?? 0;
  }

  /**
   * Estimated start time of a new request of `cost` on `keys`, behind everyone already
   * waiting on them. Used to choose a fallback and to fill `retry-after`.
   */
  estimateStart(keys: readonly string[], cost: number, now: number, lane: Lane = 'interactive'): number {
    let at = now;
    for (const k of keys) {
      const s = this.state(k);
      s.advance(now);
      let aheadCount = 0;
      let aheadTokens = 0;
      if (s.waiting > 0) {
        for (let i = this.queueHead; i < this.queue.length; i++) {
          const t = this.queue[i]!;
          // an interactive request waits only behind interactive ones
          if (t.state === 'waiting' && t.keyStates.includes(s) && (lane === 'background' || t.lane === 'interactive')) {
            aheadCount++;
            aheadTokens += t.cost;
          }
        }
      }
      at = Math.max(at, s.estimateStart(aheadCount, aheadTokens, cost, now, this.tolerance));
    }
    return at;
  }

  /**
   * Why the first request waiting on `key` waits: how many wait there, how long the first has,
   * when it may go, which rule binds, and on which of its keys (its workspace's, say).
   */
  waitOf(key: string, now: number): WaitInfo | undefined {
    const s = this.state(key);
    if (s.waiting === 0) return undefined;
    let head: Ticket | undefined;
    for (let i = this.queueHead; i < this.queue.length && !head; i++) {
      const t = this.queue[i]!;
      if (t.state === 'waiting' && t.keyStates.includes(s)) head = t;
    }
    if (!head) return undefined;
    let at = now;
    let binds: WaitReason = 'none';
    let onKey = key;
    for (const k of head.keyStates) {
      k.advance(now);
      const why = { binds: 'none' as WaitReason };
      const fit = k.fitTime(head.cost, now, this.tolerance, why);
      if (fit > at) [at, binds, onKey] = [fit, why.binds, k.name];
    }
    return {
      waiting: s.waiting,
      oldestMs: now - head.enqueuedAt,
      nextInMs: at === Infinity ? Infinity : Math.max(0, at - now),
      binds,
      onKey,
      cost: head.cost,
    };
  }

  /** What a key's 60 s and 1 s windows hold now (cheaper than usage: no time to fit). */
  windows(key: string, now: number): { minute: WindowUsage; second: WindowUsage } {
    return this.state(key).windows(now);
  }

  /** Used / remaining / time-to-fit for a key, per 1 s and 60 s window. */
  usage(key: string, now: number, cost = 1): KeyUsage {
    const s = this.state(key);
    return { key, queueLength: s.waiting, ...s.usage(now, cost, this.tolerance) };
  }
}
