/** Messages from a webview: only well-formed ones get through. */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { parseWebviewMessage } from '../../src/core/protocol';

describe('webview messages', () => {
  it('accepts only well-formed webview messages', () => {
    assert.deepEqual(parseWebviewMessage({ type: 'ready' }), { type: 'ready' });
    assert.deepEqual(parseWebviewMessage({ type: 'setWindow', window: '24h' }), { type: 'setWindow', window: '24h' });
    const request = (id: number, r: unknown) => ({ type: 'request', id, request: r });
    assert.deepEqual(
      parseWebviewMessage(request(1, { action: 'runFlow', flow: 'sendTestRequest' })),
      request(1, { action: 'runFlow', flow: 'sendTestRequest' }),
    );
    const edit = { scope: 'workspace', workspace: 'ws-a', model: 'qwen-plus', rpm: 10, tpm: 1000 };
    assert.deepEqual(
      parseWebviewMessage(request(2, { action: 'setLimit', edit })),
      request(2, { action: 'setLimit', edit }),
    );
    assert.deepEqual(
      parseWebviewMessage(request(3, { action: 'recordIncrease', model: 'm', tpm: 5, upperLimit: 9 })),
      request(3, { action: 'recordIncrease', model: 'm', tpm: 5, upperLimit: 9 }),
    );
    assert.deepEqual(
      parseWebviewMessage({ type: 'setWindow', window: '30m' }),
      { type: 'setWindow', window: '30m' },
      'a custom range',
    );
    assert.equal(parseWebviewMessage({ type: 'setWindow', window: '91d' }), undefined, 'longer than 90 days');
    assert.deepEqual(
      parseWebviewMessage(request(4, { action: 'downloadBatch', batchId: 'batch_abc-1' })),
      request(4, { action: 'downloadBatch', batchId: 'batch_abc-1' }),
    );
    assert.deepEqual(
      parseWebviewMessage(
        request(5, { action: 'preferFallback', model: 'qwen-plus-2025-07-28', fallback: 'qwen-plus' }),
      ),
      request(5, { action: 'preferFallback', model: 'qwen-plus-2025-07-28', fallback: 'qwen-plus' }),
    );
    for (const bad of [
      null,
      request(1, { action: 'preferFallback', model: 'm', fallback: 'm' }),
      request(1, { action: 'preferFallback', model: 'm', fallback: 'a b' }),
      request(1, { action: 'preferFallback', model: 'm' }),
      'ready',
      { type: 'setWindow', window: '1y' },
      request(1, { action: 'runFlow', flow: 'workbench.action.terminal.sendSequence' }),
      { type: 'ready', extra: 1 },
      { type: 'evil' },
      request(1, { action: 'downloadBatch', batchId: '../../etc/passwd' }),
      request(1, { action: 'downloadBatch', batchId: 7 }),
      request(1, { action: 'downloadBatch', batchId: 'b', path: '/tmp' }),
      request(-1, { action: 'endIncrease', model: 'm' }),
      request(1.5, { action: 'endIncrease', model: 'm' }),
      { type: 'request', id: 1, request: { action: 'endIncrease', model: 'm' }, extra: 1 },
      request(1, { action: 'setLimit', edit: { ...edit, scope: 'galaxy' } }),
      request(1, { action: 'recordIncrease', model: 'm', tpm: 5, note: 'x' }),
      request(1, null),
    ]) {
      assert.equal(parseWebviewMessage(bad), undefined, JSON.stringify(bad));
    }
  });
});
