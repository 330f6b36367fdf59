/**
 * EASY backfilling in the limiter (src/core/limiter.ts), in virtual time: a later request
 * fills a gap only when the head keeps its start (its first earliest start plus one pacing
 * slot); no window goes over (limiter.test.ts holds every key to the oracle with backfilling
 * on); nothing starves; and on waiting callers with prompts large against TPS it uses far
 * more of the TPM than strict FIFO, measured side by side.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { Limiter } from '../../src/core/limiter';
import { checkWindows } from '../support/limiterOracle';
import { simulate, type Arrival } from '../support/limiterSim';
import { PACKING_SIZES, runClosedLoop } from '../support/closedLoopSim';

describe('backfilling', () => {
  it('lets a small request go before a large head that must wait, when the head keeps its start', () => {
    const l = new Limiter();
    l.setLimits('k', { rpm: 600, tpm: 30_000 }); // 500 tokens a second, one slot every 100 ms
    assert.ok(l.reserve(['k'], 200, 0).ok);
    assert.ok(l.reserve(['k'], 200, 500).ok);
    const head = l.enqueue(['k'], 400, 510); // needs the window at ≤ 100: when the second leaves, at 1,500
    const small = l.enqueue(['k'], 100, 510);
    const r = l.poll(600);
    assert.deepEqual(
      r.admitted.map((t) => t.id),
      [small.id],
      'the small one fills the gap now',
    );
    assert.equal(head.promisedAt, 1_600, 'promised its earliest start plus one pacing slot');
    assert.deepEqual(
      l.poll(1_500).admitted.map((t) => t.id),
      [head.id],
      'and the head still starts at 1,500',
    );
  });

  it('keeps a later request back when it would make the head start later than promised', () => {
    const l = new Limiter();
    l.setLimits('k', { rpm: 600, tpm: 30_000 });
    assert.ok(l.reserve(['k'], 100, 0).ok);
    assert.ok(l.reserve(['k'], 300, 500).ok);
    const head = l.enqueue(['k'], 450, 510); // needs ≤ 50 left: at 1,500; promised 1,600
    const small = l.enqueue(['k'], 100, 510);
    assert.deepEqual(l.poll(700).admitted, [], 'admitted at 700 it would stay in the window until 1,700');
    assert.equal(small.state, 'waiting');
    assert.deepEqual(
      l.poll(1_500).admitted.map((t) => t.id),
      [head.id],
    );
  });

  it('never makes a head start later than it was promised (one key set, settles at most the charge)', () => {
    fc.assert(
      fc.property(
        fc.array(
          fc.record({
            at: fc.integer({ min: 0, max: 20_000 }),
            cost: fc.integer({ min: 1, max: 900 }),
            ratio: fc.double({ min: 0, max: 1, noNaN: true }),
            after: fc.integer({ min: 0, max: 3_000 }),
          }),
          { minLength: 2, maxLength: 120 },
        ),
        (raw) => {
          const l = new Limiter();
          l.setLimits('acct', { rpm: 120, tpm: 30_000 });
          l.setLimits('ws', { rpm: 90, tpm: 20_000 });
          const arrivals: Arrival[] = raw.map((r) => ({
            at: r.at,
            keys: ['acct', 'ws'],
            cost: r.cost,
            actualRatio: r.ratio,
            settleAfter: r.after,
          }));
          const result = simulate(l, arrivals);
          for (const e of result.tickets) {
            assert.equal(e.ticket.state, 'admitted', 'nothing starves');
            if (e.ticket.promisedAt !== undefined)
              assert.ok(
                e.admittedAt! <= e.ticket.promisedAt + 1e-6,
                `ticket ${e.ticket.id} admitted at ${e.admittedAt}, promised ${e.ticket.promisedAt}`,
              );
          }
          for (const [key, limits] of [
            ['acct', { rpm: 120, tpm: 30_000 }],
            ['ws', { rpm: 90, tpm: 20_000 }],
          ] as const) {
            const adm = (result.perKey.get(key) ?? []).map(({ at, ticketIndex }) => ({
              at,
              tokens: result.tickets[ticketIndex]!.finalTokens!,
            }));
            assert.deepEqual(checkWindows(adm, limits.rpm, limits.tpm).slice(0, 3), []);
          }
        },
      ),
      { numRuns: 150 },
    );
  });

  it('uses far more of the TPM than strict FIFO for 24 callers with 100–450-token prompts (figure printed)', () => {
    const run = (backfill: boolean) =>
      runClosedLoop({
        callers: 24,
        rpm: 600,
        tpm: 30_000,
        sizes: PACKING_SIZES,
        latencyMs: 2_000,
        durationMs: 180_000,
        backfill,
      });
    const fifo = run(false);
    const easy = run(true);
    console.log(
      `# packing 30,000 TPM, 24 callers, 100–450 tokens: FIFO ${(fifo.tokenUse * 100).toFixed(1)} %, backfilling ${(easy.tokenUse * 100).toFixed(1)} %`,
    );
    assert.ok(easy.tokenUse >= 0.85, `backfilling used ${(easy.tokenUse * 100).toFixed(1)} %`);
    assert.ok(easy.tokenUse >= fifo.tokenUse + 0.15);
    assert.ok(easy.tokenUse <= 1);
  });
});
