/**
 * npm run bench:dashboard — the dashboard app in real Chromium: first render with 24 h of
 * data for 20 models and 2 workspaces, applying one new record, and the bundles' gzip sizes.
 * Targets: first render ≤ 300 ms; one new record ≤ 50 ms.
 */
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import zlib from 'node:zlib';
import * as esbuild from 'esbuild';
import { chromium } from 'playwright-core';
import { MetricsStore } from '../src/core/metrics';
import type { DashboardSnapshot, GatewayState, KeyState } from '../src/core/protocol';
import type { AttemptRecord } from '../src/core/types';
import { machine, printTable } from './table';

const MODELS = Array.from({ length: 20 }, (_, i) => `qwen-model-${String(i + 1).padStart(2, '0')}`);
const WORKSPACES = ['default', 'ws-a'];
const DAY = 24 * 3_600_000;

function record(i: number, now: number): AttemptRecord {
  const failed = i % 40 === 0;
  return {
    id: `r${i}`,
    startedAt: now - DAY + ((i * 7919) % DAY),
    model: MODELS[i % 20]!,
    requestedModel: MODELS[i % 20]!,
    workspace: WORKSPACES[i % 2]!,
    source: 'bench',
    endpoint: 'chat.completions',
    stream: i % 2 === 0,
    status: failed ? 429 : 200,
    outcome: failed ? 'error' : 'ok',
    ...(failed ? { errorKind: (['rpm', 'tpm', 'burst'] as const)[i % 3]! } : {}),
    promptTokens: 200 + (i % 700),
    completionTokens: 40 + (i % 300),
    totalTokens: 240 + (i % 700) + (i % 300),
    cachedTokens: 0,
    estimatedTokens: 1200,
    queuedMs: i % 50,
    ...(i % 2 === 0 ? { ttftMs: 120 + (i % 500) } : {}),
    latencyMs: 300 + (i % 4000),
    attempt: 1,
  };
}

function snapshotFrom(metrics: MetricsStore, records: AttemptRecord[], now: number): DashboardSnapshot {
  const keys: KeyState[] = MODELS.flatMap((model) => [
    {
      key: `account:${model}`,
      scope: 'account' as const,
      model,
      configured: { rpm: 600, tpm: 1_000_000 },
      effective: { rpm: 600, tpm: 1_000_000 },
      adaptation: 1,
      pacing: 1,
      minute: { requests: 120, tokens: 90_000, requestLimit: 600, tokenLimit: 1_000_000 },
      second: { requests: 2, tokens: 1500, requestLimit: 10, tokenLimit: 16_667 },
      queueLength: 0,
    },
    {
      key: `workspace:ws-a:${model}`,
      scope: 'workspace' as const,
      model,
      workspace: 'ws-a',
      configured: { rpm: 300, tpm: 500_000 },
      effective: { rpm: 300, tpm: 500_000 },
      adaptation: 1,
      pacing: 1,
      minute: { requests: 60, tokens: 45_000, requestLimit: 300, tokenLimit: 500_000 },
      second: { requests: 1, tokens: 700, requestLimit: 5, tokenLimit: 8334 },
      queueLength: 0,
    },
  ]);
  const state: GatewayState = { at: now, version: 'bench', keys, queueLength: 0, inFlight: 0, calibration: {} };
  return {
    advice: [],
    window: '24h',
    metrics: { window: '24h', ...metrics.report(now - DAY, now + 1) },
    series: {
      window: '24h',
      stepMs: 900_000,
      points: metrics.timeSeries(now - DAY, now + 1, 900_000, { model: MODELS[0]! }),
      seconds: metrics.secondSeries(now - 120_000, now + 1),
    },
    state,
    requests: records.slice(-200).reverse(),
    config: {
      provider: 'dashscope',
      baseUrl: 'https://x.invalid/v1',
      models: Object.fromEntries(MODELS.map((m) => [m, { rpm: 600, tpm: 1_000_000 }])),
      workspaces: {
        'ws-a': { name: 'A', models: Object.fromEntries(MODELS.map((m) => [m, { rpm: 300, tpm: 500_000 }])) },
      },
      fallbacks: {},
      temporaryIncreases: [],
      maxQueueMs: 30_000,
      defaultMaxOutputTokens: 1024,
      refundUnusedTokens: true,
      estimateSafetyFactor: 1.5,
      sourceLanes: {},
    },
    batches: { jobs: [], fetchedAt: now },
    increases: [],
    workspace: 'default',
    canRunCommands: true,
  };
}

async function gzipSizes(): Promise<Record<string, string>> {
  const entries = {
    'webview.js': 'webview/main.ts',
    'extension.js': 'src/extension/extension.ts',
    'gateway.js': 'src/gateway/cli.ts',
  };
  const out: Record<string, string> = {};
  for (const [name, entry] of Object.entries(entries)) {
    const r = await esbuild.build({
      entryPoints: [entry],
      bundle: true,
      minify: true,
      write: false,
      platform: name === 'webview.js' ? 'browser' : 'node',
      format: name === 'webview.js' ? 'iife' : 'cjs',
      external: ['vscode'],
      legalComments: 'none',
    });
    const bytes = r.outputFiles[0]!.contents;
    out[name] =
      `${(bytes.length / 1024).toFixed(0)} KB min, ${(zlib.gzipSync(bytes).length / 1024).toFixed(0)} KB gzip`;
  }
  return out;
}

async function main() {
  console.log(`bench:dashboard on ${machine()}`);
  execFileSync('bash', ['scripts/setup-chromium.sh'], { stdio: ['ignore', 'ignore', 'inherit'] });
  execFileSync(process.execPath, ['esbuild.mjs', '--production'], { stdio: 'ignore' });
  const now = Date.now();
  const metrics = new MetricsStore();
  const records: AttemptRecord[] = [];
  for (let i = 0; i < 200_000; i++) {
    const r = record(i, now);
    records.push(r);
    metrics.add(r);
  }
  records.sort((a, b) => a.startedAt - b.startedAt);
  const first = snapshotFrom(metrics, records, now);

  const server = http.createServer((req, res) => {
    if (req.url === '/webview.js') return void res.end(fs.readFileSync('dist/webview.js'));
    if (req.url === '/monitor.css') return void res.end(fs.readFileSync('media/monitor.css'));
    res.setHeader('content-type', 'text/html');
    res.end(`<!DOCTYPE html><html><head><link rel="stylesheet" href="/monitor.css"></head><body data-view="panel" data-host="vscode">
<main id="app"></main><script>window.acquireVsCodeApi = () => ({ postMessage() {}, getState() { return undefined; }, setState() {} });</script><script src="/webview.js"></script></body></html>`);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const browser = await chromium.launch({
    executablePath: '/usr/bin/chromium',
    headless: true,
    args: ['--no-sandbox', '--disable-gpu', '--disable-dev-shm-usage', '--disable-background-networking'],
  });
  const page = await browser.newPage({ viewport: { width: 1400, height: 900 } });
  await page.goto(`http://127.0.0.1:${(server.address() as AddressInfo).port}/`);
  await page.waitForFunction(() => 'rlmView' in window);
  const render = (snapshot: DashboardSnapshot, tab?: string) =>
    page.evaluate(
      ([s, t]) => {
        const view = (window as unknown as { rlmView: { receive(m: unknown): void } }).rlmView;
        if (t) localStorage.setItem('unused', t);
        const t0 = performance.now();
        view.receive({ type: 'snapshot', snapshot: s });
        void document.body.offsetHeight; // include style and layout
        return performance.now() - t0;
      },
      [snapshot, tab] as const,
    );
  const firstMs = await render(first);
  // one new record: the host folds it into the buckets and sends a fresh snapshot
  const applies: number[] = [];
  const hostSide: number[] = [];
  for (let k = 0; k < 20; k++) {
    const t0 = performance.now();
    const r = record(300_000 + k, now);
    r.startedAt = now;
    metrics.add(r);
    records.push(r);
    const next = snapshotFrom(metrics, records, now);
    hostSide.push(performance.now() - t0);
    applies.push(await render(next));
  }
  applies.sort((a, b) => a - b);
  hostSide.sort((a, b) => a - b);
  const chartsMs = await page.evaluate(() => {
    const t0 = performance.now();
    (document.querySelector('[data-tab="Charts"]') as HTMLElement).click();
    void document.body.offsetHeight;
    return performance.now() - t0;
  });
  await browser.close();
  server.close();
  const sizes = await gzipSizes();
  const applyP50 = applies[10]!;
  const total = hostSide[10]! + applyP50;
  printTable(
    'Dashboard in Chromium: 24 h of data, 20 models × 2 workspaces (40 rows, 96 chart points, 40 keys, 200 requests)',
    [
      {
        measure: 'first render (Overview, incl. layout)',
        ms: firstMs.toFixed(1),
        target: '≤ 300',
        met: firstMs <= 300 ? 'yes' : 'NO',
      },
      {
        measure: 'one new record: host (buckets + snapshot), p50',
        ms: hostSide[10]!.toFixed(1),
        target: '—',
        met: '—',
      },
      { measure: 'one new record: render in the page, p50', ms: applyP50.toFixed(1), target: '—', met: '—' },
      { measure: 'one new record, total p50', ms: total.toFixed(1), target: '≤ 50', met: total <= 50 ? 'yes' : 'NO' },
      { measure: 'switch to Charts (5 Chart.js charts)', ms: chartsMs.toFixed(1), target: '—', met: '—' },
    ],
  );
  printTable(
    'Bundles (production build)',
    Object.entries(sizes).map(([bundle, size]) => ({ bundle, size })),
  );
  execFileSync(process.execPath, ['esbuild.mjs'], { stdio: 'ignore' }); // back to the development build
}

void main();
