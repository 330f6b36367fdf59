/**
 * Cost through the real gateway: the fake reports implicit-cache hits for a repeated prompt,
 * and the estimated costs the gateway serves (/_rlm/metrics rows and summary, each record of
 * /_rlm/history, Prometheus) equal the sum computed here from the records' own tokens; a model
 * without a price is unknown everywhere, never 0.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { MetricsResponse } from '../../src/core/protocol';
import type { AttemptRecord } from '../../src/core/types';
import { startStack, type Stack } from '../support/stack';

const PRICES = { currency: 'USD', models: { 'qwen-plus': { input: 0.4, output: 1.2, cachedInput: 0.08 } } };
const LONG = 'lorem ipsum dolor sit amet '.repeat(120); // well over 256 tokens: the implicit cache applies

describe('estimated cost through the gateway', () => {
  let s: Stack;
  before(async () => {
    s = await startStack({ fake: { implicitCache: true }, config: { prices: PRICES } });
    for (let i = 0; i < 3; i++)
      await s.client.chat.completions.create({ model: 'qwen-plus', messages: [{ role: 'user', content: LONG }] });
    await s.client.chat.completions.create({ model: 'qwen-plus', messages: [{ role: 'user', content: 'short' }] });
    // qwen-turbo has no price here (the fake's URL is a custom endpoint: no built-in table)
    await s.client.chat.completions.create({ model: 'qwen-turbo', messages: [{ role: 'user', content: 'x' }] });
    // a terminal program, named by its User-Agent
    const curl = await s.call('/v1/chat/completions', {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'user-agent': 'curl/8.5.0' },
      body: JSON.stringify({ model: 'qwen-plus', messages: [{ role: 'user', content: 'from a terminal' }] }),
    });
    assert.equal(curl.status, 200);
  });
  after(() => s.close());

  it("serves each model's cost and the summary as the sum of the records' costs", async () => {
    const history = (await (await s.call('/_rlm/history/export?window=1h&format=json')).json()) as {
      records: (AttemptRecord & { cost: { amount: number; currency: string } | null })[];
    };
    const plus = history.records.filter((r) => r.model === 'qwen-plus');
    assert.equal(plus.length, 5);
    assert.ok(
      plus.some((r) => r.cachedTokens > 0),
      'the repeated prompt was served from the cache',
    );
    const expected = plus.reduce(
      (sum, r) =>
        sum + ((r.promptTokens - r.cachedTokens) * 0.4 + r.cachedTokens * 0.08 + r.completionTokens * 1.2) / 1e6,
      0,
    );
    const recordSum = plus.reduce((sum, r) => sum + r.cost!.amount, 0);
    assert.ok(Math.abs(recordSum - expected) < 1e-12, `records ${recordSum} ≠ ${expected}`);
    assert.equal(history.records.find((r) => r.model === 'qwen-turbo')!.cost, null);

    const m = (await (await s.call('/_rlm/metrics?window=1h')).json()) as MetricsResponse;
    const row = m.rows.find((r) => r.model === 'qwen-plus')!;
    assert.equal(row.cost!.currency, 'USD');
    assert.ok(Math.abs(row.cost!.amount - expected) < 1e-12, `metrics ${row.cost!.amount} ≠ ${expected}`);
    assert.equal(m.rows.find((r) => r.model === 'qwen-turbo')!.cost, null, 'no price: unknown, not 0');
    assert.ok(Math.abs(m.summary.cost!.amount - expected) < 1e-12);
    assert.equal(m.summary.cost!.unpricedCalls, 1);
  });

  it('says who spent the window: the SDK and the terminal program apart, their shares and costs', async () => {
    const m = (await (await s.call('/_rlm/metrics?window=1h')).json()) as MetricsResponse;
    const sources = m.sources!;
    assert.deepEqual(sources.map((r) => r.source).sort(), ['OpenAI/JS', 'curl']);
    const js = sources.find((r) => r.source === 'OpenAI/JS')!;
    const curl = sources.find((r) => r.source === 'curl')!;
    assert.equal(js.calls, 5);
    assert.equal(curl.calls, 1);
    assert.ok(Math.abs(js.share + curl.share - 1) < 1e-12);
    assert.equal(js.cost, null, 'the SDK also called qwen-turbo, which has no price');
    assert.equal(curl.cost!.currency, 'USD');
  });

  it('exports the cost per record in CSV (empty when unknown) and counts it in Prometheus', async () => {
    const csv = (await (await s.call('/_rlm/history/export?window=1h&format=csv')).text()).trim().split('\r\n');
    const header = csv[0]!.split(',');
    const costAt = header.indexOf('cost');
    assert.deepEqual(header.slice(-2), ['cost', 'currency']);
    const turbo = csv.find((l) => l.includes(',qwen-turbo,'))!.split(',');
    assert.equal(turbo[costAt], '');
    const prom = await (await s.call('/metrics')).text();
    assert.match(prom, /rlm_cost_total\{model="qwen-plus",workspace="default",currency="USD"\} \d/);
    assert.doesNotMatch(prom, /rlm_cost_total\{model="qwen-turbo"/);
  });
});
