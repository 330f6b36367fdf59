/**
 * Team mode: three machines, one account, one Redis (docs/ARCHITECTURE.md, "Team mode").
 * The provider's limits belong to the account; each machine gets ten times the limit split
 * 60/30/10 between them; the fake provider counts at arrival. One machine runs with its
 * clock 300 ms ahead (the Redis clock rules). The contrast without Redis is npm run bench:team.
 */
import { afterEach, beforeEach, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { HealthInfo } from '../../src/core/protocol';
import type { TeamView } from '../../src/core/team';
import { startFakeProcess, type FakeProcess } from '../support/fakeProcess';
import { checkWindows } from '../support/limiterOracle';
import { HEADLINE } from '../support/overload';
import { startRedis, type RedisProcess } from '../support/redisProcess';
import { sleep } from '../support/stack';
import { loadMachines, startMachines, stopMachines, used, type Machine } from '../support/team';

const { RPM, TPM, GATEWAY_CONFIG, FAKE_OPTIONS, OFFERED_PER_SECOND } = HEADLINE;
const RUN_MS = Number(process.env.RLM_TEAM_MS ?? 65_000);
const PARTS = [0.6, 0.3, 0.1];
/**
 * Share of the account's RPM asserted here, where CI shares two cores with three gateways, the
 * fake and the load: the ≥ 95 % target is measured on a quiet machine by npm run bench:team.
 */
const MIN_USE = 0.92;

describe('team mode: three machines on one account', () => {
  let redis: RedisProcess;
  let fake: FakeProcess;
  let machines: Machine[] = [];
  // a Redis of its own for each test: no window or machine of one run is seen by the next
  beforeEach(async () => {
    redis = await startRedis();
  });
  afterEach(async () => {
    await stopMachines(machines);
    fake?.stop();
    await redis.stop();
  });

  it(
    '10× over the account limit, split 60/30/10, one clock 300 ms off: 0 provider 429s, the RPM used',
    {
      timeout: RUN_MS + 60_000,
    },
    async () => {
      fake = await startFakeProcess(FAKE_OPTIONS);
      machines = await startMachines(fake, GATEWAY_CONFIG, redis.url, PARTS, [0, 0, 300]);
      const runs = await loadMachines(machines, {
        model: 'qwen-plus',
        workspace: 'ws-a',
        runMs: RUN_MS,
        offeredPerSecond: OFFERED_PER_SECOND,
      });
      const counters = await fake.counters();
      const arrivals = await fake.arrivals('qwen-plus');
      const end = Math.min(...runs.map((r) => r.endedAt), arrivals.at(-1)!.at);
      const last = used(arrivals, end - 60_000, end, { rpm: RPM, tpm: TPM });
      const view = await machines[0]!.gateway.control<TeamView>('/_rlm/team');
      const report = {
        perMachine: runs.map((r, i) => ({ machine: machines[i]!.name, offered: r.offered, ...r.outcomes })),
        provider429: counters.rejected,
        lastMinute: { ...last, requestUse: +last.requestUse.toFixed(4) },
        team: view.machines.map((m) => ({ name: m.name, hour: m.hour.requests, alive: m.alive })),
      };
      console.log(`# team headline ${JSON.stringify(report)}`);
      assert.deepEqual(counters.rejected, { rpm: 0, tpm: 0, burst: 0 }, JSON.stringify(counters.refusals));
      for (const r of runs) assert.equal(r.outcomes.other, 0, r.otherErrors.join(' | '));
      assert.deepEqual(checkWindows(arrivals, RPM, TPM), [], 'no window over the limit at the provider');
      assert.ok(last.requestUse >= MIN_USE, `the account's RPM used ${(last.requestUse * 100).toFixed(1)} %`);
      assert.ok(last.requestUse <= 1);
      // every machine got through, the smallest too (order across machines: nobody starves)
      for (const r of runs) assert.ok(r.outcomes.ok > 0);
      assert.equal(view.machines.filter((m) => m.alive).length, 3);
      assert.equal(view.state, 'online');
      await stopMachines(machines);
      fake.stop();
    },
  );

  it(
    'Redis killed mid-run: each machine at its share, no 429, requests keep flowing; full use after it returns',
    {
      timeout: 120_000,
    },
    async () => {
      fake = await startFakeProcess(FAKE_OPTIONS);
      machines = await startMachines(fake, GATEWAY_CONFIG, redis.url, PARTS);
      const started = Date.now();
      const load = loadMachines(machines, {
        model: 'qwen-plus',
        workspace: 'ws-a',
        runMs: 60_000,
        offeredPerSecond: OFFERED_PER_SECOND,
      });
      await sleep(10_000);
      await redis.kill();
      const killedAt = Date.now();
      await sleep(3_000);
      const during = await Promise.all(machines.map((m) => m.gateway.control<HealthInfo>('/_rlm/health')));
      await sleep(12_000);
      await redis.restart();
      const restartedAt = Date.now();
      const runs = await load;
      const after_ = await Promise.all(machines.map((m) => m.gateway.control<HealthInfo>('/_rlm/health')));
      const counters = await fake.counters();
      const arrivals = await fake.arrivals('qwen-plus');
      const end = Math.min(...runs.map((r) => r.endedAt));
      const outage = used(arrivals, killedAt + 2_000, restartedAt, { rpm: RPM, tpm: TPM });
      const back = used(arrivals, restartedAt + 5_000, end, { rpm: RPM, tpm: TPM });
      const report = {
        killedAfterMs: killedAt - started,
        outageMs: restartedAt - killedAt,
        states: { during: during.map((h) => h.team?.state), after: after_.map((h) => h.team?.state) },
        outageUse: +outage.requestUse.toFixed(4),
        backUse: +back.requestUse.toFixed(4),
        perSecondAroundRestart: Array.from(
          { length: 15 },
          (_, i) =>
            arrivals.filter((a) => a.at > restartedAt - 2_000 + i * 1_000 && a.at <= restartedAt - 1_000 + i * 1_000)
              .length,
        ),
        onlineAfterRestartMs: after_.map((h) => (h.team ? h.team.since - restartedAt : null)),
        perFiveSeconds: Array.from(
          { length: 12 },
          (_, i) => arrivals.filter((a) => a.at > started + i * 5_000 && a.at <= started + (i + 1) * 5_000).length,
        ),
        provider429: counters.rejected,
        outcomes: runs.map((r) => r.outcomes),
      };
      console.log(`# team outage ${JSON.stringify(report)}`);
      assert.deepEqual(
        during.map((h) => h.team?.state),
        ['offline', 'offline', 'offline'],
      );
      assert.deepEqual(
        during.map((h) => h.team?.share?.of),
        [3, 3, 3],
      );
      assert.deepEqual(counters.rejected, { rpm: 0, tpm: 0, burst: 0 }, JSON.stringify(counters.refusals));
      assert.deepEqual(checkWindows(arrivals, RPM, TPM), [], 'no window over the limit at the provider');
      for (const r of runs) assert.equal(r.outcomes.other, 0, r.otherErrors.join(' | '));
      // at its share each machine may use a third (3 of 10 a second: the per-second limit does not divide)
      assert.ok(outage.requestUse >= 0.6, `requests kept flowing during the outage: ${outage.requestUse}`);
      assert.ok(back.requestUse >= MIN_USE, `after the return, the RPM used ${(back.requestUse * 100).toFixed(1)} %`);
      assert.deepEqual(
        after_.map((h) => h.team?.state),
        ['online', 'online', 'online'],
      );
      await stopMachines(machines);
      fake.stop();
    },
  );

  it(
    'TPM-bound, and the busiest machine killed: no 429, the others take its part within 10 s',
    {
      timeout: 100_000,
    },
    async () => {
      const limits = { rpm: 600, tpm: 30_000 }; // 500 tokens a second
      // every answer as long as its max_tokens: the charge is what the provider counts (after calibration)
      fake = await startFakeProcess({ ...FAKE_OPTIONS, models: { 'qwen-plus': limits }, completionTokens: 200 });
      machines = await startMachines(fake, { models: { 'qwen-plus': limits }, maxQueueMs: 4_000 }, redis.url, PARTS);
      const started = Date.now();
      const load = loadMachines(machines, {
        model: 'qwen-plus',
        workspace: 'default',
        runMs: 50_000,
        offeredPerSecond: 17,
        words: (i) => 40 + ((i * 37) % 220),
        maxTokens: (i) => 40 + ((i * 13) % 50),
      });
      await sleep(25_000);
      machines[0]!.gateway.child.kill('SIGKILL');
      const killedAt = Date.now();
      const runs = await load;
      const counters = await fake.counters();
      const arrivals = await fake.arrivals('qwen-plus');
      const end = Math.min(...runs.slice(1).map((r) => r.endedAt));
      const before_ = used(arrivals, started + 10_000, killedAt, limits);
      const after10s = used(arrivals, killedAt + 10_000, end, limits);
      const view = await machines[1]!.gateway.control<TeamView>('/_rlm/team');
      const report = {
        tokenUseBefore: +before_.tokenUse.toFixed(4),
        tokenUseFrom10sAfterKill: +after10s.tokenUse.toFixed(4),
        provider429: counters.rejected,
        outcomes: runs.map((r) => r.outcomes),
        alive: view.machines.filter((m) => m.alive).map((m) => m.name),
      };
      console.log(`# team tpm ${JSON.stringify(report)}`);
      // Tokens are estimates until the answer says (the fake counts its own way): a per-second window may
      // be missed by a token or two — at most twice, retried unseen by the callers; never a minute's window.
      assert.ok(counters.refusals.length <= 2, JSON.stringify(counters.refusals));
      for (const r of counters.refusals) assert.ok(r.rule === 'tps', JSON.stringify(r));
      assert.deepEqual(checkWindows(arrivals, limits.rpm, limits.tpm), [], 'no window over the limit at the provider');
      for (const r of runs.slice(1)) assert.equal(r.outcomes.other, 0, r.otherErrors.join(' | '));
      assert.ok(before_.tokenUse >= 0.7, `TPM used with three machines: ${before_.tokenUse}`);
      // the killed machine's part is not lost: the two left fill the account about as the three did (measured
      // 92-106 % of it; a shorter queue gives backfilling fewer requests to pack the per-second tokens with)
      assert.ok(
        after10s.tokenUse >= 0.85 * before_.tokenUse,
        `TPM used from 10 s after the kill ${after10s.tokenUse} vs ${before_.tokenUse} before`,
      );
      assert.deepEqual(
        view.machines
          .filter((m) => m.alive)
          .map((m) => m.name)
          .sort(),
        ['machine-2', 'machine-3'],
      );
      await stopMachines(machines);
      fake.stop();
    },
  );
});
