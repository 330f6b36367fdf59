/**
 * Team mode's edges, with a real Redis and no load: joining and leaving without a restart, a
 * refused password (the gateway goes on alone and says which setting to fix), what the team
 * looks like on /_rlm/team and /metrics, and that nothing secret reaches Redis.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Redis } from 'ioredis';
import type { HealthInfo } from '../../src/core/protocol';
import type { TeamView } from '../../src/core/team';
import { checkRedisUrl } from '../../src/gateway/team/store';
import { startGatewayProcess } from '../support/gatewayProcess';
import { startRedis, type RedisProcess } from '../support/redisProcess';
import { eventually, GATEWAY_TOKEN, PROVIDER_KEY, startStack, type Stack } from '../support/stack';

const SETTING = 'rateLimitMonitor.team.redisUrl';
const PROMPT = 'a prompt that must never reach the team store 4f1c';

describe('team mode: joining, leaving, refusing, and what Redis holds', () => {
  let redis: RedisProcess;
  let secured: RedisProcess;
  let stack: Stack;
  before(async () => {
    [redis, secured] = await Promise.all([startRedis(), startRedis({ password: 'right-password-123' })]);
    stack = await startStack();
  });
  after(async () => {
    await stack?.close();
    await Promise.all([redis?.stop(), secured?.stop()]);
  });

  it('a URL that cannot be right is refused with the setting named and the fix', () => {
    assert.match(checkRedisUrl('localhost:6379', SETTING)!, /^rateLimitMonitor\.team\.redisUrl: .*redis:\/\/HOST:PORT/);
    assert.match(checkRedisUrl('http://cache:6379', SETTING)!, /scheme 'http:' is not Redis's/);
    assert.equal(checkRedisUrl('rediss://cache.example:6380', SETTING), undefined);
    // a password in a bad URL is not repeated in the message
    assert.doesNotMatch(checkRedisUrl('redis//:hunter2@cache', SETTING)!, /hunter2/);
  });

  it('joins without a restart: online, itself among the machines, team gauges on /metrics', async () => {
    await stack.gateway.setTeam({ url: redis.url, nodeName: 'alice', version: 'test', setting: SETTING });
    const r = await stack.client.chat.completions.create({
      model: 'qwen-plus',
      messages: [{ role: 'user', content: PROMPT }],
      max_tokens: 20,
    });
    assert.ok(r.choices[0]);
    let view: TeamView | undefined;
    await eventually(async () => {
      view = (await (await stack.call('/_rlm/team')).json()) as TeamView;
      return view.machines.some((m) => m.name === 'alice' && m.minute.requests === 1);
    }, 'the team view counts the request');
    assert.equal(view!.state, 'online');
    assert.equal(view!.models.find((m) => m.model === 'qwen-plus')?.requests, 1);
    const metrics = await (await stack.call('/metrics')).text();
    assert.match(metrics, /rlm_team_online\{state="online"\} 1/);
    assert.match(metrics, /rlm_team_window_requests\{model="qwen-plus"\} 1/);
  });

  it('Redis holds no provider key, no local token and no prompt text', async () => {
    const client = new Redis(redis.url);
    try {
      const keys = await client.keys('*');
      assert.ok(keys.length > 0);
      let everything = keys.join('\n');
      for (const key of keys) {
        const type = await client.type(key);
        if (type === 'string') everything += (await client.get(key)) ?? '';
        else if (type === 'hash') everything += JSON.stringify(await client.hgetall(key));
        else if (type === 'zset') everything += (await client.zrange(key, '0', '-1', 'WITHSCORES')).join(' ');
      }
      for (const secret of [PROVIDER_KEY, GATEWAY_TOKEN, PROMPT, 'prompt that must never'])
        assert.ok(!everything.includes(secret), `Redis holds ${secret.slice(0, 12)}…`);
    } finally {
      client.disconnect();
    }
  });

  it('leaves without a restart: /_rlm/team is 404 and requests go on alone', async () => {
    await stack.gateway.setTeam(undefined);
    const res = await stack.call('/_rlm/team');
    assert.equal(res.status, 404);
    assert.match(((await res.json()) as { error: { message: string } }).error.message, /not in a team/);
    const r = await stack.client.chat.completions.create({
      model: 'qwen-plus',
      messages: [{ role: 'user', content: 'hi' }],
    });
    assert.ok(r.choices[0]);
    assert.doesNotMatch(await (await stack.call('/metrics')).text(), /rlm_team_online/);
  });

  it('a refused password: the gateway admits alone and says which setting to fix', async () => {
    await stack.gateway.setTeam({ url: secured.url, password: 'wrong-password', version: 'test', setting: SETTING });
    let health: HealthInfo | undefined;
    await eventually(async () => {
      health = (await (await stack.call('/_rlm/health')).json()) as HealthInfo;
      return health.team?.state === 'offline' && /password/.test(health.team.lastError ?? '');
    }, 'health says the password was refused');
    assert.match(health!.team!.lastError!, /rateLimitMonitor\.team\.redisUrl: Redis refused the password/);
    assert.match(health!.team!.lastError!, /RLM_REDIS_PASSWORD|Join Team/);
    assert.doesNotMatch(JSON.stringify(health), /wrong-password/);
    const r = await stack.client.chat.completions.create({
      model: 'qwen-plus',
      messages: [{ role: 'user', content: 'hi' }],
    });
    assert.ok(r.choices[0], 'requests still flow');
    // the right password, without a restart: online
    await stack.gateway.setTeam({
      url: secured.url,
      password: 'right-password-123',
      version: 'test',
      setting: SETTING,
    });
    await eventually(
      async () => ((await (await stack.call('/_rlm/health')).json()) as HealthInfo).team?.state === 'online',
      'joined with the right password',
    );
    await stack.gateway.setTeam(undefined);
  });

  it("rediss:// (TLS): a gateway trusting the server's certificate joins over TLS", async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'rlm-tls-'));
    const certFile = path.join(dir, 'cert.pem');
    const keyFile = path.join(dir, 'key.pem');
    // a certificate for 127.0.0.1 (scripts/setup-redis.sh installs openssl with redis-server)
    execFileSync(
      'openssl',
      [
        ...['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-days', '1', '-subj', '/CN=127.0.0.1'],
        ...['-addext', 'subjectAltName=IP:127.0.0.1', '-keyout', keyFile, '-out', certFile],
      ],
      { stdio: 'ignore' },
    );
    const tls = await startRedis({ tls: { certFile, keyFile } });
    assert.match(tls.url, /^rediss:/);
    // the usual way to trust a private CA in Node: NODE_EXTRA_CA_CERTS
    const gw = await startGatewayProcess(
      { models: { 'qwen-plus': { rpm: 60, tpm: 100_000 } } },
      stack.gateway.config.baseUrl,
      ['--redis', tls.url],
      {
        env: { NODE_EXTRA_CA_CERTS: certFile },
      },
    );
    try {
      await eventually(
        async () => (await gw.control<HealthInfo>('/_rlm/health')).team?.state === 'online',
        'joined over TLS',
        10_000,
      );
    } finally {
      await gw.stop();
      await tls.stop();
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});
