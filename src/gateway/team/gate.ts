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
  /** When the admitting call was sent: Redis admitted it no earlier (this machine's clock). */
  readonly askedAt: number;
}

/** Later than this after the admitting call, a request's send moves its entry (ms). */
const RETIME_AFTER_MS = 2;

interface Pending {
  keys: readonly string[];
  cost: number;
  deadline: number;
  front: boolean;
  ticket: string;
  done: boolean;
  registered: boolean;
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

export class TeamGate {
  private readonly queues = new Map<string, Pending[]>();
  private seq = 0;
  private readonly now: () => number;
  private readonly tuning: AdmitTuning;

  constructor(private readonly o: GateOptions) {
    this.now = o.now ?? Date.now;
    this.tuning = o.tuning ?? { toleranceMs: 1, leaseGraceMs: 1_000 };
  }

  /** Wait for the team's admission on `keys`; rejects with AdmissionError or TeamUnavailable. */
  acquire(
    keys: readonly string[],
    cost: number,
    deadline: number,
    signal?: AbortSignal,
    front = false,
  ): Promise<TeamAdmission> {
    const queueKey = keys.join('\n');
    return new Promise<TeamAdmission>((resolve, reject) => {
      const p: Pending = {
        keys,
        cost,
        deadline,
        front,
        ticket: `${this.o.nodeId}.${++this.seq}`,
        done: false,
        registered: false,
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
      let q = this.queues.get(queueKey);
      const idle = !q;
      if (!q) this.queues.set(queueKey, (q = []));
      if (front) q.unshift(p);
      else q.push(p);
      if (idle) void this.drain(queueKey, q);
      else if (front) q[1]?.wake?.();
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
    const late = sentAt - a.askedAt;
    if (late > RETIME_AFTER_MS) void this.o.store.retime(a.keys, a.member, late).catch(() => {});
  }

  /** The store is gone: every waiter goes back to the local limiter. */
  failAll(reason: string): void {
    for (const q of this.queues.values()) for (const p of q) this.end(p, new TeamUnavailable(reason));
  }

  get waiting(): number {
    let n = 0;
    for (const q of this.queues.values()) n += q.filter((p) => !p.done).length;
    return n;
  }

  private end(p: Pending, e: Error): void {
    if (p.done) return;
    p.done = true;
    if (p.timer) clearTimeout(p.timer);
    p.reject(e);
    p.wake?.();
  }

  private async drain(queueKey: string, q: Pending[]): Promise<void> {
    while (q.length > 0) {
      const p = q[0]!;
      if (p.done) {
        q.shift();
        if (p.registered) void this.o.store.release(p.keys, p.ticket).catch(() => {});
        continue;
      }
      let reply;
      const askedAt = this.now();
      try {
        reply = await this.o.store.admit(this.o.rulesOf(p.keys), p.ticket, p.cost, p.front, this.tuning);
      } catch (e) {
        this.queues.delete(queueKey);
        for (const w of q) this.end(w, new TeamUnavailable(String(e instanceof Error ? e.message : e)));
        this.o.onUnavailable(e);
        return;
      }
      if (reply.kind === 'ok') {
        // by identity: a retry may have been put in front of it meanwhile
        q.splice(q.indexOf(p), 1);
        const admission = { keys: p.keys, member: `${p.ticket}:${p.cost}`, ticket: p.ticket, askedAt };
        // The caller left while Redis answered: give the tokens back.
        if (p.done) this.settle(admission, 0);
        else {
          p.done = true;
          if (p.timer) clearTimeout(p.timer);
          p.resolve(admission);
        }
        continue;
      }
      if (reply.kind === 'never') {
        this.end(p, new AdmissionError('impossible', `a request of ${p.cost} tokens can never fit the team's limits`));
        continue;
      }
      p.registered = true;
      const waitMs = reply.at - reply.now;
      if (this.now() + waitMs > p.deadline) {
        this.end(p, new AdmissionError('timeout', 'the wait for the team would exceed the maximum queue time'));
        continue;
      }
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, Math.max(0, Math.ceil(waitMs)));
        p.wake = () => {
          clearTimeout(timer);
          resolve();
        };
      });
      p.wake = undefined;
    }
    if (this.queues.get(queueKey) === q) this.queues.delete(queueKey);
  }
}
