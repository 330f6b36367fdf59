/**
 * Real timers around the pure limiter: a request waits here, in FIFO order, until the
 * limiter admits it, its deadline passes, or its caller goes away.
 */
import { errorMessage } from '../core/values';
import { Limiter, type QueuePlace, type Reservation, type Ticket } from '../core/limiter';

/** 'again': a second stage (the team store) went away; decide afresh (keys may have changed). */
export type AdmissionFailure = 'timeout' | 'cancelled' | 'impossible' | 'again';

/**
 * A second stage after the local limiter (team mode, src/gateway/team/gate.ts): a request the
 * local limiter admitted must be admitted there too before it goes.
 */
export interface SecondStage {
  acquire(
    keys: readonly string[],
    cost: number,
    deadline: number,
    signal?: AbortSignal,
    front?: boolean,
  ): Promise<object>;
  settle(handle: object, tokens: number): void;
  /** The request left at `sentAt` (later than its admission). */
  retime(handle: object, sentAt: number): void;
  /** Which of a request's keys the stage decides on (the others are local only). */
  keysFor(keys: readonly string[]): readonly string[];
}

export class AdmissionError extends Error {
  constructor(
    readonly reason: AdmissionFailure,
    message: string,
  ) {
    super(message);
  }
}

interface Waiter {
  resolve: (r: Reservation) => void;
  reject: (e: AdmissionError) => void;
  deadlineTimer?: NodeJS.Timeout;
  onAbort?: () => void;
  signal?: AbortSignal;
}

interface LocalAsk {
  keys: readonly string[];
  cost: number;
  deadline: number;
  signal: AbortSignal | undefined;
  place: QueuePlace;
}

export class Scheduler {
  private readonly waiters = new Map<Ticket, Waiter>();
  private wakeTimer: NodeJS.Timeout | undefined;
  private wakeAt = Infinity;
  /** Set while the gateway belongs to a team whose store answers. */
  secondStage: SecondStage | undefined;
  private readonly handles = new WeakMap<Reservation, { stage: SecondStage; handle: object }>();

  constructor(
    readonly limiter: Limiter,
    readonly now: () => number = Date.now,
  ) {}

  /**
   * Wait for admission on all `keys`; rejects with AdmissionError past `deadline` or on abort.
   * `place`: its lane, or the front (a retry, before the requests already waiting).
   */
  async admit(
    keys: readonly string[],
    cost: number,
    deadline: number,
    signal?: AbortSignal,
    place: QueuePlace = {},
  ): Promise<Reservation> {
    const reservation = await this.admitLocally({ keys, cost, deadline, signal, place });
    const stage = this.secondStage;
    if (!stage) return reservation;
    try {
      const handle = await stage.acquire(stage.keysFor(keys), cost, deadline, signal, place.front);
      this.handles.set(reservation, { stage, handle });
      return reservation;
    } catch (e) {
      this.limiter.settle(reservation, 0);
      this.pump();
      if (e instanceof AdmissionError) throw e;
      throw new AdmissionError('again', errorMessage(e));
    }
  }

  /** Settle a reservation with the tokens really used, in every stage, and let the queue move. */
  settle(reservation: Reservation, tokens: number): void {
    this.limiter.settle(reservation, tokens);
    const second = this.handles.get(reservation);
    if (second) {
      this.handles.delete(reservation);
      second.stage.settle(second.handle, tokens);
    }
    this.pump();
  }

  /** The request left at `sentAt`: count it from then in every stage. */
  retime(reservation: Reservation, sentAt: number): void {
    this.limiter.retime(reservation, sentAt);
    const second = this.handles.get(reservation);
    if (second) second.stage.retime(second.handle, sentAt);
  }

  /** The first stage: the local limiter's queue (lanes, backfilling), until admitted or the deadline. */
  private admitLocally(ask: LocalAsk): Promise<Reservation> {
    const { keys, cost, deadline, signal, place } = ask;
    if (signal?.aborted) return Promise.reject(new AdmissionError('cancelled', 'the caller went away'));
    const now = this.now();
    const fast = this.limiter.reserve(keys, cost, now, place);
    if (fast.ok) return Promise.resolve(fast.reservation);
    if (fast.at === Infinity)
      return Promise.reject(new AdmissionError('impossible', `a request of ${cost} tokens can never fit these limits`));
    return new Promise<Reservation>((resolve, reject) => {
      const ticket = this.limiter.enqueue(keys, cost, now, place);
      const waiter: Waiter = { resolve, reject };
      if (signal) {
        waiter.signal = signal;
        waiter.onAbort = () => this.drop(ticket, new AdmissionError('cancelled', 'the caller went away'));
        signal.addEventListener('abort', waiter.onAbort, { once: true });
      }
      if (deadline !== Infinity) {
        waiter.deadlineTimer = setTimeout(
          () => this.drop(ticket, new AdmissionError('timeout', 'the wait would exceed the maximum queue time')),
          Math.max(0, deadline - now),
        );
      }
      this.waiters.set(ticket, waiter);
      this.pump();
    });
  }

  private drop(ticket: Ticket, error: AdmissionError): void {
    const waiter = this.waiters.get(ticket);
    if (!waiter) return;
    this.limiter.cancel(ticket);
    this.finish(ticket, waiter);
    waiter.reject(error);
    this.pump();
  }

  private finish(ticket: Ticket, waiter: Waiter): void {
    this.waiters.delete(ticket);
    if (waiter.deadlineTimer) clearTimeout(waiter.deadlineTimer);
    if (waiter.onAbort) waiter.signal?.removeEventListener('abort', waiter.onAbort);
  }

  /** Admit what fits now and sleep until the next moment something might. */
  pump(): void {
    const now = this.now();
    const result = this.limiter.poll(now);
    for (const ticket of result.admitted) {
      const waiter = this.waiters.get(ticket);
      if (!waiter) {
        // admitted after its caller left between poll and here: give the place back
        if (ticket.reservation) this.limiter.settle(ticket.reservation, 0);
        continue;
      }
      this.finish(ticket, waiter);
      waiter.resolve(ticket.reservation!);
    }
    for (const ticket of result.impossible) {
      const waiter = this.waiters.get(ticket);
      if (!waiter) continue;
      this.finish(ticket, waiter);
      waiter.reject(
        new AdmissionError('impossible', `a request of ${ticket.cost} tokens can never fit the current limits`),
      );
    }
    this.schedule(result.nextWakeAt, now);
  }

  private schedule(at: number, now: number): void {
    if (at === this.wakeAt && this.wakeTimer) return;
    if (this.wakeTimer) clearTimeout(this.wakeTimer);
    this.wakeTimer = undefined;
    this.wakeAt = at;
    if (at === Infinity) return;
    this.wakeTimer = setTimeout(
      () => {
        this.wakeTimer = undefined;
        this.wakeAt = Infinity;
        this.pump();
      },
      Math.max(0, Math.ceil(at - now)),
    );
  }

  get waiting(): number {
    return this.waiters.size;
  }

  stop(): void {
    if (this.wakeTimer) clearTimeout(this.wakeTimer);
    this.wakeTimer = undefined;
    this.rejectAll(new AdmissionError('cancelled', 'the gateway is shutting down'));
  }

  /**
   * Every waiter leaves with AdmissionError('again'): the keys it waits on changed (team mode
   * went to or left its share), and the proxy queues it again, in the same order, with its deadline.
   */
  requeueAll(reason: string): void {
    this.rejectAll(new AdmissionError('again', reason));
    this.pump();
  }

  private rejectAll(error: AdmissionError): void {
    for (const [ticket, waiter] of [...this.waiters]) {
      this.limiter.cancel(ticket);
      this.finish(ticket, waiter);
      waiter.reject(error);
    }
  }
}
