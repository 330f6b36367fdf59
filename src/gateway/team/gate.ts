/**
 * The second stage of admission in team mode. A request the local limiter admitted waits
 * here until the team store admits it too (scripts.ts, ADMIT). Per set of keys only the
 * first request in line asks Redis; when Redis says "not before T" it sleeps until then, so
 * there is no polling storm, and its place is registered in Redis so that another machine's
 * later requests cannot overtake it. Anything the store cannot answer fails every waiter
 * with TeamUnavailable: team.ts then switches the gateway to its local share.
 */
import { AdmissionError } from '../scheduler';
import type { AdmitTuning, KeyRule, TeamStore } from './store';

export class TeamUnavailable extends Error {}

/** What the team store holds for one admission: settle it once with the real tokens. */
export interface TeamAdmission {
  readonly keys: readonly string[];
  readonly member: string;
  readonly ticket: string;
  /** When it was booked to go (this machine's clock; Redis counted it from then). */
  readonly goAt: number;
}

/** Later than this after its booked time, a request's send moves its entry (ms). */
const RETIME_AFTER_MS = 2;
/** A line asks this much before the time Redis named, and Redis books up to HORIZON_MS ahead. */
const LEAD_MS = 10;
const HORIZON_MS = 25;

interface Pending {
  keys: readonly string[];
  cost: number;
  deadline: number;
  front: boolean;
  ticket: string;
  done: boolean;
  resolve: (a: TeamAdmission) => void;
  reject: (e: Error) => void;
  wake?: () => void;
  timer?: NodeJS.Timeout;
}

export interface GateOptions {
  store: TeamStore;
  /** The limits each key is admitted under now (the local limiter's picture). */
  rulesOf: (keys: readonly string[]) => KeyRule[];
  nodeId: string;
  /** Called once per failure that made the gate give up (team.ts goes to the local share). */
  onUnavailable: (error: unknown) => void;
  /** After a settle: count the request in the team's per-minute counters. */
  onSettled?: (a: TeamAdmission, tokens: number) => void;
  tuning?: AdmitTuning;
  now?: () => number;
}

/** The requests of this machine waiting on one set of keys, and their place among the machines. */
interface Line {
  waiters: Pending[];
  place: string;
  registered: boolean;
}

export class TeamGate {
  private readonly lines = new Map<string, Line>();
  private seq = 0;
  private readonly now: () => number;
  private readonly tuning: AdmitTuning;

  constructor(private readonly o: GateOptions) {
    this.now = o.now ?? Date.now;
    this.tuning = o.tuning ?? { toleranceMs: 1, leaseGraceMs: 1_000, horizonMs: HORIZON_MS };
  }

  /** Wait for the team's admission on `keys`; rejects with AdmissionError or TeamUnavailable. */
  acquire(
    keys: readonly string[],
    cost: number,
    deadline: number,
    signal?: AbortSignal,
    front = false,
  ): Promise<TeamAdmission> {
    const lineKey = keys.join('\n');
    return new Promise<TeamAdmission>((resolve, reject) => {
      const p: Pending = {
        keys,
        cost,
        deadline,
        front,
        ticket: `${this.o.nodeId}.${++this.seq}`,
        done: false,
        resolve,
        reject,
      };
      const end = (e: AdmissionError) => this.end(p, e);
      if (signal) signal.addEventListener('abort', () => end(new AdmissionError('cancelled', 'the caller went away')));
      if (deadline !== Infinity)
        p.timer = setTimeout(
          () => end(new AdmissionError('timeout', 'the wait for the team would exceed the maximum queue time')),
          Math.max(0, deadline - this.now()),
        );
      let line = this.lines.get(lineKey);
      if (!line) {
        line = { waiters: [], place: `${this.o.nodeId}.l${++this.seq}`, registered: false };
        this.lines.set(lineKey, line);
        line.waiters.push(p);
        void this.drain(lineKey, line);
      } else if (front) {
        line.waiters.unshift(p);
        line.waiters[1]?.wake?.();
      } else line.waiters.push(p);
    });
  }

  /** Charge the admission its real tokens; a failure leaves the reservation in place (it ages out). */
  settle(a: TeamAdmission, tokens: number): void {
    const member = `${a.ticket}:${Math.max(0, Math.round(tokens))}`;
    if (member !== a.member) void this.o.store.settle(a.keys, a.member, member, Math.round(tokens)).catch(() => {});
    this.o.onSettled?.(a, tokens);
  }

  /**
   * The request left at `sentAt`: when that is well after Redis admitted it (a busy event loop,
   * a new connection), count it from then, so the provider never sees two of a window closer than we did.
   */
  retime(a: TeamAdmission, sentAt: number): void {
    const late = sentAt - a.goAt;
    if (late > RETIME_AFTER_MS) void this.o.store.retime(a.keys, a.member, late).catch(() => {});
  }

  /** The store is gone: every waiter goes back to the local limiter. */
  failAll(reason: string): void {
    for (const line of this.lines.values()) for (const p of line.waiters) this.end(p, new TeamUnavailable(reason));
  }

  get waiting(): number {
    let n = 0;
    for (const line of this.lines.values()) n += line.waiters.filter((p) => !p.done).length;
    return n;
  }

  /** Booked: let it go at its time (unless its caller left by then: then give the tokens back). */
  private hand(p: Pending, admission: TeamAdmission): void {
    if (p.timer) clearTimeout(p.timer);
    const give = () => {
      if (p.done) return this.settle(admission, 0);
      p.done = true;
      p.resolve(admission);
    };
    const delay = admission.goAt - this.now();
    if (delay <= 0) give();
    else setTimeout(give, delay);
  }

  /** A finished line leaves the map — unless a newer line for the same keys took its place meanwhile. */
  private forget(lineKey: string, line: Line): void {
    if (this.lines.get(lineKey) === line) this.lines.delete(lineKey);
  }

  private end(p: Pending, e: Error): void {
    if (p.done) return;
    p.done = true;
    if (p.timer) clearTimeout(p.timer);
    p.reject(e);
    p.wake?.();
  }

  /** Ask for the first waiter until the line is empty; sleep until the time Redis names in between. */
  private async drain(lineKey: string, line: Line): Promise<void> {
    const q = line.waiters;
    while (q.length > 0) {
      const p = q[0]!;
      if (p.done) {
        q.shift();
        continue;
      }
      const askedAt = this.now();
      let reply;
      try {
        const ask = { ticket: p.ticket, place: line.place, cost: p.cost, front: p.front };
        reply = await this.o.store.admit(this.o.rulesOf(p.keys), ask, this.tuning);
      } catch (e) {
        this.forget(lineKey, line);
        for (const w of q) this.end(w, new TeamUnavailable(String(e instanceof Error ? e.message : e)));
        this.o.onUnavailable(e);
        return;
      }
      if (reply.kind === 'ok') {
        line.registered = false;
        // by identity: a retry may have been put in front of it meanwhile
        q.splice(q.indexOf(p), 1);
        this.hand(p, {
          keys: p.keys,
          member: `${p.ticket}:${p.cost}`,
          ticket: p.ticket,
          goAt: askedAt + reply.at - reply.now,
        });
        continue;
      }
      if (reply.kind === 'never') {
        this.end(p, new AdmissionError('impossible', `a request of ${p.cost} tokens can never fit the team's limits`));
        continue;
      }
      line.registered = !p.front;
      const waitMs = reply.at - reply.now;
      if (this.now() + waitMs > p.deadline) {
        // This one cannot make it; the next in line keeps the line's place among the machines.
        this.end(p, new AdmissionError('timeout', 'the wait for the team would exceed the maximum queue time'));
        continue;
      }
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, Math.max(0, Math.ceil(waitMs - LEAD_MS)));
        p.wake = () => {
          clearTimeout(timer);
          resolve();
        };
      });
      p.wake = undefined;
    }
    this.forget(lineKey, line);
    if (line.registered) void this.o.store.release(lineKey.split('\n'), line.place).catch(() => {});
  }
}
