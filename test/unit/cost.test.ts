/**
 * Cost estimates: tokens × the price table (the user's prices over it), cached prompt tokens
 * at the cached price, the Batch API at its factor, and an unknown price never read as 0.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { cacheSavings, costOf, formatCost, priceReport, pricingFor } from '../../src/core/cost';
import { validateConfig } from '../../src/core/config';
import { MetricsStore } from '../../src/core/metrics';
import { priceRegionOf } from '../../src/core/prices';
import { attemptRecord } from '../support/shapes';

const INTL = 'https://dashscope-intl.aliyuncs.com/compatible-mode/v1';
const close = (a: number, b: number) => assert.ok(Math.abs(a - b) < 1e-12, `${a} ≠ ${b}`);

describe('cost', () => {
  it("bills prompt, cached prompt and completion tokens at their prices, in the region's currency", () => {
    const pricing = pricingFor({ baseUrl: INTL });
    // qwen-plus, international: $0.4 in, $1.2 out, cache hits at 20 % of the input price
    const c = costOf(pricing, 'qwen-plus', {
      promptTokens: 1_000_000,
      completionTokens: 500_000,
      cachedTokens: 250_000,
    })!;
    assert.equal(c.currency, 'USD');
    close(c.amount, 0.75 * 0.4 + 0.25 * 0.08 + 0.5 * 1.2);
  });

  it('bills the Batch API at half the real-time price', () => {
    const pricing = pricingFor({ baseUrl: INTL });
    const t = { promptTokens: 2_000, completionTokens: 1_000 };
    close(costOf(pricing, 'qwen-max', t, true)!.amount, costOf(pricing, 'qwen-max', t)!.amount / 2);
    // a custom endpoint has no Batch API price unless the user gives its share
    const custom = { baseUrl: 'http://127.0.0.1:9999/v1', prices: { models: { m: { input: 1, output: 1 } } } };
    assert.equal(pricingFor(custom).batchFactor, 1);
    assert.equal(pricingFor({ ...custom, prices: { ...custom.prices, batchFactor: 0.5 } }).batchFactor, 0.5);
  });

  it('bills the Beijing region in CNY from its own table', () => {
    const pricing = pricingFor({ baseUrl: 'https://dashscope.aliyuncs.com/compatible-mode/v1' });
    const c = costOf(pricing, 'qwen-plus', { promptTokens: 1_000_000, completionTokens: 1_000_000 })!;
    assert.deepEqual(c, { amount: 0.8 + 2, currency: 'CNY' });
    assert.equal(formatCost(c), '¥2.80');
    // Virginia is not built in: unknown, never 0
    const us = pricingFor({ baseUrl: 'https://dashscope-us.aliyuncs.com/compatible-mode/v1' });
    assert.equal(costOf(us, 'qwen-plus', { promptTokens: 1, completionTokens: 1 }), null);
  });

  it('has no cost for a model without a price, and a custom endpoint has no table', () => {
    assert.equal(
      costOf(pricingFor({ baseUrl: INTL }), 'qwen-flash-2099-01-01', { promptTokens: 1, completionTokens: 1 }),
      null,
    );
    assert.equal(priceRegionOf('http://127.0.0.1:9999/v1'), undefined);
    assert.equal(
      costOf(pricingFor({ baseUrl: 'http://127.0.0.1:9999/v1' }), 'qwen-plus', {
        promptTokens: 1,
        completionTokens: 1,
      }),
      null,
    );
    assert.equal(formatCost(null), 'unknown');
  });

  it("the user's prices win over the table and add models, in the user's currency", () => {
    const pricing = pricingFor({
      baseUrl: 'https://dashscope.aliyuncs.com/compatible-mode/v1',
      prices: { currency: 'CNY', models: { 'qwen-plus': { input: 0.8, output: 2 } } },
    });
    const c = costOf(pricing, 'qwen-plus', { promptTokens: 1_000_000, completionTokens: 1_000_000, cachedTokens: 10 })!;
    assert.deepEqual(c.currency, 'CNY');
    close(c.amount, 2.8); // no cachedInput given: cached tokens at the input price
    assert.equal(formatCost(c), '¥2.80');
    assert.equal(formatCost({ amount: 0.000123, currency: 'USD' }), '$0.000123');
    // no cached price given: cache hits saved nothing; with one they save the difference
    assert.equal(cacheSavings(pricing, 'qwen-plus', 1_000_000)!.amount, 0);
    close(cacheSavings(pricingFor({ baseUrl: INTL }), 'qwen-plus', 1_000_000)!.amount, 0.4 - 0.08);
    assert.equal(cacheSavings(pricing, 'mystery', 10), null);
  });

  it('a report adds the rows it can price and counts the calls it cannot', () => {
    const store = new MetricsStore();
    const rec = (model: string, promptTokens: number, completionTokens: number, cachedTokens = 0) =>
      attemptRecord({ startedAt: 60_000, model, promptTokens, completionTokens, cachedTokens });
    for (const r of [rec('qwen-plus', 1000, 100), rec('qwen-plus', 2000, 200, 1024), rec('mystery', 10, 10)])
      store.add(r);
    const report = priceReport(store.report(0, 120_000), pricingFor({ baseUrl: INTL }));
    const plus = report.rows.find((r) => r.model === 'qwen-plus')!;
    assert.equal(plus.cachedTokens, 1024);
    close(plus.cost!.amount, ((3000 - 1024) * 0.4 + 1024 * 0.08 + 300 * 1.2) / 1e6);
    assert.equal(report.rows.find((r) => r.model === 'mystery')!.cost, null);
    assert.equal(report.summary.cost!.unpricedCalls, 1);
    close(report.summary.cost!.amount, plus.cost!.amount);
  });

  it('refuses a bad price with its path and the fix, and keeps the rest of the configuration', () => {
    const bad = validateConfig({
      provider: 'custom',
      baseUrl: 'https://example.com/v1',
      models: { m: { rpm: 60, tpm: 1000 } },
      prices: { currency: 'dollars', models: { m: { input: -1, output: 'cheap' } } },
    });
    assert.equal(bad.ok, false);
    const paths = !bad.ok ? bad.problems.map((p) => p.path).sort() : [];
    assert.deepEqual(paths, ['prices.currency', 'prices.models.m.input', 'prices.models.m.output']);
    const good = validateConfig({
      provider: 'custom',
      baseUrl: 'https://example.com/v1',
      models: { m: { rpm: 60, tpm: 1000 } },
      prices: { currency: 'EUR', models: { m: { input: 1, output: 2 } } },
    });
    assert.ok(good.ok);
    assert.deepEqual(good.ok && good.config.prices, { currency: 'EUR', models: { m: { input: 1, output: 2 } } });
  });
});
