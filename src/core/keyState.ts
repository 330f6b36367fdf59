/**
 * One limiter key's log of admissions (account×model or workspace×model): the 60 s and 1 s
 * windows are two suffixes of one log with running sums, so an admission is O(1) amortised.
 * Pure, like the rest of src/core: every method takes the time. The queue, the order and
 * all-keys-or-none live in limiter.ts.
 */

/** What keeps a request from going now: a hold after a 429, pacing, or one of the four windows. */
export type WaitReason = 'none' | 'hold' | 'pacing' | 'rpm' | 'tpm' | 'rps' | 'tps';

export interface KeyLimits {
  rpm: number;
  tpm: number;
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
  /** Of those, in the interactive lane. */
  waitingInteractive = 0;

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
  fitTime(cost: number, now: number, toleranceMs: number, why?: { binds: WaitReason }): number {
    const { rpm, tpm } = this.limits;
    if (cost > tpm) return Infinity;
    // Each rule names the time it allows; the latest one binds (and, when asked, says which).
    // Plain comparisons, no closure: this runs on every admission decision.
    let t = now;
    let binds: WaitReason = 'none';
    if (this.heldUntil > t) [t, binds] = [this.heldUntil, 'hold'];
    if (this.nextSlotAt - toleranceMs > t) [t, binds] = [this.nextSlotAt - toleranceMs, 'pacing'];
    // 60 s requests
    const count60 = this.tail - this.head60;
    if (count60 + 1 > rpm) {
      const at = this.times[this.head60 + (count60 + 1 - rpm) - 1]! + this.w60;
      if (at > t) [t, binds] = [at, 'rpm'];
    }
    // 60 s tokens
    if (this.sum60 + cost > tpm) {
      const at = this.leaveTime(this.head60, this.sum60 + cost - tpm, this.w60);
      if (at > t) [t, binds] = [at, 'tpm'];
    }
    // 1 s requests
    const rps = this.perSecondRequests;
    const count1 = this.tail - this.head1;
    if (count1 + 1 > rps) {
      const at = this.times[this.head1 + (count1 + 1 - rps) - 1]! + this.w1;
      if (at > t) [t, binds] = [at, 'rps'];
    }
    // 1 s tokens: a request larger than the per-second share may go alone
    const tps = this.perSecondTokens;
    if (this.sum1 > 0 && this.sum1 + cost > tps) {
      const at = this.leaveTime(this.head1, cost > tps ? this.sum1 : this.sum1 + cost - tps, this.w1);
      if (at > t) [t, binds] = [at, 'tps'];
    }
    if (why) why.binds = binds;
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

  /**
   * Move an admission later, to when it actually left for the provider: the provider counts
   * it from its arrival, so our windows should too. Admissions after it that the log has as
   * earlier are moved up to the same time, which keeps the log in time order and only ever
   * counts an entry longer (safe). Capping the move at the next admission instead had
   * counted a request that waited ~150 ms for its socket from the time of the one behind it,
   * and the provider then saw 11 requests in 872 ms.
   */
  retime(seq: number, at: number): void {
    const i = seq - this.seqBase;
    if (i < this.head60 || i >= this.tail || at <= this.times[i]!) return;
    for (let j = i; j < this.tail && this.times[j]! < at; j++) this.times[j] = at;
    // An entry that had already left the 1 s window may be back in it: count it again, and
    // the next advance() drops what is still out.
    while (this.head1 > i) this.sum1 += this.tokens[--this.head1]!;
  }

  /** Take back the last push (a tentative backfill that would delay a head). */
  unpush(previousNextSlotAt: number): void {
    this.tail--;
    const cost = this.tokens[this.tail]!;
    this.sum60 -= cost;
    this.sum1 -= cost;
    this.nextSlotAt = previousNextSlotAt;
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

  /** What the 60 s and 1 s windows hold at `now` against their limits. */
  windows(now: number): { minute: WindowUsage; second: WindowUsage } {
    this.advance(now);
    return {
      minute: {
        requests: this.tail - this.head60,
        tokens: this.sum60,
        requestLimit: this.limits.rpm,
        tokenLimit: this.limits.tpm,
      },
      second: {
        requests: this.tail - this.head1,
        tokens: this.sum1,
        requestLimit: this.perSecondRequests,
        tokenLimit: this.perSecondTokens,
      },
    };
  }

  usage(now: number, cost: number, toleranceMs: number): Omit<KeyUsage, 'key' | 'queueLength'> {
    const { minute, second } = this.windows(now);
    const fit = this.fitTime(cost, now, toleranceMs);
    return {
      limits: { ...this.limits },
      rateFactor: this.rateFactor,
      heldUntil: this.heldUntil,
      minute,
      second,
      timeToFitMs: fit === Infinity ? Infinity : Math.max(0, fit - now),
    };
  }

  /**
   * Rough earliest start for a new request behind `aheadCount` requests worth `aheadTokens`:
   * the first of them goes when a request fits (`start`), each next one a pacing slot later;
   * by tokens, the minute's rate must have carried everyone's tokens.
   */
  estimateStart(aheadCount: number, aheadTokens: number, cost: number, now: number, toleranceMs: number): number {
    if (cost > this.limits.tpm) return Infinity;
    const start = this.fitTime(cost, now, toleranceMs);
    if (aheadCount === 0) return start;
    const byRequests = start + aheadCount * this.spacingMs;
    const byTokens = now + ((aheadTokens + cost) / this.limits.tpm) * this.w60 - this.spacingMs;
    return Math.max(byRequests, byTokens);
  }
}
