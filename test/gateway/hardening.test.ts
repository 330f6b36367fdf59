/**
 * Hostile or broken input gets a clear refusal and costs nothing: a config body too large to
 * be real, a model name that would break a header after the provider was already paid.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { MAX_EVENT_STREAMS } from '../../src/gateway/control';
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
    const res = await s.call('/_rlm/config', {
      method: 'PUT',
      headers: { 'content-type': 'application/json' },
      body: huge,
    });
    assert.equal(res.status, 413);
    assert.match(((await res.json()) as { error: { message: string } }).error.message, /over 1048576 bytes/);
    assert.equal(s.gateway.config, before);
  });

  it('refuses a model name with a newline with 400, before the provider is called or charged', async () => {
    const calls = s.fake.readCounters().requests;
    const records = s.gateway.metrics.report(0, Date.now() + 1).summary.totalCalls;
    const res = await s.call('/v1/chat/completions', {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ model: 'qwen-plus\r\nx-evil: 1', messages: [{ role: 'user', content: 'x' }] }),
    });
    assert.equal(res.status, 400);
    const body = (await res.json()) as { error: { code: string; message: string } };
    assert.equal(body.error.code, 'invalid_model');
    assert.match(body.error.message, /"model" must be a model id/);
    assert.equal(s.fake.readCounters().requests, calls, 'the provider was not called');
    assert.equal(
      s.gateway.metrics.report(0, Date.now() + 1).summary.totalCalls,
      records,
      'nothing was charged or recorded',
    );
    for (const ok of ['qwen-plus', 'qwen-plus-2025-07-28', 'qwen3-coder-plus', 'ft:gpt-4o:org:x:1', 'meta/llama-3']) {
      const r = await s.call('/v1/chat/completions', {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ model: ok, messages: [{ role: 'user', content: 'x' }] }),
      });
      assert.notEqual(r.status, 400, ok);
      await r.text();
    }
  });

  it('keeps metrics to the configured models plus "other", whatever names callers send (records keep them)', async () => {
    for (let i = 0; i < 30; i++) {
      const r = await s.call('/v1/chat/completions', {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ model: `random-model-${i}`, messages: [{ role: 'user', content: 'x' }] }),
      });
      await r.text();
    }
    const prom = await (await s.call('/metrics')).text();
    const models = new Set([...prom.matchAll(/model="([^"]+)"/g)].map((m) => m[1]));
    assert.ok(!models.has('random-model-7'), 'no series per unknown name');
    assert.ok(models.has('other'));
    assert.ok(models.size <= Object.keys(s.gateway.config.models).length + 1, [...models].join(', '));
    const { records } = (await (await s.call('/_rlm/requests?limit=100')).json()) as { records: { model: string }[] };
    assert.ok(
      records.some((r) => r.model === 'random-model-7'),
      'the record keeps the name',
    );
  });

  it('caps open event streams, and the cap frees when one closes', async () => {
    const open: AbortController[] = [];
    for (let i = 0; i < MAX_EVENT_STREAMS; i++) {
      const c = new AbortController();
      const r = await s.call('/_rlm/events', { signal: c.signal });
      assert.equal(r.status, 200);
      open.push(c);
    }
    const over = await s.call('/_rlm/events');
    assert.equal(over.status, 503);
    assert.match(
      ((await over.json()) as { error: { message: string } }).error.message,
      /event streams are open already/,
    );
    for (const c of open) c.abort();
    await new Promise((r) => setTimeout(r, 200));
    const again = new AbortController();
    assert.equal((await s.call('/_rlm/events', { signal: again.signal })).status, 200);
    again.abort();
  });
});

describe('shutdown', () => {
  it('does not wait for an open event stream (it had taken the full 12 s grace period)', async () => {
    const s = await startStack();
    const stream = await s.call('/_rlm/events');
    assert.equal(stream.status, 200);
    const t0 = Date.now();
    await s.gateway.close(10_000);
    const ms = Date.now() - t0;
    await s.fake.close();
    console.log(`# shutdown with an open event stream: ${ms} ms`);
    assert.ok(ms < 5_000, `${ms} ms`);
  });
});
