/**
 * npm run bench:team — team mode side by side in one run.
 * 1. One admission decision: the local limiter vs the Redis script (sequential, one caller,
 *    a real redis-server on loopback), decisions/s and p50/p99 latency.
 * 2. Three gateway processes on one account, 10× the RPM offered split 60/30/10 for
 *    RLM_TEAM_BENCH_MS (default 65 s): with one Redis, and without it (each machine believes
 *    the account is its own) — the share of the account's RPM the provider saw in the last
 *    minute, and its 429s.
 */
import { Limiter } from '../src/core/limiter';
import { TeamStore, type KeyRule } from '../src/gateway/team/store';
import { startFakeProcess } from '../test/support/fakeProcess';
import { HEADLINE } from '../test/support/overload';
import { startRedis } from '../test/support/redisProcess';
import { loadMachines, startMachines, stopMachines, used } from '../test/support/team';
import { machine, printTable } from './table';

const RUN_MS = Number(process.env.RLM_TEAM_BENCH_MS ?? 65_000);
const DECISIONS_MS = 3_000;

function quantile(sorted: number[], q: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))]!;
}

/** Decisions in DECISIONS_MS, each timed: a key with room enough that every one admits. */
async function decisions(name: string, decide: (i: number) => unknown | Promise<unknown>) {
  const times: number[] = [];
  const start = performance.now();
  for (let i = 0; performance.now() - start < DECISIONS_MS; i++) {
    const t0 = performance.now();
    await decide(i);
    times.push(performance.now() - t0);
  }
  const seconds = (performance.now() - start) / 1000;
  times.sort((a, b) => a - b);
  return {
    decision: name,
    'decisions/s': Math.round(times.length / seconds).toLocaleString('en-US'),
    'p50 µs': Math.round(quantile(times, 0.5) * 1000),
    'p99 µs': Math.round(quantile(times, 0.99) * 1000),
  };
}

/**
 * 50 models' account keys in turn, limits high enough that every decision admits: a key's 1 s
 * window then holds what a busy account's does (a few hundred entries), not the whole run.
 */
const KEYS = Array.from({ length: 50 }, (_, i) => `account:bench-${i}`);

async function decisionRows() {
  const limits = { rpm: 1e9, tpm: 1e12 };
  const limiter = new Limiter();
  for (const key of KEYS) limiter.setLimits(key, limits);
  const local = await decisions('local limiter (in process)', (i) => limiter.reserve([KEYS[i % 50]!], 100, i));
  const redis = await startRedis();
  const store = new TeamStore({ url: redis.url });
  await store.connect();
  const rule = (key: string): KeyRule => ({
    key,
    ...limits,
    rateFactor: 1,
    secondWindowMs: 1_025,
    minuteWindowMs: 60_100,
  });
  const tuning = { toleranceMs: 1, leaseGraceMs: 1_000, horizonMs: 25 };
  const remote = await decisions('Redis script (loopback)', (i) =>
    store.admit([rule(KEYS[i % 50]!)], { ticket: `b.${i}`, place: 'b.l', cost: 100, front: false }, tuning),
  );
  await store.close();
  await redis.stop();
  return [local, remote];
}

async function teamRun(mode: 'one Redis' | 'no Redis') {
  const { RPM, TPM, GATEWAY_CONFIG, FAKE_OPTIONS, OFFERED_PER_SECOND } = HEADLINE;
  const redis = await startRedis();
  const fake = await startFakeProcess(FAKE_OPTIONS);
  const machines = await startMachines(
    fake,
    GATEWAY_CONFIG,
    mode === 'one Redis' ? redis.url : undefined,
    [0.6, 0.3, 0.1],
  );
  try {
    const runs = await loadMachines(machines, {
      model: 'qwen-plus',
      workspace: 'ws-a',
      runMs: RUN_MS,
      offeredPerSecond: OFFERED_PER_SECOND,
    });
    const arrivals = await fake.arrivals('qwen-plus');
    const counters = await fake.counters();
    const end = Math.min(...runs.map((r) => r.endedAt), arrivals.at(-1)?.at ?? Infinity);
    const last = used(arrivals, end - 60_000, end, { rpm: RPM, tpm: TPM });
    const sentPerMinute = counters.requests / (RUN_MS / 60_000);
    return {
      mode,
      'RPM used, last minute': `${(last.requestUse * 100).toFixed(1)} %`,
      'provider 429s': counters.rejected.rpm + counters.rejected.tpm + counters.rejected.burst,
      'sent to the provider per minute': `${Math.round(sentPerMinute)} (${(sentPerMinute / RPM).toFixed(2)}× the RPM)`,
      'answered per machine': runs.map((r) => r.outcomes.ok).join(' / '),
      'other errors': runs.reduce((s, r) => s + r.outcomes.other, 0),
    };
  } finally {
    await stopMachines(machines);
    fake.stop();
    await redis.stop();
  }
}

void (async () => {
  printTable(`One admission decision, sequential — ${machine()}`, await decisionRows());
  const rows = [await teamRun('one Redis'), await teamRun('no Redis')];
  printTable(
    `Three machines, one account (${HEADLINE.RPM} RPM), 10× offered split 60/30/10 for ${RUN_MS / 1000} s — ${machine()}`,
    rows,
  );
  process.exit(0);
})();
