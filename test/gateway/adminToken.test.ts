/**
 * Two tokens: the caller token (what terminals and tools hold) uses models and reads the
 * monitor; only the admin token (the owner's) changes the config or clears history. A
 * script in a terminal can no longer rewrite your limits or erase your records.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { GATEWAY_TOKEN, startStack, type Stack } from '../support/stack';

const ADMIN = 'admin-token-for-tests-0123456789';

describe('caller token and admin token', () => {
  let s: Stack;
  before(async () => {
    s = await startStack({ gateway: { adminToken: ADMIN } });
  });
  after(() => s.close());

  const as = (token: string, path: string, init: RequestInit = {}) =>
    fetch(`${s.url}${path}`, {
      ...init,
      headers: {
        authorization: `Bearer ${token}`,
        'content-type': 'application/json',
        ...(init.headers as Record<string, string> | undefined),
      },
    });

  it('the caller token uses models and reads every view', async () => {
    const r = await s.client.chat.completions.create({
      model: 'qwen-plus',
      messages: [{ role: 'user', content: 'hi' }],
    });
    assert.ok(r.choices.length > 0);
    for (const route of [
      '/_rlm/health',
      '/_rlm/state',
      '/_rlm/config',
      '/_rlm/metrics?window=1h',
      '/_rlm/requests?limit=5',
      '/metrics',
    ]) {
      assert.equal((await as(GATEWAY_TOKEN, route)).status, 200, route);
    }
  });

  it('the caller token cannot change the config or clear history, and is told what to use', async () => {
    const config = (await (await as(GATEWAY_TOKEN, '/_rlm/config')).json()) as Record<string, unknown>;
    const put = await as(GATEWAY_TOKEN, '/_rlm/config', {
      method: 'PUT',
      body: JSON.stringify({ ...config, maxQueueMs: 1 }),
    });
    assert.equal(put.status, 403);
    assert.match(
      ((await put.json()) as { error: { message: string } }).error.message,
      /needs the gateway's admin token/,
    );
    assert.notEqual(s.gateway.config.maxQueueMs, 1);
    const del = await as(GATEWAY_TOKEN, '/_rlm/history', { method: 'DELETE' });
    assert.equal(del.status, 403);
    assert.ok(s.gateway.metrics.report(0, Date.now() + 1).summary.totalCalls >= 1, 'nothing was cleared');
  });

  it('the admin token does both', async () => {
    const config = (await (await as(ADMIN, '/_rlm/config')).json()) as Record<string, unknown>;
    assert.equal(
      (await as(ADMIN, '/_rlm/config', { method: 'PUT', body: JSON.stringify({ ...config, maxQueueMs: 2_000 }) }))
        .status,
      200,
    );
    assert.equal(s.gateway.config.maxQueueMs, 2_000);
    assert.equal((await as(ADMIN, '/v1/models')).status, 200);
  });

  it('the page opens with either token and holds the one it was opened with', async () => {
    for (const token of [ADMIN, GATEWAY_TOKEN]) {
      const html = await (await fetch(`${s.url}/?token=${token}`)).text();
      assert.match(html, new RegExp(`data-token="${token}"`));
    }
    assert.equal((await fetch(`${s.url}/?token=not-a-token-at-all-123`)).status, 401);
  });
});
