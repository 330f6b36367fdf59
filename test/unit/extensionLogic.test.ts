import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { parseWebviewMessage, type GatewayState, type KeyState } from '../../src/core/protocol';
import { environmentLines } from '../../src/extension/logic/environment';
import { NotificationThrottle } from '../../src/extension/logic/notifications';
import { diffLimits, parseQuotaPages } from '../../src/extension/logic/quotas';
import {
  configFromSettings,
  formatSettingsProblem,
  settingsUpdatesFor,
  parseLimitInput,
  validateLimitInput,
} from '../../src/extension/logic/settings';
import { statusView } from '../../src/extension/logic/statusView';

function key(over: Partial<KeyState>): KeyState {
  return {
    key: 'account:qwen-plus',
    scope: 'account',
    model: 'qwen-plus',
    configured: { rpm: 600, tpm: 1_000_000 },
    effective: { rpm: 600, tpm: 1_000_000 },
    adaptation: 1,
    pacing: 1,
    minute: { requests: 0, tokens: 0, requestLimit: 600, tokenLimit: 1_000_000 },
    second: { requests: 0, tokens: 0, requestLimit: 10, tokenLimit: 16667 },
    queueLength: 0,
    ...over,
  };
}
const state = (keys: KeyState[], last429?: GatewayState['last429']): GatewayState => ({
  at: 0,
  version: 't',
  keys,
  queueLength: 0,
  inFlight: 0,
  calibration: {},
  ...(last429 ? { last429 } : {}),
});

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

describe('status bar view', () => {
  it('shows the tightest of RPM and TPM, the queue, and warning and error levels', () => {
    const v = statusView(
      state([key({ minute: { requests: 412, tokens: 100_000, requestLimit: 600, tokenLimit: 1_000_000 } })]),
      'qwen-plus',
      'default',
      0.8,
      0,
    );
    assert.equal(v.text, '$(pulse) qwen-plus 412/600 RPM');
    assert.equal(v.level, 'normal');
    assert.match(v.tooltip, /\| RPS \| 0 \| 10 \|/);
    const tok = statusView(
      state([
        key({ minute: { requests: 10, tokens: 900_000, requestLimit: 600, tokenLimit: 1_000_000 }, queueLength: 3 }),
      ]),
      'qwen-plus',
      'default',
      0.8,
      0,
    );
    assert.equal(tok.text, '$(pulse) qwen-plus 900K/1M TPM $(watch) 3');
    assert.equal(tok.level, 'warning');
    const err = statusView(
      state([key({})], { model: 'qwen-plus', kind: 'tpm', at: 1_000 }),
      'qwen-plus',
      'default',
      0.8,
      30_000,
    );
    assert.equal(err.level, 'error');
    assert.match(err.tooltip, /Last 429: \*\*tpm\*\*/);
    assert.equal(
      statusView(state([key({})], { model: 'qwen-plus', kind: 'tpm', at: 1_000 }), 'qwen-plus', 'default', 0.8, 120_000)
        .level,
      'normal',
      'an old 429 no longer colours it',
    );
  });
  it('says "no API key" before anything fails, with Set API Key', () => {
    const v = statusView(state([key({})]), 'qwen-plus', 'ws-a', 0.8, 0, true);
    assert.equal(v.text, '$(key) Rate limits: no API key');
    assert.equal(v.level, 'warning');
    assert.match(v.tooltip, /No provider API key for workspace `ws-a`/);
    assert.match(v.tooltip, /\[Set API Key\]\(command:rateLimitMonitor\.setApiKey\)/);
  });

  it('says the 1 s margin, and why it was widened', () => {
    const floor = statusView(
      state([key({ margin: { padMs: 25, changedAt: 0, reason: 'the floor' } })]),
      'qwen-plus',
      'default',
      0.8,
      0,
    );
    assert.match(floor.tooltip, /Margin on the 1 s window: 25 ms\./);
    const wide = statusView(
      state([key({ margin: { padMs: 50, changedAt: 0, reason: 'a per-second refusal (RPS)' } })]),
      'qwen-plus',
      'default',
      0.8,
      0,
    );
    assert.match(wide.tooltip, /Margin on the 1 s window: 50 ms — a per-second refusal \(RPS\), /);
  });
  it('uses the workspace key when it is the fuller one', () => {
    const ws = key({
      key: 'workspace:a:qwen-plus',
      scope: 'workspace',
      workspace: 'a',
      minute: { requests: 90, tokens: 0, requestLimit: 100, tokenLimit: 100_000 },
    });
    const v = statusView(
      state([key({ minute: { requests: 90, tokens: 0, requestLimit: 600, tokenLimit: 1_000_000 } }), ws]),
      'qwen-plus',
      'a',
      0.8,
      0,
    );
    assert.equal(v.text, '$(pulse) qwen-plus 90/100 RPM');
    assert.equal(v.level, 'warning');
  });
});

describe('notifications, environment lines, quota sync, webview messages', () => {
  it('shows at most one notice per model and reason every few minutes', () => {
    const t = new NotificationThrottle(300_000);
    assert.equal(t.allow('m', '429', 0), true);
    assert.equal(t.allow('m', '429', 1_000), false);
    assert.equal(t.allow('m', 'threshold', 1_000), true);
    assert.equal(t.allow('n', '429', 1_000), true);
    assert.equal(t.allow('m', '429', 301_000), true);
  });
  it('writes gateway environment lines for bash/zsh, fish and PowerShell', () => {
    const lines = environmentLines('http://127.0.0.1:8787', 'tok');
    assert.deepEqual(
      lines.map((l) => l.shell),
      ['bash/zsh', 'fish', 'PowerShell'],
    );
    assert.equal(lines[0]!.text, 'export OPENAI_BASE_URL=http://127.0.0.1:8787/v1\nexport OPENAI_API_KEY=tok');
    assert.equal(lines[2]!.text, '$env:OPENAI_BASE_URL = "http://127.0.0.1:8787/v1"\n$env:OPENAI_API_KEY = "tok"');
  });
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
    for (const bad of [
      null,
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
