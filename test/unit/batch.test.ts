import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import {
  checkForBatchApi,
  completedIds,
  estimateBatch,
  formatBatchProblem,
  parseBatchFile,
  resultLine,
  toBatchJob,
} from '../../src/core/batch';

const line = (id: string, model = 'qwen-plus', extra: Record<string, unknown> = {}) =>
  JSON.stringify({
    custom_id: id,
    method: 'POST',
    url: '/v1/chat/completions',
    body: { model, messages: [{ role: 'user', content: id }] },
    ...extra,
  });

describe('batch files', () => {
  it('reports each bad line with its number and keeps the rest', () => {
    const text = [
      line('a'),
      '{not json',
      line('b'),
      line('a'),
      JSON.stringify({ custom_id: 'c', method: 'GET', url: '/v1/chat/completions', body: {} }),
      '',
      line('d', 'qwen-plus', { url: '/v1/images' }),
      JSON.stringify({ custom_id: 'e', method: 'POST', url: '/v1/embeddings', body: { input: 'x' } }),
      line('f'),
    ].join('\n');
    const { lines, problems } = parseBatchFile(text);
    assert.deepEqual(
      lines.map((l) => [l.line, l.customId]),
      [
        [1, 'a'],
        [3, 'b'],
        [9, 'f'],
      ],
    );
    assert.deepEqual(problems.map(formatBatchProblem), [
      'line 2: is not valid JSON',
      'line 4 (a): repeats custom_id "a" of line 1',
      'line 5 (c): "method" must be "POST", not "GET"',
      'line 7 (d): "url" must be one of /v1/chat/completions, /v1/completions, /v1/embeddings, /v1/responses',
      'line 8 (e): "body.model" is missing',
    ]);
  });

  it('checks the Batch API rules: one model and one endpoint per file', () => {
    const text = [line('a'), line('b', 'qwen-turbo')].join('\n');
    const { lines } = parseBatchFile(text);
    assert.deepEqual(checkForBatchApi(text, lines).map(formatBatchProblem), [
      'line 2 (b): uses model "qwen-turbo", but line 1 uses "qwen-plus": one model per batch file',
    ]);
  });

  it('estimates the duration at the current limits against the 24 h window', () => {
    const e = estimateBatch(Array(1200).fill(1000), { rpm: 600, tpm: 100_000 });
    assert.equal(e.tokens, 1_200_000);
    assert.equal(e.boundBy, 'tpm');
    assert.equal(e.expectedMs, 12 * 60_000);
    assert.equal(e.batchWindowMs, 86_400_000);
  });

  it('knows which lines already have a result, ignoring a torn last line', () => {
    const text = `${resultLine('a', 200, 'r1', {})}\n${resultLine('b', 429, 'r2', {})}\n{"custom_id":"c","resp`;
    assert.deepEqual([...completedIds(text)], ['a']);
  });

  it('reads provider batch objects for the monitor, and refuses what is not one', () => {
    assert.deepEqual(
      toBatchJob({
        id: 'batch_1',
        object: 'batch',
        status: 'in_progress',
        created_at: 1_700_000_000,
        endpoint: '/v1/chat/completions',
        request_counts: { total: 5, completed: 2, failed: 1 },
        output_file_id: null,
        error_file_id: 'file-e',
      }),
      {
        id: 'batch_1',
        status: 'in_progress',
        createdAt: 1_700_000_000_000,
        total: 5,
        completed: 2,
        failed: 1,
        errorFileId: 'file-e',
        endpoint: '/v1/chat/completions',
      },
    );
    assert.deepEqual(toBatchJob({ id: 'b', status: 'validating' }), {
      id: 'b',
      status: 'validating',
      createdAt: 0,
      total: 0,
      completed: 0,
      failed: 0,
    });
    for (const bad of [null, 'batch', { id: 1, status: 'x' }, { id: 'b' }])
      assert.equal(toBatchJob(bad), undefined, JSON.stringify(bad));
  });
});
