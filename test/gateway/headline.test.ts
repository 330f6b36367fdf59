/**
 * The headline: ten times more traffic than the limits allow, for over a minute — mixed
 * prompt sizes, streams and two workspaces — ends with zero 429s from the provider and at
 * least 97 % of the allowed requests or tokens used. The fake provider and the gateway
 * (dist/gateway.js) each run in their own process, as they do for users: the provider counts
 * by arrival time, and the load generator here does not share the gateway's event loop.
 * The same load under CPU contention is test/gateway/contention.test.ts.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { GatewayState } from '../../src/core/protocol';
import type { AttemptRecord } from '../../src/core/types';
import { startFakeProcess, type FakeProcess } from '../support/fakeProcess';
import { startGatewayProcess, type GatewayProcess } from '../support/gatewayProcess';
import { checkWindows } from '../support/limiterOracle';
import { HEADLINE, runOverload } from '../support/overload';

const { RPM, TPM, WS_RPM, WS_TPM, OFFERED_PER_SECOND, GATEWAY_CONFIG, FAKE_OPTIONS } = HEADLINE;
const RUN_MS = Number(process.env.RLM_HEADLINE_MS ?? 65_000);

describe('headline: 10× over the limits for over a minute', () => {
  let fake: FakeProcess;
  let gateway: GatewayProcess;
  before(async () => {
    fake = await startFakeProcess(FAKE_OPTIONS);
    gateway = await startGatewayProcess(GATEWAY_CONFIG, fake.url);
  });
  after(async () => {
    await gateway.stop();
    fake.stop();
  });

  it(`ends with zero provider 429s and ≥ 97 % of the binding limit used`, { timeout: RUN_MS + 60_000 }, async () => {
    const run = await runOverload({
      gatewayUrl: gateway.url,
      model: 'qwen-plus',
      workspace: 'ws-a',
      runMs: RUN_MS,
      offeredPerSecond: OFFERED_PER_SECOND,
    });
    const counters = await fake.counters();
    const arrivals = await fake.arrivals('qwen-plus');

    // the last full minute of offered load
    const windowEnd = Math.min(run.endedAt, arrivals[arrivals.length - 1]!.at);
    const last = arrivals.filter((a) => a.at > windowEnd - 60_000 && a.at <= windowEnd);
    const reqUse = last.length / RPM;
    const tokUse = last.reduce((s, a) => s + a.tokens, 0) / TPM;
    const { records } = await gateway.control<{ records: AttemptRecord[] }>('/_rlm/requests?limit=10000');
    assert.ok(records.length < 10_000, 'every record fits in one answer');
    const wsRecords = records.filter((r) => r.workspace === 'ws-a' && r.status !== 0 && r.outcome !== 'rejected');
    const wsViolations = checkWindows(
      wsRecords.map((r) => ({ at: r.startedAt, tokens: r.totalTokens })),
      WS_RPM,
      WS_TPM,
    ).filter((v) => v.window === '60s');
    const state = await gateway.control<GatewayState>('/_rlm/state');
    const report = {
      offered: run.offered,
      offeredRpm: Math.round((run.offered / (run.endedAt - run.startedAt)) * 60_000),
      outcomes: run.outcomes,
      provider429: counters.rejected,
      providerAccepted: counters.accepted,
      lastMinute: {
        requests: last.length,
        tokens: last.reduce((s, a) => s + a.tokens, 0),
        requestUse: +reqUse.toFixed(4),
        tokenUse: +tokUse.toFixed(4),
      },
      calibration: state.calibration,
      margins: state.keys.map((k) => ({ key: k.key, padMs: k.margin?.padMs, reason: k.margin?.reason })),
      perTenSeconds: Array.from(
        { length: Math.ceil((run.endedAt - run.startedAt) / 10_000) },
        (_, k) =>
          arrivals.filter((a) => a.at >= run.startedAt + k * 10_000 && a.at < run.startedAt + (k + 1) * 10_000).length,
      ),
    };
    console.log(`# headline ${JSON.stringify(report)}`);
    assert.ok(report.offeredRpm >= 9 * RPM, `offered only ${report.offeredRpm} RPM`);
    assert.deepEqual(
      counters.rejected,
      { rpm: 0, tpm: 0, burst: 0 },
      `the provider refused: ${JSON.stringify(counters.refusals)}`,
    );
    assert.equal(run.outcomes.other, 0, `no errors other than local refusals: ${run.otherErrors.join(' | ')}`);
    assert.ok(Math.max(reqUse, tokUse) >= 0.97, `binding limit used ${(Math.max(reqUse, tokUse) * 100).toFixed(1)} %`);
    assert.ok(reqUse <= 1 && tokUse <= 1);
    assert.deepEqual(checkWindows(arrivals, RPM, TPM), [], 'no window over the limit at the provider');
    assert.deepEqual(wsViolations, [], 'workspace ws-a stayed inside its own limits');
  });
});
