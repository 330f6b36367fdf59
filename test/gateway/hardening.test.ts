/**
 * Hostile or broken input gets a clear refusal and costs nothing: a config body too large to
 * be real, a model name that would break a header after the provider was already paid.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { startStack, type Stack } from '../support/stack';

describe('hardening: bad input is refused before it costs anything', () => {
  let s: Stack;
  before(async () => {
    s = await startStack();
  });
  after(() => s.close());

  it('refuses a config body over 1 MB with 413, and keeps the config', async () => {
    const before = s.gateway.config;
    const huge = JSON.stringify({ ...before, padding: 'x'.repeat(2 * 1024 * 1024) });
    const res = await s.call('/_rlm/config', { method: 'PUT', headers: { 'content-type': 'application/json' }, body: huge });
    assert.equal(res.status, 413);
    assert.match(((await res.json()) as { error: { message: string } }).error.message, /over 1048576 bytes/);
    assert.equal(s.gateway.config, before);
  });

  it('refuses a model name with a newline with 400, before the provider is called or charged', async () => {
    const calls = s.fake.readCounters().requests;
    const records = s.gateway.metrics.report(0, Date.now() + 1).summary.totalCalls;
    const res = await s.call('/v1/chat/completions', { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ model: 'qwen-plus\r\nx-evil: 1', messages: [{ role: 'user', content: 'x' }] }) });
    assert.equal(res.status, 400);
    const body = (await res.json()) as { error: { code: string; message: string } };
    assert.equal(body.error.code, 'invalid_model');
    assert.match(body.error.message, /"model" must be a model id/);
    assert.equal(s.fake.readCounters().requests, calls, 'the provider was not called');
    assert.equal(s.gateway.metrics.report(0, Date.now() + 1).summary.totalCalls, records, 'nothing was charged or recorded');
    for (const ok of ['qwen-plus', 'qwen-plus-2025-07-28', 'qwen3-coder-plus', 'ft:gpt-4o:org:x:1', 'meta/llama-3']) {
      const r = await s.call('/v1/chat/completions', { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ model: ok, messages: [{ role: 'user', content: 'x' }] }) });
      assert.notEqual(r.status, 400, ok);
      await r.text();
    }
  });
});
