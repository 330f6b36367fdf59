/**
 * Who spends the quota: the caller's label (x-rlm-source, else the User-Agent's product) and
 * the per-source totals of a window, with their share, 429s and cost.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type http from 'node:http';
import { pricingFor } from '../../src/core/cost';
import { MAX_SOURCES, OTHER_SOURCES, SourceStore } from '../../src/core/sources';
import type { AttemptRecord } from '../../src/core/types';
import { sourceOf } from '../../src/gateway/request';
import { attemptRecord } from '../support/shapes';

const req = (headers: Record<string, string>) => ({ headers }) as unknown as http.IncomingMessage;

const rec = (source: string, model: string, tokens: number, extra: Partial<AttemptRecord> = {}) =>
  attemptRecord({ startedAt: 120_000, source, model, promptTokens: tokens, ...extra });

describe('sources', () => {
  it("names the caller by x-rlm-source, else by its User-Agent's product", () => {
    assert.equal(sourceOf(req({ 'x-rlm-source': 'nightly-eval', 'user-agent': 'curl/8.5.0' })), 'nightly-eval');
    assert.equal(sourceOf(req({ 'user-agent': 'OpenAI/JS 6.49.0' })), 'OpenAI/JS');
    assert.equal(sourceOf(req({ 'user-agent': 'OpenAI/Python 1.99.1' })), 'OpenAI/Python');
    assert.equal(sourceOf(req({ 'user-agent': 'curl/8.5.0' })), 'curl');
    assert.equal(sourceOf(req({})), 'external');
    // hostile labels: no control characters, no newline, bounded
    assert.equal(sourceOf(req({ 'x-rlm-source': `a\u0000b\nc${'x'.repeat(200)}` })).length, 64);
    assert.equal(sourceOf(req({ 'user-agent': '\u0001\u0002' })), 'external');
  });

  it('adds up each source over its models: share of tokens, provider 429s apart from local refusals, cost', () => {
    const store = new SourceStore();
    store.add(rec('OpenAI/JS', 'qwen-plus', 3_000));
    store.add(rec('OpenAI/JS', 'qwen-plus', 0, { status: 429, outcome: 'error', errorKind: 'tpm' }));
    store.add(rec('curl', 'qwen-plus', 1_000));
    store.add(rec('curl', 'mystery', 0, { status: 429, outcome: 'rejected', errorKind: 'rpm' }));
    const pricing = pricingFor({ baseUrl: 'https://dashscope-intl.aliyuncs.com/compatible-mode/v1' });
    const [js, curl] = store.report(0, 180_000, pricing);
    assert.deepEqual(
      { source: js!.source, calls: js!.calls, tokens: js!.tokens, share: js!.share, limited: js!.providerLimited },
      { source: 'OpenAI/JS', calls: 2, tokens: 3_000, share: 0.75, limited: 1 },
    );
    assert.ok(Math.abs(js!.cost!.amount - (3_000 * 0.4) / 1e6) < 1e-12);
    assert.equal(curl!.localRejections, 1);
    assert.equal(curl!.providerLimited, 0);
    assert.equal(curl!.cost, null, 'one of its models has no price: unknown, not a partial sum');
    assert.deepEqual(
      store.report(0, 180_000, pricing, 'mystery').map((r) => r.source),
      ['curl'],
    );
    assert.deepEqual(store.report(180_000, 240_000), []);
  });

  it('keeps at most MAX_SOURCES labels; the rest count as one row', () => {
    const store = new SourceStore();
    for (let i = 0; i < MAX_SOURCES + 50; i++) store.add(rec(`s${i}`, 'm', 1));
    const rows = store.report(0, 180_000);
    assert.equal(rows.length, MAX_SOURCES + 1);
    assert.equal(rows.find((r) => r.source === OTHER_SOURCES)!.calls, 50);
    store.dropBefore(10 * 60_000);
    assert.deepEqual(store.report(0, 180_000), []);
  });
});
