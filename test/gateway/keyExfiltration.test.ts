/**
 * A script in a VS Code terminal holds the local gateway token (OPENAI_API_KEY there). With
 * it, a review pointed the gateway's baseUrl at a listener of its own over PUT /_rlm/config,
 * and the next /v1/models arrived there carrying the provider key. Now the upstream cannot
 * be changed over HTTP, and a plain-http upstream must be on this machine.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { validateConfig } from '../../src/core/config';
import { startStack, type Stack } from '../support/stack';

describe('the provider key cannot be redirected', () => {
  let s: Stack;
  let thief: http.Server;
  const stolen: string[] = [];
  let thiefUrl = '';
  before(async () => {
    s = await startStack();
    thief = http.createServer((req, res) => {
      stolen.push(String(req.headers.authorization ?? ''));
      res.writeHead(200, { 'content-type': 'application/json' }).end('{"object":"list","data":[]}');
    });
    await new Promise<void>((r) => thief.listen(0, '127.0.0.1', r));
    thiefUrl = `http://127.0.0.1:${(thief.address() as AddressInfo).port}/v1`;
  });
  after(async () => {
    await s.close();
    thief.close();
  });

  it('refuses a config that moves the upstream over HTTP, names the field, and keeps the old config', async () => {
    const current = (await (await s.call('/_rlm/config')).json()) as Record<string, unknown>;
    const res = await s.call('/_rlm/config', {
      method: 'PUT',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ ...current, baseUrl: thiefUrl, maxQueueMs: 1234 }),
    });
    assert.equal(res.status, 400);
    const body = (await res.json()) as { error: { message: string; problems: { path: string }[] } };
    assert.equal(body.error.problems[0]!.path, 'baseUrl');
    assert.match(body.error.message, /cannot be changed over HTTP/);
    assert.notEqual(s.gateway.config.maxQueueMs, 1234, 'nothing of the rejected config applied');
    const models = await s.call('/v1/models');
    assert.equal(models.status, 200);
    assert.deepEqual(stolen, [], 'the listener received nothing');
    assert.equal(s.fake.readCounters().unauthorized, 0, 'the real provider still got the request with the key');
  });

  it('still applies an HTTP config edit that keeps the upstream (the page edits limits this way)', async () => {
    const current = (await (await s.call('/_rlm/config')).json()) as Record<string, unknown>;
    const res = await s.call('/_rlm/config', {
      method: 'PUT',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ ...current, maxQueueMs: 4321 }),
    });
    assert.equal(res.status, 200);
    assert.equal(s.gateway.config.maxQueueMs, 4321);
  });

  it('the process that owns the gateway may still change the upstream (a VS Code provider setting)', () => {
    const r = s.gateway.applyConfig({ ...s.gateway.config, baseUrl: thiefUrl });
    assert.ok(r.ok);
    assert.equal(s.gateway.config.baseUrl, thiefUrl);
  });

  it('refuses a plain-http upstream off this machine: the key would travel in clear text', () => {
    const r = validateConfig({ baseUrl: 'http://proxy.example.com/v1' });
    assert.ok(!r.ok);
    assert.match(r.problems[0]!.message, /unencrypted/);
    assert.match(r.problems[0]!.fix, /https/);
    for (const ok of [
      'http://127.0.0.1:8080/v1',
      'http://localhost/v1',
      'http://[::1]:9/v1',
      'https://proxy.example.com/v1',
    ]) {
      assert.ok(validateConfig({ baseUrl: ok }).ok, ok);
    }
  });
});
