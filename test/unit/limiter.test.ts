import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { Limiter } from '../../src/core/limiter';
import { checkWindows } from '../support/limiterOracle';
import { simulate, type Arrival } from '../support/limiterSim';

const KEY_LIMITS: Record<string, { rpm: number; tpm: number }> = {
  'acct:m': { rpm: 120, tpm: 60_000 },
  'ws-a:m': { rpm: 60, tpm: 30_000 },
  'ws-b:m': { rpm: 90, tpm: 20_000 },
  'acct:n': { rpm: 30, tpm: 100_000 },
};
const KEY_SETS = [['acct:m', 'ws-a:m'], ['acct:m', 'ws-b:m'], ['acct:m'], ['acct:n'], ['acct:n', 'acct:m']];

function newLimiter(refund = true, backfill = true): Limiter {
  const l = new Limiter({ refundUnusedTokens: refund, backfill });
  for (const [k, v] of Object.entries(KEY_LIMITS)) l.setLimits(k, v);
  return l;
}

function finalAdmissions(result: ReturnType<typeof simulate>, key: string) {
  return (result.perKey.get(key) ?? []).map(({ at, ticketIndex }) => ({
    at,
    tokens: result.tickets[ticketIndex]!.finalTokens!,
  }));
}

const arrivalArb = fc.record({
  at: fc.integer({ min: 0, max: 120_000 }),
  keysIndex: fc.integer({ min: 0, max: KEY_SETS.length - 1 }),
  cost: fc.oneof(fc.integer({ min: 1, max: 400 }), fc.integer({ min: 400, max: 6_000 })),
  cancel: fc.option(fc.integer({ min: 0, max: 30_000 }), { nil: undefined }),
  actualRatio: fc.option(fc.double({ min: 0, max: 1, noNaN: true }), { nil: undefined }),
  settleAfter: fc.integer({ min: 0, max: 20_000 }),
});

describe('limiter contract (virtual clock, independent oracle)', () => {
  it('never lets a 1 s or 60 s window exceed a limit, on any key, for random traffic', () => {
    fc.assert(
      fc.property(fc.array(arrivalArb, { minLength: 1, maxLength: 250 }), fc.boolean(), (raw, refund) => {
        const arrivals: Arrival[] = raw.map((r) => ({
          at: r.at,
          keys: KEY_SETS[r.keysIndex]!,
          cost: r.cost,
          ...(r.cancel !== undefined ? { cancelAt: r.at + r.cancel } : {}),
          ...(r.actualRatio !== undefined ? { actualRatio: r.actualRatio, settleAfter: r.settleAfter } : {}),
        }));
        const result = simulate(newLimiter(refund), arrivals);
        for (const [key, limits] of Object.entries(KEY_LIMITS)) {
          const v = checkWindows(finalAdmissions(result, key), limits.rpm, limits.tpm);
          assert.deepEqual(v.slice(0, 3), [], `${key}: ${JSON.stringify(v.slice(0, 3))}`);
        }
        // nobody starves: every ticket not cancelled was admitted
        for (const e of result.tickets) {
          assert.ok(
            e.ticket.state === 'admitted' || e.ticket.state === 'cancelled',
            `ticket ${e.ticket.id} left ${e.ticket.state}`,
          );
        }
      }),
      { numRuns: 150 },
    );
  });

  it('without backfilling, admits in FIFO order: requests for the same keys never overtake each other', () => {
    fc.assert(
      fc.property(fc.array(arrivalArb, { minLength: 2, maxLength: 200 }), (raw) => {
        const arrivals: Arrival[] = raw.map((r) => ({ at: r.at, keys: KEY_SETS[r.keysIndex]!, cost: r.cost }));
        const result = simulate(newLimiter(true, false), arrivals);
        for (const list of result.perKey.values()) {
          const byKeySet = new Map<string, number[]>();
          for (const e of list) {
            const t = result.tickets[e.ticketIndex]!.ticket;
            const set = t.keys.join('+');
            if (!byKeySet.has(set)) byKeySet.set(set, []);
            byKeySet.get(set)!.push(t.id);
          }
          for (const ids of byKeySet.values())
            assert.deepEqual(
              ids,
              [...ids].sort((a, b) => a - b),
            );
        }
      }),
      { numRuns: 100 },
    );
  });

  it('puts interactive waiters before background ones on the same keys; a background wait counts only', () => {
    const l = new Limiter({ backfill: false });
    l.setLimits('k', { rpm: 60, tpm: 1_000_000 }); // one a second
    assert.ok(l.reserve(['k'], 1, 0).ok);
    const bg1 = l.enqueue(['k'], 1, 10, { lane: 'background' });
    const bg2 = l.enqueue(['k'], 1, 20, { lane: 'background' });
    assert.equal(
      l.estimateStart(['k'], 1, 30, 'interactive'),
      1_000,
      'an interactive request does not wait behind the batch',
    );
    assert.ok(l.estimateStart(['k'], 1, 30, 'background') >= 2_000, 'a background one waits behind both');
    const fast = l.reserve(['k'], 1, 1_000, { lane: 'interactive' });
    assert.ok(fast.ok, 'with only background waiters, an interactive request that fits goes at once');
    const it1 = l.enqueue(['k'], 1, 1_100, { lane: 'interactive' });
    assert.deepEqual(
      l.poll(2_000).admitted.map((t) => t.id),
      [it1.id],
    );
    assert.deepEqual(
      l.poll(3_000).admitted.map((t) => t.id),
      [bg1.id],
    );
    assert.deepEqual(
      l.poll(4_000).admitted.map((t) => t.id),
      [bg2.id],
    );
  });

  it('does not let a request waiting on its workspace limit hold up the shared account key', () => {
    const l = new Limiter();
    l.setLimits('acct', { rpm: 600, tpm: 1_000_000 });
    l.setLimits('ws-a', { rpm: 60, tpm: 1_000_000 });
    assert.ok(l.reserve(['acct', 'ws-a'], 10, 0).ok);
    const a = l.enqueue(['acct', 'ws-a'], 10, 100); // waits ~1 s for ws-a
    const b = l.enqueue(['acct'], 10, 100);
    const r = l.poll(100);
    assert.deepEqual(
      r.admitted.map((t) => t.id),
      [b.id],
    );
    assert.equal(a.state, 'waiting');
    assert.equal(l.poll(1_000).admitted[0]?.id, a.id, 'and the held request still gets its turn');
  });

  it('uses ≥ 99 % of the request limit under saturating demand', () => {
    const l = new Limiter();
    l.setLimits('k', { rpm: 600, tpm: 10_000_000 });
    const arrivals: Arrival[] = Array.from({ length: 4000 }, (_, i) => ({ at: i * 20, keys: ['k'], cost: 100 }));
    const result = simulate(l, arrivals, 300_000);
    const admitted = result.perKey.get('k')!.map((e) => e.at);
    for (let end = 120_000; end <= 300_000; end += 10_000) {
      const inWindow = admitted.filter((t) => t > end - 60_000 && t <= end).length;
      assert.ok(inWindow >= 0.99 * 600, `only ${inWindow} requests in the minute ending ${end}`);
      assert.ok(inWindow <= 600);
    }
  });

  it('uses ≥ 99 % of the token limit under saturating demand with mixed sizes', () => {
    const l = new Limiter();
    // Per-second packing can leave up to one request unused in each 1 s window: sizes here are ≤ 1 % of TPS.
    l.setLimits('k', { rpm: 100_000, tpm: 1_800_000 });
    const sizes = [50, 120, 300, 80, 10, 200];
    const arrivals: Arrival[] = Array.from({ length: 40_000 }, (_, i) => ({
      at: i * 2.5,
      keys: ['k'],
      cost: sizes[i % sizes.length]!,
    }));
    const result = simulate(l, arrivals, 100_000);
    const adm = finalAdmissions(result, 'k');
    assert.deepEqual(checkWindows(adm, 100_000, 1_800_000), []);
    for (let end = 70_000; end <= 100_000; end += 10_000) {
      const tokens = adm.filter((a) => a.at > end - 60_000 && a.at <= end).reduce((s, a) => s + a.tokens, 0);
      assert.ok(tokens >= 0.99 * 1_800_000, `only ${tokens} tokens in the minute ending ${end}`);
    }
  });

  it('paces requests evenly: consecutive admissions on a key are 60 s / RPM apart', () => {
    const l = new Limiter();
    l.setLimits('k', { rpm: 600, tpm: 1_000_000 });
    const arrivals: Arrival[] = Array.from({ length: 30 }, () => ({ at: 0, keys: ['k'], cost: 10 }));
    const times = simulate(l, arrivals)
      .perKey.get('k')!
      .map((e) => e.at);
    for (let i = 1; i < times.length; i++)
      assert.ok(Math.abs(times[i]! - times[i - 1]! - 100) < 1e-6, `gap ${times[i]! - times[i - 1]!}`);
  });

  it('admits on all keys or none, and a cancelled waiter frees its place', () => {
    const l = new Limiter();
    l.setLimits('acct', { rpm: 60, tpm: 1000 });
    l.setLimits('ws', { rpm: 60, tpm: 100 });
    const first = l.reserve(['acct', 'ws'], 100, 0);
    assert.ok(first.ok);
    const blocked = l.reserve(['acct', 'ws'], 50, 2_000);
    assert.equal(blocked.ok, false, 'ws is full, so acct must not be charged either');
    assert.equal(l.usage('acct', 2_000).minute.tokens, 100);
    // a cancelled waiter frees its place: b, queued behind a, takes the next slot
    const q = new Limiter();
    q.setLimits('k', { rpm: 60, tpm: 1000 });
    assert.ok(q.reserve(['k'], 10, 0).ok);
    const a = q.enqueue(['k'], 10, 100);
    const b = q.enqueue(['k'], 10, 100);
    assert.deepEqual(q.poll(100).admitted, [], 'paced: the next slot is at 1 s');
    q.cancel(a);
    assert.deepEqual(
      q.poll(1_000).admitted.map((t) => t.id),
      [b.id],
    );
    assert.equal(a.state, 'cancelled');
  });

  it('refuses a request that can never fit instead of blocking the queue', () => {
    const l = new Limiter();
    l.setLimits('k', { rpm: 60, tpm: 1000 });
    const huge = l.enqueue(['k'], 5000, 0);
    const small = l.enqueue(['k'], 10, 0);
    const r = l.poll(0);
    assert.deepEqual(
      r.impossible.map((t) => t.id),
      [huge.id],
    );
    assert.deepEqual(
      r.admitted.map((t) => t.id),
      [small.id],
    );
  });

  it('settle charges usage above the reservation and refunds below it only when asked', () => {
    for (const refund of [true, false]) {
      const l = new Limiter({ refundUnusedTokens: refund });
      l.setLimits('k', { rpm: 600, tpm: 10_000 });
      const r1 = l.reserve(['k'], 1000, 0);
      assert.ok(r1.ok);
      l.settle(r1.reservation, 400);
      assert.equal(l.usage('k', 10).minute.tokens, refund ? 400 : 1000);
      // 1000 tokens is above the per-second share (167): it goes alone, once the first left the 1 s window
      assert.deepEqual(l.reserve(['k'], 1000, 200), { ok: false, at: 1000 });
      const r2 = l.reserve(['k'], 1000, 1200);
      assert.ok(r2.ok);
      l.settle(r2.reservation, 3000);
      assert.equal(l.usage('k', 1300).minute.tokens, (refund ? 400 : 1000) + 3000);
    }
  });

  it('holds a key, slows it by a rate factor, and reports usage per window', () => {
    const l = new Limiter();
    l.setLimits('k', { rpm: 600, tpm: 100_000 });
    l.hold('k', 5_000);
    const r = l.reserve(['k'], 10, 0);
    assert.deepEqual(r, { ok: false, at: 5_000 });
    l.setRateFactor('k', 0.5);
    assert.equal(l.usage('k', 5_000).second.requestLimit, 5);
    const a = l.reserve(['k'], 10, 5_000);
    assert.ok(a.ok);
    const b = l.reserve(['k'], 10, 5_100);
    assert.deepEqual(b, { ok: false, at: 5_200 }, 'half rate: 200 ms spacing');
    const u = l.usage('k', 5_100, 10);
    assert.equal(u.minute.requests, 1);
    assert.equal(u.minute.tokens, 10);
    assert.equal(u.timeToFitMs, 100);
  });

  it('estimates a start time behind the queue', () => {
    const l = new Limiter();
    l.setLimits('k', { rpm: 60, tpm: 1_000_000 });
    for (let i = 0; i < 10; i++) l.enqueue(['k'], 10, 0);
    l.poll(0);
    const at = l.estimateStart(['k'], 10, 0);
    assert.ok(at >= 9_000 && at <= 11_000, `estimated ${at}`);
  });
});
