/**
 * The headline: ten times more traffic than the limits allow, for over a minute — mixed
 * prompt sizes, streams and two workspaces — ends with zero 429s from the provider and at
 * least 97 % of the allowed requests or tokens used. The fake provider and the gateway
 * (dist/gateway.js) each run in their own process, as they do for users: the provider counts
 * by arrival time, and the load generator here does not share the gateway's event loop.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import OpenAI from 'openai';
import type { GatewayState } from '../../src/core/protocol';
import type { AttemptRecord } from '../../src/core/types';
import { startFakeProcess, type FakeProcess } from '../support/fakeProcess';
import { startGatewayProcess, type GatewayProcess } from '../support/gatewayProcess';
import { checkWindows } from '../support/limiterOracle';
import { GATEWAY_TOKEN, PROVIDER_KEY, sleep } from '../support/stack';

const RPM = 600;
// Tokens per second (4,000) stay above ten average requests, so RPM is the binding limit.
const TPM = 240_000;
const WS_RPM = 200;
const WS_TPM = 80_000;
const RUN_MS = Number(process.env.RLM_HEADLINE_MS ?? 65_000);
const OFFERED_PER_SECOND = (RPM / 60) * 10;

const WORDS = 'the quick brown fox jumps over a lazy dog while 模型 限流 tokens flow per minute and second'.split(' ');
function prompt(words: number): string {
  let s = '';
  for (let i = 0; i < words; i++) s += WORDS[(i * 7 + words) % WORDS.length] + ' ';
  return s;
}

describe('headline: 10× over the limits for over a minute', () => {
  let fake: FakeProcess;
  let gateway: GatewayProcess;
  let gatewayUrl: string;
  const control = <T>(route: string) => gateway.control<T>(route);
  before(async () => {
    fake = await startFakeProcess({ apiKey: PROVIDER_KEY, models: { 'qwen-plus': { rpm: RPM, tpm: TPM } }, ttftMs: 30, chunkIntervalMs: 10, completionTokens: [20, 120] });
    gateway = await startGatewayProcess({
      models: { 'qwen-plus': { rpm: RPM, tpm: TPM } },
      workspaces: { 'ws-a': { name: 'Team A', models: { 'qwen-plus': { rpm: WS_RPM, tpm: WS_TPM } } } },
      maxQueueMs: 4_000,
    }, fake.url);
    gatewayUrl = gateway.url;
  });
  after(async () => {
    await gateway.stop();
    fake.stop();
  });

  it(`ends with zero provider 429s and ≥ 97 % of the binding limit used`, { timeout: RUN_MS + 60_000 }, async () => {
    const clients = {
      default: new OpenAI({ baseURL: `${gatewayUrl}/v1`, apiKey: GATEWAY_TOKEN, maxRetries: 0 }),
      'ws-a': new OpenAI({ baseURL: `${gatewayUrl}/v1`, apiKey: GATEWAY_TOKEN, maxRetries: 0, defaultHeaders: { 'x-rlm-workspace': 'ws-a' } }),
    };
    const outcomes = { ok: 0, local429: 0, other: 0 };
    const inFlight = new Set<Promise<void>>();
    const started = Date.now();
    let n = 0;
    while (Date.now() - started < RUN_MS) {
      const i = n++;
      const client = i % 2 === 0 ? clients.default : clients['ws-a'];
      const body = { model: 'qwen-plus', messages: [{ role: 'user' as const, content: prompt(10 + ((i * 37) % 300)) }], max_tokens: 60 + ((i * 13) % 100) };
      const p = (async () => {
        try {
          if (i % 3 === 0) {
            const stream = await client.chat.completions.create({ ...body, stream: true });
            for await (const _ of stream) void _;
          } else await client.chat.completions.create(body);
          outcomes.ok++;
        } catch (e) {
          if (e instanceof OpenAI.RateLimitError && e.headers?.get('x-rlm-local') === 'true') outcomes.local429++;
          else outcomes.other++;
        }
      })();
      inFlight.add(p);
      void p.finally(() => inFlight.delete(p));
      const nextAt = started + ((i + 1) * 1000) / OFFERED_PER_SECOND;
      await sleep(Math.max(0, nextAt - Date.now()));
    }
    const endedAt = Date.now();
    await Promise.all(inFlight);
    const counters = await fake.counters();
    const arrivals = await fake.arrivals('qwen-plus');

    // the last full minute of offered load
    const windowEnd = Math.min(endedAt, arrivals[arrivals.length - 1]!.at);
    const last = arrivals.filter((a) => a.at > windowEnd - 60_000 && a.at <= windowEnd);
    const reqUse = last.length / RPM;
    const tokUse = last.reduce((s, a) => s + a.tokens, 0) / TPM;
    const { records } = await control<{ records: AttemptRecord[] }>('/_rlm/requests?limit=10000');
    assert.ok(records.length < 10_000, 'every record fits in one answer');
    const wsRecords = records.filter((r) => r.workspace === 'ws-a' && r.status !== 0 && r.outcome !== 'rejected');
    const wsViolations = checkWindows(wsRecords.map((r) => ({ at: r.startedAt, tokens: r.totalTokens })), WS_RPM, WS_TPM).filter((v) => v.window === '60s');
    const report = {
      offered: n,
      offeredRpm: Math.round((n / (endedAt - started)) * 60_000),
      outcomes,
      provider429: counters.rejected,
      providerAccepted: counters.accepted,
      lastMinute: { requests: last.length, tokens: last.reduce((s, a) => s + a.tokens, 0), requestUse: +reqUse.toFixed(4), tokenUse: +tokUse.toFixed(4) },
      calibration: (await control<GatewayState>('/_rlm/state')).calibration,
      perTenSeconds: Array.from({ length: Math.ceil((endedAt - started) / 10_000) }, (_, k) => arrivals.filter((a) => a.at >= started + k * 10_000 && a.at < started + (k + 1) * 10_000).length),
    };
    console.log(`# headline ${JSON.stringify(report)}`);
    assert.ok(report.offeredRpm >= 9 * RPM, `offered only ${report.offeredRpm} RPM`);
    assert.deepEqual(counters.rejected, { rpm: 0, tpm: 0, burst: 0 }, `the provider refused: ${JSON.stringify(counters.refusals)}`);
    assert.equal(outcomes.other, 0, 'no errors other than local refusals');
    assert.ok(Math.max(reqUse, tokUse) >= 0.97, `binding limit used ${(Math.max(reqUse, tokUse) * 100).toFixed(1)} %`);
    assert.ok(reqUse <= 1 && tokUse <= 1);
    assert.deepEqual(checkWindows(arrivals, RPM, TPM), [], 'no window over the limit at the provider');
    assert.deepEqual(wsViolations, [], 'workspace ws-a stayed inside its own limits');
  });
});
