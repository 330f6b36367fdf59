import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import { startStack, GATEWAY_TOKEN, type Stack } from '../support/stack';

/** Raw HTTP so Host and Origin can be set as an attacker would. */
function raw(
  port: number,
  opts: { path?: string; method?: string; headers?: Record<string, string>; body?: string | Buffer },
): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = http.request(
      {
        host: '127.0.0.1',
        port,
        path: opts.path ?? '/v1/chat/completions',
        method: opts.method ?? 'POST',
        headers: opts.headers ?? {},
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => resolve({ status: res.statusCode!, body: Buffer.concat(chunks).toString() }));
      },
    );
    req.on('error', reject);
    req.end(opts.body);
  });
}

describe('gateway security: every refusal, and nothing reaches the provider', () => {
  let s: Stack;
  const good = () => ({
    host: `127.0.0.1:${s.gateway.port}`,
    authorization: `Bearer ${GATEWAY_TOKEN}`,
    'content-type': 'application/json',
  });
  const chat = JSON.stringify({ model: 'qwen-plus', messages: [{ role: 'user', content: 'hi' }] });
  before(async () => {
    s = await startStack({
      gateway: { bodyLimitBytes: 1024, workspaceTokens: { 'ws-a': 'workspace-a-token-0123456789' } },
      config: { workspaces: { 'ws-a': { name: 'A', models: {} } } },
    });
  });
  after(() => s.close());

  const cases: [string, () => Parameters<typeof raw>[1], number, RegExp][] = [
    ['no token', () => ({ headers: { ...good(), authorization: '' }, body: chat }), 401, /gateway token/],
    [
      'a wrong token',
      () => ({ headers: { ...good(), authorization: 'Bearer nope-nope-nope-nope' }, body: chat }),
      401,
      /gateway token/,
    ],
    [
      'a foreign Host (DNS rebinding)',
      () => ({ headers: { ...good(), host: `evil.example:${s.gateway.port}` }, body: chat }),
      403,
      /Host/,
    ],
    [
      'a loopback Host with another port',
      () => ({ headers: { ...good(), host: '127.0.0.1:1' }, body: chat }),
      403,
      /Host/,
    ],
    [
      'a web page Origin',
      () => ({ headers: { ...good(), origin: 'https://evil.example' }, body: chat }),
      403,
      /Origin/,
    ],
    [
      'a body over the limit',
      () => ({
        headers: good(),
        body: JSON.stringify({ model: 'qwen-plus', messages: [{ role: 'user', content: 'x'.repeat(2000) }] }),
      }),
      413,
      /over the gateway's limit/,
    ],
    ['malformed JSON', () => ({ headers: good(), body: '{"model": "qwen-plus", ' }), 400, /not a JSON object/],
    ['a missing model', () => ({ headers: good(), body: JSON.stringify({ messages: [] }) }), 400, /no "model"/],
    [
      'an unknown workspace',
      () => ({ headers: { ...good(), 'x-rlm-workspace': 'nobody' }, body: chat }),
      400,
      /Unknown workspace 'nobody'/,
    ],
    [
      'a bad x-rlm-max-wait-ms',
      () => ({ headers: { ...good(), 'x-rlm-max-wait-ms': 'soon' }, body: chat }),
      400,
      /x-rlm-max-wait-ms/,
    ],
  ];
  for (const [name, make, status, message] of cases) {
    it(`refuses ${name} with ${status}`, async () => {
      const before = s.fake.readCounters().requests;
      const r = await raw(s.gateway.port, make());
      assert.equal(r.status, status, r.body);
      const err = JSON.parse(r.body).error;
      assert.match(err.message, message);
      assert.equal(s.fake.readCounters().requests, before, 'nothing reached the provider');
      assert.ok(!r.body.includes(GATEWAY_TOKEN));
    });
  }

  it('accepts localhost and the dashboard origin, and a per-workspace token picks its workspace', async () => {
    const r = await raw(s.gateway.port, {
      headers: { ...good(), host: `localhost:${s.gateway.port}`, origin: `http://127.0.0.1:${s.gateway.port}` },
      body: chat,
    });
    assert.equal(r.status, 200, r.body);
    const w = await raw(s.gateway.port, {
      headers: { ...good(), authorization: 'Bearer workspace-a-token-0123456789', 'x-rlm-workspace': 'default' },
      body: chat,
    });
    assert.equal(w.status, 200, w.body);
    assert.equal(s.gateway.history.recent({ limit: 1 })[0]!.workspace, 'ws-a', 'a pinned token beats the header');
  });

  it('guards the control routes with the same token', async () => {
    const r = await raw(s.gateway.port, {
      method: 'GET',
      path: '/_rlm/state',
      headers: { host: `127.0.0.1:${s.gateway.port}` },
    });
    assert.equal(r.status, 401);
    const ok = await raw(s.gateway.port, { method: 'GET', path: '/_rlm/health', headers: good() });
    assert.equal(JSON.parse(ok.body).service, 'llm-rate-limit-monitor');
  });
});
