/**
 * The sliding-window limiter (docs/ARCHITECTURE.md, "The limiter contract"). Pure: every method takes the
 * time as a parameter, so tests drive it with a virtual clock and the gateway with Date.now().
 *
 * Each key (account×model, workspace×model) keeps a log of admissions; the 60 s and 1 s
 * windows are two suffixes of that log with running sums, so an admission is O(1) amortised.
 * A request is admitted on all of its keys or on none, in FIFO order per key, and paced:
 * a waiter blocks, for those behind it, only the keys it is waiting for (see poll).
 * consecutive admissions on a key are at least 60 s / RPM apart (no bursts within a second).
 */

export interface KeyLimits {
  rpm: number;
  tpm: number;
}

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
}

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
  state: TicketState;
  reservation?: Reservation;
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

export interface WindowUsage {
  requests: number;
  tokens: number;
  requestLimit: number;
  tokenLimit: number;
}

export interface KeyUsage {
  key: string;
  limits: KeyLimits;
  rateFactor: number;
  heldUntil: number;
  minute: WindowUsage;
  second: WindowUsage;
  queueLength: number;
  /** ms until a request of `cost` tokens would fit on this key alone (0 = now). */
  timeToFitMs: number;
}

/** Per-key state. Exported for the limiter's own use; treat as opaque. */
export class KeyState {
  limits: KeyLimits;
  rateFactor = 1;
  heldUntil = -Infinity;
  /** Theoretical time of the next paced slot (GCRA). */
  nextSlotAt = -Infinity;
  waiting = 0;

  private times = new Float64Array(64);
  private tokens = new Float64Array(64);
  /** seq of the entry at index 0 */
  private seqBase = 0;
  private head60 = 0;
  private head1 = 0;
  private tail = 0;
  private sum60 = 0;
  private sum1 = 0;

  constructor(
    readonly name: string,
    limits: KeyLimits,
    private readonly w60: number,
    private w1: number,
  ) {
    this.limits = { ...limits };
  }

  /** The 1 s window with its pad, in ms. */
  get secondWindowMs(): number {
    return this.w1;
  }

  /**
   * Change the 1 s window's length (its pad). The 1 s window is rebuilt from the 60 s log,
   * so a wider window at once counts the admissions it now covers.
   */
  setSecondWindow(w1: number, now: number): void {
    this.w1 = w1;
    this.head1 = this.head60;
    this.sum1 = 0;
    for (let i = this.head60; i < this.tail; i++) this.sum1 += this.tokens[i]!;
    this.advance(now);
  }

  get perSecondRequests(): number {
    return Math.max(1, Math.ceil((this.limits.rpm * this.rateFactor) / 60));
  }

  get perSecondTokens(): number {
    return Math.max(1, Math.ceil((this.limits.tpm * this.rateFactor) / 60));
  }

  get spacingMs(): number {
    return this.w60 / (this.limits.rpm * this.rateFactor);
  }

  /** Drop entries that left the windows at `now`. */
  advance(now: number): void {
    // An entry leaves at exactly `at + w`: the same sum fitTime returns, so no float drift.
    const times = this.times;
    const w60 = this.w60;
    while (this.head60 < this.tail && times[this.head60]! + w60 <= now) this.sum60 -= this.tokens[this.head60++]!;
    // The 1 s window is always a suffix of the 60 s one, so head1 ≥ head60.
    if (this.head1 < this.head60) this.head1 = this.head60;
    const w1 = this.w1;
    while (this.head1 < this.tail && times[this.head1]! + w1 <= now) this.sum1 -= this.tokens[this.head1++]!;
  }

  /** Earliest time ≥ now at which `cost` fits on this key (Infinity: never). Call advance(now) first. */
  fitTime(cost: number, now: number, toleranceMs: number): number {
    const { rpm, tpm } = this.limits;
    if (cost > tpm) return Infinity;
    let t = Math.max(now, this.heldUntil, this.nextSlotAt - toleranceMs);
    // 60 s requests
    const count60 = this.tail - this.head60;
    if (count60 + 1 > rpm) t = Math.max(t, this.times[this.head60 + (count60 + 1 - rpm) - 1]! + this.w60);
    // 60 s tokens
    if (this.sum60 + cost > tpm) t = Math.max(t, this.leaveTime(this.head60, this.sum60 + cost - tpm, this.w60));
    // 1 s requests
    const rps = this.perSecondRequests;
    const count1 = this.tail - this.head1;
    if (count1 + 1 > rps) t = Math.max(t, this.times[this.head1 + (count1 + 1 - rps) - 1]! + this.w1);
    // 1 s tokens: a request larger than the per-second share may go alone
    const tps = this.perSecondTokens;
    if (this.sum1 > 0 && this.sum1 + cost > tps) {
      const excess = cost > tps ? this.sum1 : this.sum1 + cost - tps;
      t = Math.max(t, this.leaveTime(this.head1, excess, this.w1));
    }
    return t;
  }

  /** When enough of the oldest entries (from `from`) have left a window of `w` to free `excess` tokens. */
  private leaveTime(from: number, excess: number, w: number): number {
    let freed = 0;
    for (let i = from; i < this.tail; i++) {
      freed += this.tokens[i]!;
      if (freed >= excess) return this.times[i]! + w;
    }
    return this.tail > from ? this.times[this.tail - 1]! + w : -Infinity;
  }

  /** Append an admission; returns its sequence number. */
  push(now: number, cost: number): number {
    if (this.tail === this.times.length) this.makeRoom();
    this.times[this.tail] = now;
    this.tokens[this.tail] = cost;
    this.tail++;
    this.sum60 += cost;
    this.sum1 += cost;
    // A late admission (a timer that fired late) may take back up to one slot of the time it
    // lost, so lateness does not lower the rate; the 1 s window still caps any catch-up.
    const spacing = this.spacingMs;
    const lateBy = now - this.nextSlotAt;
    this.nextSlotAt = (lateBy >= 0 && lateBy < spacing ? this.nextSlotAt : Math.max(this.nextSlotAt, now)) + spacing;
    return this.seqBase + this.tail - 1;
  }

  /** Change the tokens charged to an admission still inside a window. */
  adjust(seq: number, delta: number): void {
    const i = seq - this.seqBase;
    if (i < this.head60 || i >= this.tail) return; // already outside every window
    this.tokens[i] = this.tokens[i]! + delta;
    this.sum60 += delta;
    if (i >= this.head1) this.sum1 += delta;
  }

  private makeRoom(): void {
    const live = this.tail - this.head60;
    if (this.head60 > 0 && live <= this.times.length / 2) {
      this.times.copyWithin(0, this.head60, this.tail);
      this.tokens.copyWithin(0, this.head60, this.tail);
    } else {
      const times = new Float64Array(this.times.length * 2);
      const tokens = new Float64Array(this.tokens.length * 2);
      times.set(this.times.subarray(this.head60, this.tail));
      tokens.set(this.tokens.subarray(this.head60, this.tail));
      this.times = times;
      this.tokens = tokens;
    }
    this.seqBase += this.head60;
    this.head1 -= this.head60;
    this.tail -= this.head60;
    this.head60 = 0;
  }

  usage(now: number, cost: number, toleranceMs: number): Omit<KeyUsage, 'key' | 'queueLength'> {
    this.advance(now);
    const fit = this.fitTime(cost, now, toleranceMs);
    return {
      limits: { ...this.limits },
      rateFactor: this.rateFactor,
      heldUntil: this.heldUntil,
      minute: { requests: this.tail - this.head60, tokens: this.sum60, requestLimit: this.limits.rpm, tokenLimit: this.limits.tpm },
      second: { requests: this.tail - this.head1, tokens: this.sum1, requestLimit: this.perSecondRequests, tokenLimit: this.perSecondTokens },
      timeToFitMs: fit === Infinity ? Infinity : Math.max(0, fit - now),
    };
  }

  /** Rough earliest start for a new request behind `aheadCount` requests worth `aheadTokens`. */
  estimateStart(aheadCount: number, aheadTokens: number, cost: number, now: number, toleranceMs: number): number {
    if (cost > this.limits.tpm) return Infinity;
    const start = this.fitTime(cost, now, toleranceMs);
    if (aheadCount === 0) return start;
    const byRequests = (aheadCount + 1) * this.spacingMs;
    const byTokens = ((aheadTokens + cost) / this.limits.tpm) * this.w60;
    return Math.max(start, now + Math.max(byRequests, byTokens) - this.spacingMs);
  }
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

  constructor(options: LimiterOptions = {}) {
    this.w60 = MINUTE_MS + (options.minuteWindowPadMs ?? 0);
    this.w1 = SECOND_MS + (options.secondWindowPadMs ?? 0);
    this.tolerance = options.pacingToleranceMs ?? 0;
    this.refundUnusedTokens = options.refundUnusedTokens ?? true;
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
  reserve(keys: readonly string[], cost: number, now: number, front = false): { ok: true; reservation: Reservation } | { ok: false; at: number } {
    const states = keys.map((k) => this.state(k));
    let at = now;
    let queued = false;
    for (const s of states) {
      s.advance(now);
      at = Math.max(at, s.fitTime(cost, now, this.tolerance));
      if (s.waiting > 0 && !front) queued = true;
    }
    if (at <= now && !queued) return { ok: true, reservation: this.admit(states, cost, now) };
    return { ok: false, at: queued ? this.estimateStart(keys, cost, now) : at };
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
   * Join the FIFO queue of every key. Poll to be admitted. `front` puts the ticket before
   * everyone waiting: for a retry of a request that was already admitted once, so that a
   * refusal the caller never sees does not also send it to the back of the line.
   */
  enqueue(keys: readonly string[], cost: number, now: number, front = false): Ticket {
    const keyStates = keys.map((k) => this.state(k));
    const ticket: Ticket = { id: this.nextTicketId++, keys: [...keys], cost, enqueuedAt: now, state: 'waiting', keyStates };
    for (const s of keyStates) if (s.waiting++ === 0) this.keysWithWaiters++;
    if (!front) this.queue.push(ticket);
    else if (this.queueHead > 0) this.queue[--this.queueHead] = ticket;
    else this.queue.unshift(ticket);
    return ticket;
  }

  /** Set a key's 1 s window pad (ms): widened when requests reach the provider later than planned. */
  setSecondPad(key: string, padMs: number, now: number): void {
    this.state(key).setSecondWindow(SECOND_MS + Math.max(0, padMs), now);
  }

  secondPadOf(key: string): number {
    return this.state(key).secondWindowMs - SECOND_MS;
  }

  /** Admit every waiting ticket that fits at `now`, in FIFO order per key. */
  poll(now: number): PollResult {
    const admitted: Ticket[] = [];
    const impossible: Ticket[] = [];
    let nextWakeAt = Infinity;
    const blocked = new Set<KeyState>();
    const waitingOn: KeyState[] = [];
    for (let i = this.queueHead; i < this.queue.length && blocked.size < this.keysWithWaiters; i++) {
      const t = this.queue[i]!;
      if (t.state !== 'waiting') continue;
      if (t.keyStates.some((s) => blocked.has(s))) continue;
      let at = now;
      // The earliest moment one of the keys it waits for frees: others behind it may go then.
      let firstFree = Infinity;
      for (const s of t.keyStates) {
        s.advance(now);
        const fit = s.fitTime(t.cost, now, this.tolerance);
        if (fit > now) {
          waitingOn.push(s);
          firstFree = Math.min(firstFree, fit);
        }
        at = Math.max(at, fit);
      }
      if (at === Infinity) {
        this.leaveQueue(t, 'impossible');
        impossible.push(t);
      } else if (at <= now) {
        this.leaveQueue(t, 'admitted');
        t.reservation = this.admit(t.keyStates, t.cost, now);
        admitted.push(t);
      } else {
        nextWakeAt = Math.min(nextWakeAt, firstFree);
        // Block only the keys it waits for: a request held by its workspace's limit does
        // not hold up other workspaces on the shared account key (no head-of-line blocking).
        for (const s of waitingOn) blocked.add(s);
      }
      waitingOn.length = 0;
    }
    this.compactQueue();
    return { admitted, impossible, nextWakeAt };
  }

  /** Give up a place in the queue, or release an admitted reservation that never ran. */
  cancel(ticket: Ticket, now: number): void {
    if (ticket.state === 'waiting') this.leaveQueue(ticket, 'cancelled');
    else if (ticket.state === 'admitted' && ticket.reservation && !ticket.reservation.settled) this.settle(ticket.reservation, 0, now);
    this.compactQueue();
  }

  /**
   * Charge the actual token usage. Unused reservation comes back only when refunds are on;
   * usage above the reservation is always charged, so a bad estimate slows what follows.
   */
  settle(reservation: Reservation, actualTokens: number, _now: number): void {
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
    for (const s of t.keyStates) if (--s.waiting === 0) this.keysWithWaiters--;
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
  estimateStart(keys: readonly string[], cost: number, now: number): number {
    let at = now;
    for (const k of keys) {
      const s = this.state(k);
      s.advance(now);
      let aheadCount = 0;
      let aheadTokens = 0;
      if (s.waiting > 0) {
        for (let i = this.queueHead; i < this.queue.length; i++) {
          const t = this.queue[i]!;
          if (t.state === 'waiting' && t.keyStates.includes(s)) {
            aheadCount++;
            aheadTokens += t.cost;
          }
        }
      }
      at = Math.max(at, s.estimateStart(aheadCount, aheadTokens, cost, now, this.tolerance));
    }
    return at;
  }

  /** Used / remaining / time-to-fit for a key, per 1 s and 60 s window. */
  usage(key: string, now: number, cost = 1): KeyUsage {
    const s = this.state(key);
    return { key, queueLength: s.waiting, ...s.usage(now, cost, this.tolerance) };
  }
}
