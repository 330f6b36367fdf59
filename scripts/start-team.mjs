// npm run start:team: team mode to watch — one Redis (Debian's redis-server, persistence off,
// a free port), the fake provider, and three gateways as three machines of one account
// (alice, bob, carol: state folders and ports of their own), with uneven demo traffic through
// each. Prints each gateway's monitor page; the Overview's Team section and /_rlm/team fill
// within seconds. Ctrl-C stops everything. RLM_TEAM_KILL_REDIS_AFTER_S=20 kills Redis after
// 20 s and starts it again 15 s later, to watch the machines fall back to their share and rejoin.
import { execFileSync, spawn } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { adopt, DEMO_KEY, startDemoProvider, startGateway, stopAllOnSignal } from './children.mjs';
import OpenAI from 'openai';

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'rlm-team-'));
const models = { 'qwen-plus': { rpm: 120, tpm: 200000 } };

stopAllOnSignal(dir);

async function freePort() {
  const server = net.createServer();
  await new Promise((r) => server.listen(0, '127.0.0.1', r));
  const { port } = server.address();
  await new Promise((r) => server.close(r));
  return port;
}

function startRedis(binary, port) {
  const child = spawn(binary, ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'], {
    stdio: 'ignore',
  });
  adopt(child);
  return new Promise((r) => setTimeout(() => r(child), 300));
}

const redisServer = execFileSync('bash', ['scripts/setup-redis.sh'], { encoding: 'utf8' }).trim().split('\n').pop();
const redisPort = await freePort();
let redis = await startRedis(redisServer, redisPort);
const redisUrl = `redis://127.0.0.1:${redisPort}`;
const fakeUrl = await startDemoProvider(models);
const configFile = path.join(dir, 'config.json');
fs.writeFileSync(configFile, JSON.stringify({ provider: 'dashscope', models, maxQueueMs: 10000 }));

const names = ['alice', 'bob', 'carol'];
const machines = await Promise.all(
  names.map(async (name) => {
    const state = path.join(dir, name);
    const url = await startGateway({
      configFile,
      upstream: fakeUrl,
      stateDir: state,
      args: ['--node-name', name],
      env: { RLM_API_KEY: DEMO_KEY, RLM_REDIS_URL: redisUrl },
    });
    const token = fs.readFileSync(path.join(state, 'token'), 'utf8').trim();
    const adminToken = fs.readFileSync(path.join(state, 'admin-token'), 'utf8').trim();
    return { name, url, token, adminToken };
  }),
);

console.log(`
Team mode: three gateways on one account (qwen-plus ${models['qwen-plus'].rpm} RPM), one Redis at ${redisUrl}
${machines.map((m) => `  ${m.name.padEnd(6)} ${m.url}/?token=${m.adminToken}`).join('\n')}
Each page's Overview shows the Team section; curl -H "Authorization: Bearer <token>" <url>/_rlm/team serves it.
Demo traffic: alice 60 %, bob 30 %, carol 10 % of about twice the account's RPM. Ctrl-C stops.
`);

// twice the account's RPM in all, split unevenly: the team shares the limit, nobody gets a 429 from the provider
const perSecond = (models['qwen-plus'].rpm / 60) * 2;
const parts = [0.6, 0.3, 0.1];
machines.forEach((m, k) => {
  const client = new OpenAI({ baseURL: `${m.url}/v1`, apiKey: m.token, maxRetries: 0 });
  let i = 0;
  setInterval(
    () => {
      const n = i++;
      client.chat.completions
        .create({
          model: 'qwen-plus',
          messages: [{ role: 'user', content: `${m.name} ${n}: ${'tell me about rate limits '.repeat(1 + (n % 20))}` }],
          max_tokens: 200,
        })
        .catch(
          (e) => n % 20 === 0 && console.log(`${m.name} request ${n}: ${e.status ?? ''} ${e.message.split('.')[0]}`),
        );
    },
    1000 / (perSecond * parts[k]),
  );
});

const killAfter = Number(process.env.RLM_TEAM_KILL_REDIS_AFTER_S ?? 0);
if (killAfter > 0)
  setTimeout(() => {
    console.log('Redis killed: each gateway falls back to its share (1/3)');
    redis.kill('SIGKILL');
    setTimeout(async () => {
      redis = await startRedis(redisServer, redisPort);
      console.log('Redis started again (empty): the gateways rejoin');
    }, 15_000);
  }, killAfter * 1000);

setInterval(async () => {
  const m = machines[0];
  const t = await fetch(`${m.url}/_rlm/team`, { headers: { authorization: `Bearer ${m.adminToken}` } })
    .then((x) => x.json())
    .catch(() => undefined);
  if (!t?.machines) return;
  const use = t.models.map((x) => `${x.model} ${x.requests}/${x.limits?.rpm ?? '?'} RPM`).join(', ');
  const who = t.machines.map((x) => `${x.name} ${x.minute.requests}`).join(' · ');
  console.log(`[team ${t.state}] last minute: ${use} — this minute per machine: ${who}`);
}, 5000);
