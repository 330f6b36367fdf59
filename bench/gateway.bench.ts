/**
 * npm run bench:gateway — latency added by the gateway and its throughput versus calling
 * the fake provider directly, at 1, 50 and 200 concurrent streams. The fake provider and
 * the gateway (dist/gateway.js) each run in their own process; this process only calls.
 * Targets: added p50 ≤ 1 ms, p99 ≤ 5 ms, throughput ≥ 80 % of direct.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import readline from 'node:readline';
import { machine, printTable } from './table';

const KEY = 'sk-bench-provider-key-0000000000';
const TOKEN = 'bench-gateway-token-000000000000';
const SECONDS = Number(process.env.BENCH_SECONDS ?? 5);

function start(cmd: string[], env: NodeJS.ProcessEnv = {}): Promise<{ child: ChildProcess; url: string }> {
  const child = spawn(process.execPath, cmd, { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'inherit'] });
  return new Promise((resolve) =>
    readline
      .createInterface({ input: child.stdout! })
      .once('line', (l) => resolve({ child, url: (JSON.parse(l) as { url: string }).url })),
  );
}

const agent = new http.Agent({ keepAlive: true, maxSockets: 1000 });

/** One streamed chat completion, read to the end; returns ms. */
function one(base: string, auth: string): Promise<number> {
  const body = JSON.stringify({
    model: 'm',
    stream: true,
    max_tokens: 16,
    messages: [{ role: 'user', content: 'benchmark prompt with a few words in it' }],
  });
  const url = new URL(`${base}/chat/completions`);
  const t0 = performance.now();
  return new Promise((resolve, reject) => {
    const req = http.request(
      {
        host: url.hostname,
        port: url.port,
        path: url.pathname,
        method: 'POST',
        agent,
        headers: {
          authorization: `Bearer ${auth}`,
          'content-type': 'application/json',
          'content-length': Buffer.byteLength(body),
        },
      },
      (res) => {
        res.on('data', () => undefined);
        res.on('end', () =>
          res.statusCode === 200 ? resolve(performance.now() - t0) : reject(new Error(`status ${res.statusCode}`)),
        );
      },
    );
    req.on('error', reject);
    req.end(body);
  });
}

async function load(base: string, auth: string, concurrency: number): Promise<{ lat: number[]; rps: number }> {
  const lat: number[] = [];
  const end = performance.now() + SECONDS * 1000;
  const warmEnd = performance.now() + 1000;
  let done = 0;
  const t0 = performance.now();
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (performance.now() < end) {
        const ms = await one(base, auth);
        if (performance.now() > warmEnd) {
          lat.push(ms);
          done++;
        }
      }
    }),
  );
  lat.sort((a, b) => a - b);
  return { lat, rps: done / ((performance.now() - t0 - 1000) / 1000) };
}

const pct = (a: number[], p: number) => a[Math.min(a.length - 1, Math.floor(p * a.length))]!;

async function main() {
  console.log(
    `bench:gateway on ${machine()} — 2 × ${SECONDS} s per side, interleaved; streams of 8 chunks, fake TTFT 20 ms`,
  );
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'rlm-bench-'));
  const fake = await start([
    '--import',
    'tsx',
    'test/fixtures/fakeProviderMain.ts',
    JSON.stringify({
      apiKey: KEY,
      models: { m: { rpm: 1e9, tpm: 1e12 } },
      ttftMs: 20,
      chunkIntervalMs: 2,
      completionTokens: 16,
    }),
  ]);
  fs.writeFileSync(
    path.join(dir, 'config.json'),
    JSON.stringify({ baseUrl: fake.url, models: { m: { rpm: 100_000_000, tpm: 1_000_000_000_000 } } }),
  );
  const gw = await start(
    [
      ...(process.env.BENCH_PROFILE ? ['--cpu-prof', '--cpu-prof-dir=/tmp/prof'] : []),
      'dist/gateway.js',
      '--config',
      path.join(dir, 'config.json'),
      '--port',
      '0',
      '--token',
      TOKEN,
    ],
    { RLM_API_KEY: KEY },
  );
  const rows: Record<string, string | number>[] = [];
  for (const c of (process.env.BENCH_STREAMS ?? '1,50,200').split(',').map(Number)) {
    // interleave direct and gateway runs, so drift on a shared machine hits both alike
    const pool = (a: Awaited<ReturnType<typeof load>>, b: Awaited<ReturnType<typeof load>>) => ({
      lat: [...a.lat, ...b.lat].sort((x, y) => x - y),
      rps: (a.rps + b.rps) / 2,
    });
    const d1 = await load(fake.url, KEY, c);
    const v1 = await load(`${gw.url}/v1`, TOKEN, c);
    const d2 = await load(fake.url, KEY, c);
    const v2 = await load(`${gw.url}/v1`, TOKEN, c);
    const direct = pool(d1, d2);
    const via = pool(v1, v2);
    const addP50 = pct(via.lat, 0.5) - pct(direct.lat, 0.5);
    const addP99 = pct(via.lat, 0.99) - pct(direct.lat, 0.99);
    const ratio = via.rps / direct.rps;
    rows.push({
      streams: c,
      'direct p50/p99 ms': `${pct(direct.lat, 0.5).toFixed(1)} / ${pct(direct.lat, 0.99).toFixed(1)}`,
      'gateway p50/p99 ms': `${pct(via.lat, 0.5).toFixed(1)} / ${pct(via.lat, 0.99).toFixed(1)}`,
      'added p50 ms': addP50.toFixed(2),
      'added p99 ms': addP99.toFixed(2),
      'direct req/s': Math.round(direct.rps),
      'gateway req/s': Math.round(via.rps),
      'throughput %': (ratio * 100).toFixed(0),
      'targets met': addP50 <= 1 && addP99 <= 5 && ratio >= 0.8 ? 'yes' : 'NO',
    });
  }
  printTable('Gateway overhead (targets: added p50 ≤ 1 ms, p99 ≤ 5 ms, throughput ≥ 80 % of direct)', rows);
  gw.child.kill('SIGTERM');
  fake.child.kill('SIGTERM');
  fs.rmSync(dir, { recursive: true, force: true });
  agent.destroy();
}

void main();
