// npm start: the gateway with the fake provider as its upstream and gentle demo traffic.
// Prints the gateway URL and the two lines to paste into a shell; Ctrl-C stops everything.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { DEMO_KEY, startDemoProvider, startGateway, stopAllOnSignal } from './children.mjs';
import OpenAI from 'openai';

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'rlm-demo-'));

stopAllOnSignal(dir);

const models = { 'qwen-plus': { rpm: 60, tpm: 100000 }, 'qwen-turbo': { rpm: 120, tpm: 200000 } };
const fakeUrl = await startDemoProvider(models);
const configFile = path.join(dir, 'config.json');
fs.writeFileSync(
  configFile,
  JSON.stringify({
    provider: 'dashscope',
    models,
    workspaces: { 'ws-demo': { name: 'Demo team', models: { 'qwen-plus': { rpm: 30, tpm: 50000 } } } },
    fallbacks: { 'qwen-plus': ['qwen-turbo'] },
    maxQueueMs: 10000,
  }),
);
const tokenFile = path.join(dir, 'token');
// A private state directory and a free port (unless RLM_PORT says otherwise): the demo must
// neither join nor disturb a gateway the user already runs on 8787.
const url = await startGateway({
  configFile,
  upstream: fakeUrl,
  port: process.env.RLM_PORT ?? '0',
  stateDir: path.join(dir, 'state'),
  args: ['--token-file', tokenFile],
  env: { RLM_API_KEY: DEMO_KEY },
});
const token = fs.readFileSync(tokenFile, 'utf8').trim();
// the owner's token: the page with it can edit limits; the caller token above cannot
const adminToken = fs.readFileSync(path.join(dir, 'state', 'admin-token'), 'utf8').trim();

console.log(`
LLM Rate Limit Monitor gateway: ${url}  (upstream: the fake provider at ${fakeUrl})

Paste into a shell to send your own requests through it:
  export OPENAI_BASE_URL=${url}/v1
  export OPENAI_API_KEY=${token}

Live state: curl -s -H "Authorization: Bearer ${token}" ${url}/_rlm/metrics?window=1h
The monitor page (yours: it can edit limits): ${url}/?token=${adminToken}
Demo traffic runs now (qwen-plus 60 RPM, falls back to qwen-turbo). Ctrl-C stops.
`);

const client = new OpenAI({ baseURL: `${url}/v1`, apiKey: token, maxRetries: 0 });
const team = new OpenAI({
  baseURL: `${url}/v1`,
  apiKey: token,
  maxRetries: 0,
  defaultHeaders: { 'x-rlm-workspace': 'ws-demo' },
});
let i = 0;
setInterval(() => {
  const n = i++;
  const c = n % 3 === 0 ? team : client;
  const body = {
    model: 'qwen-plus',
    messages: [{ role: 'user', content: `Demo request ${n}: ${'tell me about rate limits '.repeat(1 + (n % 20))}` }],
    max_tokens: 200,
  };
  const call =
    n % 2 === 0
      ? c.chat.completions.create({ ...body, stream: true }).then(async (s) => {
          for await (const _ of s) void _;
        })
      : c.chat.completions.create(body);
  call.catch((e) => console.log(`request ${n}: ${e.status ?? ''} ${e.message.split('.')[0]}`));
}, 600);

setInterval(async () => {
  const r = await fetch(`${url}/_rlm/metrics?window=1h`, { headers: { authorization: `Bearer ${token}` } })
    .then((x) => x.json())
    .catch(() => undefined);
  if (!r) return;
  const rows = r.rows
    .map(
      (row) =>
        `${row.model}@${row.workspace}: ${row.totalCalls} calls, ${row.failedCalls} failed, peak ${row.peakRpm} RPM`,
    )
    .join(' | ');
  console.log(
    `[${new Date().toLocaleTimeString()}] ${r.summary.totalCalls} calls, avg latency ${r.summary.avgLatencyMs ?? '-'} ms — ${rows}`,
  );
}, 5000);
