import { afterEach, beforeEach, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { CSV_COLUMNS, recordsToCsv } from '../../src/core/export';
import type { AttemptRecord } from '../../src/core/types';
import { JsonlHistory } from '../../src/gateway/historyStore';
import { listSegments, segmentName } from '../../src/gateway/segments';

const H = 3_600_000;
const NOW = Date.parse('2026-11-30T12:30:00Z');
let seq = 0;
function rec(startedAt: number, over: Partial<AttemptRecord> = {}): AttemptRecord {
  return {
    id: `r${seq++}`,
    startedAt,
    model: 'qwen-plus',
    requestedModel: 'qwen-plus',
    workspace: 'default',
    source: 'test',
    endpoint: 'chat.completions',
    stream: false,
    status: 200,
    outcome: 'ok',
    promptTokens: 10,
    completionTokens: 5,
    totalTokens: 15,
    cachedTokens: 0,
    estimatedTokens: 20,
    queuedMs: 0,
    latencyMs: 50,
    attempt: 1,
    ...over,
  };
}

describe('durable history (JSONL segments)', () => {
  let dir: string;
  beforeEach(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'rlm-hist-'));
  });
  afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

  it('writes one segment per UTC hour, batched, and reads every record back', async () => {
    const h = new JsonlHistory({ dir, now: () => NOW });
    for (let i = 0; i < 100; i++) h.append(rec(NOW - 2 * H + i * 90_000));
    assert.equal(listSegments(dir).length, 0, 'nothing written before the flush');
    await h.flush();
    const names = listSegments(dir).map((s) => path.basename(s.file));
    assert.deepEqual(names, ['2026-11-30T10.jsonl', '2026-11-30T11.jsonl', '2026-11-30T12.jsonl']);
    const read: AttemptRecord[] = [];
    const stats = new JsonlHistory({ dir, now: () => NOW }).load((r) => read.push(r));
    assert.deepEqual(stats, { records: 100, malformed: 0, torn: 0 });
    assert.deepEqual(
      read.map((r) => r.id),
      Array.from({ length: 100 }, (_, i) => `r${seq - 100 + i}`),
    );
    assert.equal(h.status().flushedRecords, 100);
  });

  it('flushes on its own within 100 ms', async () => {
    const h = new JsonlHistory({ dir, now: () => NOW, flushIntervalMs: 500 });
    h.append(rec(NOW));
    await new Promise((r) => setTimeout(r, 150));
    assert.equal(
      fs
        .readFileSync(path.join(dir, segmentName(NOW)), 'utf8')
        .split('\n')
        .filter(Boolean).length,
      1,
      'the interval is capped at 100 ms',
    );
  });

  it('skips a torn last line and counts malformed lines, keeping the rest', () => {
    const good = [rec(NOW), rec(NOW + 1), rec(NOW + 2)].map((r) => JSON.stringify(r));
    fs.writeFileSync(
      path.join(dir, segmentName(NOW)),
      `${good[0]}\n{"id":"broken",\n${good[1]}\nnot json at all\n{"valid":"json but not a record"}\n${good[2]}\n{"id":"torn","startedAt":1`,
    );
    const read: AttemptRecord[] = [];
    const stats = new JsonlHistory({ dir, now: () => NOW }).load((r) => read.push(r));
    assert.deepEqual(stats, { records: 3, malformed: 3, torn: 1 });
    assert.equal(read.length, 3);
  });

  it('does not let a torn last line swallow the next record: it ends the torn line first', async () => {
    const first = JSON.stringify(rec(NOW));
    fs.writeFileSync(path.join(dir, segmentName(NOW)), `${first}\n{"id":"torn","startedAt":1`);
    const h = new JsonlHistory({ dir, now: () => NOW });
    h.append(rec(NOW + 5));
    await h.flush();
    const read: AttemptRecord[] = [];
    const stats = new JsonlHistory({ dir, now: () => NOW }).load((r) => read.push(r));
    assert.equal(read.length, 2, 'the record appended after the torn line survives');
    assert.deepEqual(stats, { records: 2, malformed: 1, torn: 0 });
  });

  it('recovers every complete line after a writer is killed in the middle of appending', async () => {
    // A child process appends records as fast as it can; we kill -9 it mid-stream.
    const script = `
      const fs = require('fs');
      const file = ${JSON.stringify(path.join(dir, segmentName(NOW)))};
      const fd = fs.openSync(file, 'a');
      const rec = ${JSON.stringify(rec(NOW))};
      let i = 0;
      process.stdout.write('go\\n');
      for (;;) { rec.id = 'k' + (i++); const line = JSON.stringify(rec) + '\\n'; const half = line.length >> 1;
        fs.writeSync(fd, line.slice(0, half)); fs.writeSync(fd, line.slice(half)); }`;
    const child = spawn(process.execPath, ['-e', script], { stdio: ['ignore', 'pipe', 'inherit'] });
    await new Promise<void>((r) => child.stdout.once('data', () => r()));
    await new Promise((r) => setTimeout(r, 200));
    child.kill('SIGKILL');
    await new Promise((r) => child.on('exit', r));
    const text = fs.readFileSync(path.join(dir, segmentName(NOW)), 'utf8');
    const completeLines = text.split('\n').length - 1;
    const read: AttemptRecord[] = [];
    const stats = new JsonlHistory({ dir, now: () => NOW }).load((r) => read.push(r));
    assert.ok(completeLines > 100, `only ${completeLines} lines written`);
    assert.equal(stats.records, completeLines, 'every complete line is a record');
    assert.equal(stats.malformed, 0);
    assert.ok(stats.torn <= 1);
    assert.deepEqual(
      read.map((r) => r.id),
      Array.from({ length: completeLines }, (_, i) => `k${i}`),
    );
  });

  it('retention deletes only whole segments older than the setting', async () => {
    const h = new JsonlHistory({ dir, now: () => NOW, retentionMs: 3 * H });
    for (const age of [5 * H, 4 * H, 3.2 * H, 2.5 * H, 1 * H, 0]) h.append(rec(NOW - age));
    await h.flush();
    const deleted = h.applyRetention();
    // the segment of 09:00 ends at 10:00, still inside 12:30 − 3 h = 09:30: kept
    assert.deepEqual(deleted, ['2026-11-30T07.jsonl', '2026-11-30T08.jsonl']);
    assert.deepEqual(
      listSegments(dir).map((s) => path.basename(s.file)),
      ['2026-11-30T09.jsonl', '2026-11-30T10.jsonl', '2026-11-30T11.jsonl', '2026-11-30T12.jsonl'],
    );
    const read: AttemptRecord[] = [];
    h.load((r) => read.push(r));
    assert.equal(read.length, 3, 'records older than retention inside a kept segment are not loaded');
  });

  it('exports a window as JSON and as CSV with the documented columns', async () => {
    const h = new JsonlHistory({ dir, now: () => NOW });
    h.append(rec(NOW - 2 * H));
    h.append(
      rec(NOW - 10_000, {
        errorKind: 'tpm',
        errorCode: 'insufficient_quota',
        outcome: 'error',
        status: 429,
        source: 'a "quoted", source',
      }),
    );
    const inWindow = await h.readRange(NOW - H, NOW + 1);
    assert.equal(inWindow.length, 1);
    const csv = recordsToCsv(inWindow).split('\r\n');
    assert.equal(csv[0], CSV_COLUMNS.join(','));
    assert.match(
      csv[1]!,
      /^r\d+,2026-11-30T12:29:50.000Z,qwen-plus,qwen-plus,default,"a ""quoted"", source",chat.completions,false,429,error,tpm,insufficient_quota,10,5,15,0,20,0,,50,1,,,$/,
    );
  });
});

describe('a gateway taking over', () => {
  it('rebuilds its dashboards from history and its limiter from the last minute of admissions', async () => {
    const { AdmissionJournal } = await import('../../src/gateway/admissionJournal');
    const { Gateway } = await import('../../src/gateway/server');
    const { validateConfig } = await import('../../src/core/config');
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'rlm-takeover-'));
    try {
      const now = Date.now();
      const old = new JsonlHistory({ dir });
      for (let i = 0; i < 20; i++) old.append(rec(now - 3_600_000 + i * 1000));
      await old.flush();
      const journal = new AdmissionJournal(path.join(dir, 'admissions.journal'));
      journal.record(now - 120_000, ['account:qwen-plus'], 999); // older than a minute: ignored
      for (let i = 0; i < 7; i++) journal.record(now - 30_000 + i * 1000, ['account:qwen-plus'], 100);
      journal.record(now - 1_000, ['account:gone-model'], 100); // a key the config no longer has
      journal.close();
      const cfg = validateConfig({
        baseUrl: 'http://127.0.0.1:9/v1',
        models: { 'qwen-plus': { rpm: 600, tpm: 100_000 } },
      });
      assert.ok(cfg.ok);
      const gw = new Gateway({
        config: cfg.config,
        token: 'takeover-token-0123456789',
        apiKey: () => 'k',
        port: 0,
        history: new JsonlHistory({ dir }),
        journal: new AdmissionJournal(path.join(dir, 'admissions.journal')),
      });
      await gw.start();
      try {
        assert.equal(gw.rebuildStats.records, 20);
        assert.equal(gw.rebuildStats.replayedAdmissions, 7);
        const key = gw.state().keys.find((k) => k.key === 'account:qwen-plus')!;
        assert.equal(key.minute.requests, 7);
        assert.equal(key.minute.tokens, 700);
        assert.equal(gw.metrics.report(now - 7_200_000, now).summary.totalCalls, 20);
      } finally {
        await gw.close(100);
      }
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});
