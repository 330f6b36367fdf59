/**
 * Large jobs, end to end: the paced runner through the gateway to the fake provider (in its
 * own process, counting by arrival), cancel and resume, malformed lines, the headless CLI,
 * and the Batch API path (files + batches) round-tripping through the fake provider.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import OpenAI from 'openai';
import type { BatchJobsResponse } from '../../src/core/batch';
import type { MetricsResponse } from '../../src/core/protocol';
import type { AttemptRecord } from '../../src/core/types';
import { downloadBatchResults, listBatchJobs, submitBatchFile, BatchValidationError } from '../../src/gateway/batchApi';
import { outputFiles, runBatch } from '../../src/gateway/batchRunner';
import { startFakeProcess, type FakeProcess } from '../support/fakeProcess';
import { startGatewayProcess, type GatewayProcess } from '../support/gatewayProcess';
import { checkWindows } from '../support/limiterOracle';
import { GATEWAY_TOKEN, PROVIDER_KEY } from '../support/stack';

const RPM = 300;
const TPM = 12_000;
/** A file this many times the TPM. 20× would take over 19 minutes of wall time at TPS = TPM/60; CI runs 1.1×. */
const MULTIPLE = Number(process.env.RLM_BATCH_TPM_MULTIPLE ?? 1.1);

function writeBatch(file: string, n: number, words: number, extra: string[] = []): void {
  const lines = Array.from({ length: n }, (_, i) =>
    JSON.stringify({
      custom_id: `req-${i}`,
      method: 'POST',
      url: '/v1/chat/completions',
      body: {
        model: 'qwen-plus',
        max_tokens: 20,
        messages: [{ role: 'user', content: `${String(i).padStart(5, '0')} ${'word '.repeat(words)}` }],
      },
    }),
  );
  fs.writeFileSync(file, [...lines, ...extra].join('\n') + '\n');
}

// a file N× the TPM needs about N minutes at the limits, plus the per-second pad and some slack
describe(
  'large jobs: paced batch runner and the Batch API',
  { timeout: Math.max(600_000, (MULTIPLE * 60 * 1.25 + 180) * 1000) },
  () => {
    let fake: FakeProcess;
    let gateway: GatewayProcess;
    let dir: string;

    before(async () => {
      dir = fs.mkdtempSync(path.join(os.tmpdir(), 'rlm-batch-'));
      fake = await startFakeProcess({
        apiKey: PROVIDER_KEY,
        models: { 'qwen-plus': { rpm: RPM, tpm: TPM }, 'qwen-turbo': { rpm: 60_000, tpm: 100_000_000 } },
        ttftMs: 10,
        chunkIntervalMs: 2,
        completionTokens: 20,
      });
      // the gateway in its own process, as users run it: its admission clock is not shared with this runner
      gateway = await startGatewayProcess(
        {
          models: { 'qwen-plus': { rpm: RPM, tpm: TPM }, 'qwen-turbo': { rpm: 60_000, tpm: 100_000_000 } },
          defaultMaxOutputTokens: 20,
        },
        fake.url,
      );
    });
    after(async () => {
      await gateway.stop();
      fake.stop();
      fs.rmSync(dir, { recursive: true, force: true });
    });

    it(`paces a file ${MULTIPLE}× the TPM inside the provider's limits, every line answered`, async () => {
      const file = path.join(dir, 'big.jsonl');
      // 66 tokens every line as the fake counts them (the index is padded, so line 1000 costs what
      // line 1 does): three fit in a second's 200 (TPS = TPM/60), so the 1 s and the 60 s windows
      // both bind, at 99 % of the TPM
      const lines = Math.ceil((MULTIPLE * TPM) / 66);
      writeBatch(file, lines, 38);
      const started = Date.now();
      const r = await runBatch({ file, gatewayUrl: gateway.url, token: GATEWAY_TOKEN, concurrency: 16 });
      const counters = await fake.counters();
      const arrivals = await fake.arrivals('qwen-plus');
      console.log(
        `# batch ${lines} lines, ${r.tokens} tokens (${(r.tokens / TPM).toFixed(2)}× TPM) in ${((Date.now() - started) / 1000).toFixed(1)} s; provider 429s ${JSON.stringify(counters.rejected)}`,
      );
      assert.equal(r.done, lines);
      assert.equal(r.failed, 0);
      assert.ok(r.tokens >= MULTIPLE * TPM * 0.95, `${r.tokens} tokens`);
      assert.deepEqual(
        counters.rejected,
        { rpm: 0, tpm: 0, burst: 0 },
        `the provider refused: ${JSON.stringify(counters.refusals)}`,
      );
      assert.deepEqual(checkWindows(arrivals, RPM, TPM), []);
      const results = fs.readFileSync(r.resultsFile, 'utf8').trim().split('\n');
      assert.equal(results.length, lines);
      assert.equal(new Set(results.map((l) => (JSON.parse(l) as { custom_id: string }).custom_id)).size, lines);
    });

    it('cancel, then resume: each result exactly once', async () => {
      const file = path.join(dir, 'resume.jsonl');
      writeBatch(file, 80, 5);
      const body = fs.readFileSync(file, 'utf8').replaceAll('"qwen-plus"', '"qwen-turbo"');
      fs.writeFileSync(file, body);
      const ac = new AbortController();
      const first = await runBatch({
        file,
        gatewayUrl: gateway.url,
        token: GATEWAY_TOKEN,
        concurrency: 4,
        signal: ac.signal,
        onProgress: (p) => p.done >= 25 && ac.abort(),
      });
      assert.equal(first.cancelled, true);
      assert.ok(first.done < 80, `cancelled after ${first.done}`);
      const second = await runBatch({ file, gatewayUrl: gateway.url, token: GATEWAY_TOKEN, concurrency: 4 });
      assert.equal(second.cancelled, false);
      assert.equal(second.skipped, first.done, 'the lines with results were skipped');
      const ids = fs
        .readFileSync(second.resultsFile, 'utf8')
        .trim()
        .split('\n')
        .map((l) => (JSON.parse(l) as { custom_id: string }).custom_id);
      assert.equal(ids.length, 80, 'no result twice');
      assert.equal(new Set(ids).size, 80);
    });

    it('reports a malformed line with its number and runs the rest', async () => {
      const file = path.join(dir, 'malformed.jsonl');
      writeBatch(file, 5, 3, [
        '{"custom_id": "broken", "method": "POST"',
        JSON.stringify({
          custom_id: 'req-1',
          method: 'POST',
          url: '/v1/chat/completions',
          body: { model: 'qwen-turbo', messages: [] },
        }),
      ]);
      fs.writeFileSync(file, fs.readFileSync(file, 'utf8').replaceAll('"qwen-plus"', '"qwen-turbo"'));
      const r = await runBatch({ file, gatewayUrl: gateway.url, token: GATEWAY_TOKEN });
      assert.equal(r.done, 5);
      assert.deepEqual(r.malformed, [
        'line 6: is not valid JSON',
        'line 7 (req-1): repeats custom_id "req-1" of line 2',
      ]);
      const errors = fs
        .readFileSync(outputFiles(file).errors, 'utf8')
        .trim()
        .split('\n')
        .map((l) => JSON.parse(l) as { error: { line: number } });
      assert.deepEqual(
        errors.map((e) => e.error.line),
        [6, 7],
      );
    });

    it('runs headless: node dist/gateway.js batch run FILE --model …', async () => {
      const file = path.join(dir, 'cli.jsonl');
      writeBatch(file, 6, 3);
      const child = spawn(
        process.execPath,
        [
          'dist/gateway.js',
          'batch',
          'run',
          file,
          '--model',
          'qwen-turbo',
          '--gateway',
          gateway.url,
          '--token',
          GATEWAY_TOKEN,
        ],
        { stdio: ['ignore', 'pipe', 'pipe'] },
      );
      let out = '';
      child.stdout!.on('data', (c) => (out += c));
      const code = await new Promise<number | null>((r) => child.on('exit', r));
      assert.equal(code, 0);
      const summary = JSON.parse(out.trim().split('\n').pop()!) as { event: string; done: number };
      assert.equal(summary.event, 'batch-done');
      assert.equal(summary.done, 6);
      const models = fs
        .readFileSync(outputFiles(file).results, 'utf8')
        .trim()
        .split('\n')
        .map((l) => (JSON.parse(l) as { response: { body: { model: string } } }).response.body.model);
      assert.deepEqual([...new Set(models)], ['qwen-turbo'], "--model replaced every line's model");
    });

    it('submits through the Batch API, refuses an invalid file with line numbers, lists jobs and downloads results', async () => {
      const client = new OpenAI({ baseURL: `${gateway.url}/v1`, apiKey: GATEWAY_TOKEN, maxRetries: 0 });
      const bad = path.join(dir, 'bad-batch.jsonl');
      fs.writeFileSync(
        bad,
        [
          JSON.stringify({
            custom_id: 'a',
            method: 'POST',
            url: '/v1/chat/completions',
            body: { model: 'qwen-plus', messages: [] },
          }),
          JSON.stringify({
            custom_id: 'b',
            method: 'POST',
            url: '/v1/chat/completions',
            body: { model: 'qwen-max', messages: [] },
          }),
        ].join('\n'),
      );
      await assert.rejects(
        submitBatchFile(client, bad),
        (e: unknown) =>
          e instanceof BatchValidationError &&
          /line 2 \(b\): uses model "qwen-max", but line 1 uses "qwen-plus"/.test(e.message),
      );
      const before = await fake.counters();
      const listedBefore = await gateway.control<BatchJobsResponse>('/_rlm/batches');
      const file = path.join(dir, 'job.jsonl');
      writeBatch(file, 5, 3);
      const submitted = await submitBatchFile(client, file);
      assert.equal(submitted.requests, 5);
      // the monitor's list: cached between refreshes, read again at once after a batch request passed through
      const listedAfter = await gateway.control<BatchJobsResponse>('/_rlm/batches');
      assert.equal(listedAfter.jobs.length, listedBefore.jobs.length + 1);
      assert.equal(listedAfter.jobs[0]!.id, submitted.id, 'newest first');
      assert.equal(listedAfter.jobs[0]!.total, 5);
      const unknown = await fetch(`${gateway.url}/_rlm/batches?workspace=nope`, {
        headers: { authorization: `Bearer ${GATEWAY_TOKEN}` },
      });
      assert.equal(unknown.status, 400);
      assert.match(
        ((await unknown.json()) as { error: { message: string } }).error.message,
        /workspace "nope" is not configured: use one of default/,
      );
      let jobs = await listBatchJobs(client);
      for (let i = 0; i < 50 && jobs.find((j) => j.id === submitted.id)?.status !== 'completed'; i++) {
        await new Promise((r) => setTimeout(r, 100));
        jobs = await listBatchJobs(client);
      }
      const job = jobs.find((j) => j.id === submitted.id)!;
      assert.equal(job.status, 'completed');
      assert.equal(job.completed, 5);
      const files = await downloadBatchResults(client, submitted.id, file);
      const ids = fs
        .readFileSync(files.output!, 'utf8')
        .trim()
        .split('\n')
        .map((l) => (JSON.parse(l) as { custom_id: string }).custom_id);
      assert.deepEqual(ids, ['req-0', 'req-1', 'req-2', 'req-3', 'req-4']);
      const after = await fake.counters();
      assert.equal((after.batches ?? 0) - (before.batches ?? 0), 1);
      assert.equal(after.rejected.rpm + after.rejected.tpm, before.rejected.rpm + before.rejected.tpm);
      // counted apart from real-time limits: nothing charged to the model's limiter keys
      const { records } = await gateway.control<{ records: AttemptRecord[] }>('/_rlm/requests?limit=20');
      assert.ok(records.some((r) => r.endpoint === 'other' && r.status === 200));
      const metrics = await gateway.control<MetricsResponse>('/_rlm/metrics?window=1h');
      assert.equal(
        metrics.rows.some((r) => r.model === ''),
        false,
      );
    });
  },
);
