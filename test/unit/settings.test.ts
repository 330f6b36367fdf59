/** VS Code settings → the one configuration: presets, defaults, the setting to fix, write-back. */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import {
  configFromSettings,
  formatSettingsProblem,
  settingsUpdatesFor,
  parseLimitInput,
  validateLimitInput,
} from '../../src/extension/logic/settings';

describe('settings → configuration', () => {
  const read = (values: Record<string, unknown>) => (k: string) => values[k];
  it('maps a provider preset and the defaults', () => {
    const r = configFromSettings(read({ provider: 'dashscope-beijing' }), []);
    assert.ok(r.ok);
    assert.equal(r.config.baseUrl, 'https://dashscope.aliyuncs.com/compatible-mode/v1');
    assert.equal(r.config.provider, 'dashscope');
    assert.equal(r.config.models['qwen-plus']!.rpm, 600);
  });
  it('names the setting to fix for every problem', () => {
    const r = configFromSettings(
      read({
        models: { 'qwen-plus': { rpm: 600, tpm: 1000 } },
        workspaces: { a: { name: 'A', models: { 'qwen-plus': { rpm: 900 } } } },
        maxQueueMs: -1,
      }),
      [],
    );
    assert.ok(!r.ok);
    assert.deepEqual(r.problems.map(formatSettingsProblem), [
      'Setting rateLimitMonitor.workspaces: workspaces.a.models.qwen-plus.rpm: 900 exceeds the account limit 600 — set it to 600 or less, or raise models.qwen-plus.rpm',
      'Setting rateLimitMonitor.maxQueueMs: maxQueueMs: -1 is not between 0 and 600000 — write milliseconds, e.g. 30000 (0 = never queue)',
    ]);
    const custom = configFromSettings(read({ provider: 'custom' }), []);
    assert.ok(!custom.ok && custom.problems[0]!.setting === 'rateLimitMonitor.customBaseUrl');
  });
  it('validates limits as the user types', () => {
    assert.equal(validateLimitInput('600', 'rpm'), undefined);
    assert.equal(validateLimitInput('1,000,000', 'tpm'), undefined);
    assert.equal(validateLimitInput('', 'rpm'), 'Enter the requests per minute.');
    assert.equal(validateLimitInput('12.5', 'rpm'), '"12.5" is not a whole number above 0 (500k and 1M work too).');
    assert.equal(validateLimitInput('500k', 'tpm'), undefined);
    assert.equal(parseLimitInput('1.5M'), 1_500_000);
    assert.equal(parseLimitInput('500k'), 500_000);
    assert.equal(
      validateLimitInput('900', 'rpm', { value: 600, name: 'the account limit of qwen-plus' }),
      '900 exceeds the account limit of qwen-plus (600).',
    );
  });
  it('writes back to the settings only what an edit outside VS Code changed', () => {
    const base = configFromSettings(
      read({
        models: { 'qwen-plus': { rpm: 600, tpm: 1_000_000 } },
        workspaces: { a: { name: 'A', models: { 'qwen-plus': { rpm: 100 } } } },
      }),
      [],
    );
    assert.ok(base.ok);
    const current = base.config;
    // the same config with its keys in another order: nothing to write
    const reordered = { ...current, workspaces: { a: { models: { 'qwen-plus': { rpm: 100 } }, name: 'A' } } };
    assert.deepEqual(settingsUpdatesFor(current, reordered, []), { settings: [], newIncreases: [] });
    const increase = {
      model: 'qwen-plus',
      tpm: 2_000_000,
      previousTpm: 1_000_000,
      appliedAt: '2026-11-30T00:00:00.000Z',
      expiresAt: '2026-12-30T00:00:00.000Z',
    };
    const edited = {
      ...current,
      models: { 'qwen-plus': { rpm: 500, tpm: 1_000_000 } },
      temporaryIncreases: [increase],
    };
    assert.deepEqual(settingsUpdatesFor(current, edited, []), {
      settings: [{ key: 'models', value: { 'qwen-plus': { rpm: 500, tpm: 1_000_000 } } }],
      newIncreases: [increase],
    });
    assert.deepEqual(
      settingsUpdatesFor(current, edited, [increase]).newIncreases,
      [],
      'an increase already stored is not added twice',
    );
  });
});
