/** Model Studio's quota pages → account limits, and the differences shown before applying. */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { diffLimits, parseQuotaPages } from '../../src/extension/logic/quotas';

describe('quota sync', () => {
  it('reads the quota API, normalising periods, and lists the differences', () => {
    const synced = parseQuotaPages([
      {
        output: {
          total: 2,
          quotas: [
            {
              model: 'qwen-plus',
              model_limit: {
                request_limit: 600,
                request_limit_period: 60,
                usage_limit: 1_000_000,
                usage_limit_field: 'total_tokens',
                usage_limit_period: 60,
              },
              workspace_limit: null,
            },
            {
              model: 'qwen-plus-2025-07-28',
              model_limit: { request_limit: 1, request_limit_period: 1, usage_limit: 100_000, usage_limit_period: 6 },
              workspace_limit: { request_limit: 30, request_limit_period: 60 },
            },
          ],
        },
      },
    ]);
    assert.deepEqual(synced.models, {
      'qwen-plus': { rpm: 600, tpm: 1_000_000 },
      'qwen-plus-2025-07-28': { rpm: 60, tpm: 1_000_000 },
    });
    assert.deepEqual(synced.workspace, { 'qwen-plus-2025-07-28': { rpm: 30 } });
    assert.deepEqual(diffLimits({ 'qwen-plus': { rpm: 500, tpm: 1_000_000 } }, synced.models), [
      { model: 'qwen-plus', field: 'rpm', from: 500, to: 600 },
      { model: 'qwen-plus-2025-07-28', field: 'rpm', to: 60 },
      { model: 'qwen-plus-2025-07-28', field: 'tpm', to: 1_000_000 },
    ]);
  });
});
