/**
 * npm run bench:scheduler — how much of a TPM-bound key the limiter uses when prompts are
 * large against TPS (TPS = TPM/60): strict FIFO and EASY backfilling as shipped, side by side
 * in one run, in virtual time. Also the cost of a poll with a long queue.
 */
import { Limiter } from '../src/core/limiter';
import { PACKING_SIZES, runClosedLoop } from '../test/support/closedLoopSim';
import { machine, printTable } from './table';

/** Pseudo-random sizes in [100, 450], reproducible. */
const scattered = (i: number) => 100 + Math.floor(((((Math.sin(i * 12.9898) * 43758.5453) % 1) + 1) % 1) * 351);

function packing(): Record<string, string | number>[] {
  const rows: Record<string, string | number>[] = [];
  const cases = [
    { name: '24 callers, 100–450 tok, 600 RPM / 30k TPM', callers: 24, rpm: 600, sizes: PACKING_SIZES },
    { name: '24 callers, scattered 100–450 tok', callers: 24, rpm: 600, sizes: scattered },
    { name: '24 callers, 100–450 tok, 6,000 RPM', callers: 24, rpm: 6_000, sizes: PACKING_SIZES },
    { name: '8 callers, 100–450 tok', callers: 8, rpm: 600, sizes: PACKING_SIZES },
  ];
  for (const c of cases) {
    const run = (backfill: boolean) =>
      runClosedLoop({
        callers: c.callers,
        rpm: c.rpm,
        tpm: 30_000,
        sizes: c.sizes,
        latencyMs: 2_000,
        durationMs: 240_000,
        backfill,
      });
    rows.push({
      workload: c.name,
      'FIFO % of TPM': (run(false).tokenUse * 100).toFixed(1),
      'backfilling % of TPM': (run(true).tokenUse * 100).toFixed(1),
    });
  }
  return rows;
}

function pollCost(waiting: number): number {
  const l = new Limiter();
  l.setLimits('k', { rpm: 600, tpm: 30_000 });
  for (let i = 0; i < waiting; i++) l.enqueue(['k'], PACKING_SIZES(i), 0);
  l.poll(0);
  const n = 2_000;
  const start = process.hrtime.bigint();
  for (let i = 1; i <= n; i++) l.poll(i * 0.01);
  return Number(process.hrtime.bigint() - start) / 1e3 / n;
}

printTable(`Packing a TPM-bound key (virtual time, last full minute of 4) — ${machine()}`, packing());
printTable(
  'One poll with a queue (µs; backfilling tries at most 256 waiters behind the heads)',
  [10, 100, 1_000, 10_000].map((w) => ({ waiting: w, 'µs per poll': pollCost(w).toFixed(1) })),
);
