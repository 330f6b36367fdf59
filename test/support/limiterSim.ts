/** Drives the limiter through a virtual clock: arrivals, cancels, settles, wake-ups. */
import { Limiter, type Ticket } from '../../src/core/limiter';

export interface Arrival {
  at: number;
  keys: string[];
  cost: number;
  /** Cancel while waiting at this time (if still waiting). */
  cancelAt?: number;
  /** Actual tokens as a fraction of the charge, settled `settleAfter` ms after admission. */
  actualRatio?: number;
  settleAfter?: number;
}

export interface SimResult {
  tickets: { arrival: Arrival; ticket: Ticket; admittedAt?: number; finalTokens?: number }[];
  /** per key: admissions in order */
  perKey: Map<string, { at: number; ticketIndex: number }[]>;
  endAt: number;
}

export function simulate(limiter: Limiter, arrivals: Arrival[], until = Infinity): SimResult {
  const sorted = arrivals.map((a, i) => ({ a, i })).sort((x, y) => x.a.at - y.a.at || x.i - y.i);
  const tickets: SimResult['tickets'] = [];
  const perKey = new Map<string, { at: number; ticketIndex: number }[]>();
  const settles: { at: number; idx: number }[] = [];
  const cancels: { at: number; idx: number }[] = [];
  const indexOf = new Map<Ticket, number>();
  let next = 0;
  let wake = Infinity;
  let now = 0;
  for (let guard = 0; guard < 10_000_000; guard++) {
    const candidates = [
      next < sorted.length ? sorted[next]!.a.at : Infinity,
      wake,
      settles.length ? Math.min(...settles.map((s) => s.at)) : Infinity,
      cancels.length ? Math.min(...cancels.map((s) => s.at)) : Infinity,
    ];
    const t = Math.min(...candidates);
    if (t === Infinity || t > until) break;
    now = Math.max(now, t);
    while (next < sorted.length && sorted[next]!.a.at <= now) {
      const a = sorted[next++]!.a;
      const ticket = limiter.enqueue(a.keys, a.cost, now);
      tickets.push({ arrival: a, ticket });
      indexOf.set(ticket, tickets.length - 1);
      if (a.cancelAt !== undefined) cancels.push({ at: Math.max(now, a.cancelAt), idx: tickets.length - 1 });
    }
    for (let i = cancels.length - 1; i >= 0; i--) {
      if (cancels[i]!.at <= now) {
        const entry = tickets[cancels[i]!.idx]!;
        if (entry.ticket.state === 'waiting') limiter.cancel(entry.ticket);
        cancels.splice(i, 1);
      }
    }
    for (let i = settles.length - 1; i >= 0; i--) {
      if (settles[i]!.at <= now) {
        const entry = tickets[settles[i]!.idx]!;
        const actual = Math.round(entry.ticket.cost * (entry.arrival.actualRatio ?? 1));
        limiter.settle(entry.ticket.reservation!, actual);
        entry.finalTokens = limiter.refundUnusedTokens ? actual : Math.max(actual, entry.ticket.cost);
        settles.splice(i, 1);
      }
    }
    const r = limiter.poll(now);
    for (const t of r.admitted) {
      const idx = indexOf.get(t)!;
      const entry = tickets[idx]!;
      entry.admittedAt = now;
      entry.finalTokens = t.cost;
      for (const k of t.keys) {
        if (!perKey.has(k)) perKey.set(k, []);
        perKey.get(k)!.push({ at: now, ticketIndex: idx });
      }
      if (entry.arrival.actualRatio !== undefined) settles.push({ at: now + (entry.arrival.settleAfter ?? 0), idx });
    }
    wake = r.nextWakeAt;
  }
  return { tickets, perKey, endAt: now };
}
