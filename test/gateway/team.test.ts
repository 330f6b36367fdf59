/**
 * Team mode: three machines, one account, one Redis (docs/ARCHITECTURE.md, "Team mode").
 * The provider's limits belong to the account; each machine gets ten times the limit split
 * 60/30/10 between them; the fake provider counts at arrival. One machine runs with its
 * clock 300 ms ahead (the Redis clock rules). The contrast without Redis is npm run bench:team.
 */
import { after, before, describe, it } from 'node:test';
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

describe('team mode: three machines on one account', () => {
  let redis: RedisProcess;
  let fake: FakeProcess;
  let machines: Machine[] = [];
  before(async () => {
    redis = await startRedis();
  });
  after(async () => {
    await stopMachines(machines);
    fake?.stop();
    await redis.stop();
  });

  it(
    '10× over the account limit, split 60/30/10, one clock 300 ms off: 0 provider 429s, ≥ 95 % of RPM',
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
      assert.ok(last.requestUse >= 0.95, `the account's RPM used ${(last.requestUse * 100).toFixed(1)} %`);
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
    'Redis killed mid-run: each machine at its share, no 429, requests keep flowing; back to ≥ 95 % after it returns',
    {
      timeout: 160_000,
    },
    async () => {
      fake = await startFakeProcess(FAKE_OPTIONS);
      machines = await startMachines(fake, GATEWAY_CONFIG, redis.url, PARTS);
      const started = Date.now();
      const load = loadMachines(machines, {
        model: 'qwen-plus',
        workspace: 'ws-a',
        runMs: 100_000,
        offeredPerSecond: OFFERED_PER_SECOND,
      });
      await sleep(15_000);
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
      const last = used(arrivals, end - 60_000, end, { rpm: RPM, tpm: TPM });
      const report = {
        killedAfterMs: killedAt - started,
        outageMs: restartedAt - killedAt,
        states: { during: during.map((h) => h.team?.state), after: after_.map((h) => h.team?.state) },
        outageUse: +outage.requestUse.toFixed(4),
        lastMinuteUse: +last.requestUse.toFixed(4),
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
      assert.ok(outage.requestUse >= 0.6, `requests kept flowing during the outage: ${outage.requestUse}`);
      assert.ok(
        last.requestUse >= 0.95,
        `after the return, the account's RPM used ${(last.requestUse * 100).toFixed(1)} %`,
      );
      assert.deepEqual(
        after_.map((h) => h.team?.state),
        ['online', 'online', 'online'],
      );
      await stopMachines(machines);
      fake.stop();
    },
  );
});
