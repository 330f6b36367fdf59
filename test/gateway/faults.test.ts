/**
 * Faults lose nothing and stop nothing: a history write that fails (a full disk: the segment
 * points at /dev/full) keeps its records, says so in /_rlm/health and retries; an admission
 * journal that cannot be written does not turn an admitted request into a 500.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { HealthInfo } from '../../src/core/protocol';
import { AdmissionJournal } from '../../src/gateway/admissionJournal';
import { JsonlHistory } from '../../src/gateway/historyStore';
import { segmentName } from '../../src/gateway/segments';
import { eventually, startStack, type Stack } from '../support/stack';

// Linux's /dev/full answers every write with ENOSPC: a full disk on demand.
describe('faults lose nothing', () => {
  let dir: string;
  let s: Stack;
  let history: JsonlHistory;
  const logs: string[] = [];
  before(async () => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'rlm-faults-'));
    history = new JsonlHistory({ dir: path.join(dir, 'history'), flushIntervalMs: 10 });
    const journalFile = path.join(dir, 'admissions.jsonl');
    fs.symlinkSync('/dev/full', journalFile);
    s = await startStack({
      gateway: { history, journal: new AdmissionJournal(journalFile), log: (l) => logs.push(l) },
    });
  });
  after(async () => {
    await s.close();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it('answers an admitted request although its journal line cannot be written, and says so once', async () => {
    for (let i = 0; i < 3; i++)
      await s.client.chat.completions.create({
        model: 'qwen-plus',
        messages: [{ role: 'user', content: `journal ${i}` }],
      });
    assert.equal(logs.filter((l) => l.includes('admission journal: cannot write')).length, 1, logs.join('\n'));
  });

  it('keeps records through a failed history write, reports it, and writes them once the disk is back', async () => {
    const segment = path.join(dir, 'history', segmentName(Date.now()));
    await history.flush();
    fs.rmSync(segment, { force: true });
    fs.symlinkSync('/dev/full', segment);
    await s.client.chat.completions.create({ model: 'qwen-plus', messages: [{ role: 'user', content: 'disk full' }] });
    await history.flush();
    const health = (await (await s.call('/_rlm/health')).json()) as HealthInfo;
    assert.match(health.history!.writeError!.message, /ENOSPC|no space/i);
    assert.ok(health.history!.pendingRecords >= 1, 'the record waits');
    fs.rmSync(segment);
    await eventually(
      () => history.status().pendingRecords === 0 && history.status().writeError === undefined,
      'the retry writes it',
      5_000,
    );
    const text = fs.readFileSync(segment, 'utf8');
    assert.ok(text.split('\n').filter(Boolean).length >= 1, 'the record reached the file');
  });
});
