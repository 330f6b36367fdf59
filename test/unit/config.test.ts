import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import {
  accountLimitsAt,
  formatProblem,
  normalizePeriod,
  validateConfig,
  workspaceLimitsAt,
} from '../../src/core/config';

const base = { models: { 'qwen-plus': { rpm: 600, tpm: 1_000_000 }, 'qwen-turbo': { rpm: 600, tpm: 5_000_000 } } };

function problems(raw: unknown): string[] {
  const r = validateConfig(raw);
  return r.ok ? [] : r.problems.map(formatProblem);
}

describe('configuration validation', () => {
  it('accepts the README example and fills defaults', () => {
    const r = validateConfig({
      provider: 'dashscope',
      baseUrl: 'https://dashscope-intl.aliyuncs.com/compatible-mode/v1/',
      ...base,
      workspaces: { 'ws-a': { name: 'Team A', models: { 'qwen-plus': { rpm: 100, tpm: 200_000 } } } },
      fallbacks: { 'qwen-plus': ['qwen-turbo'] },
    });
    assert.ok(r.ok);
    assert.equal(r.config.maxQueueMs, 30_000);
    assert.equal(r.config.baseUrl, 'https://dashscope-intl.aliyuncs.com/compatible-mode/v1');
    assert.equal(r.config.refundUnusedTokens, true);
  });

  it('names the path, the problem and the fix, for every problem at once', () => {
    const found = problems({
      ...base,
      workspaces: {
        'team-a': { name: 'A', models: { 'qwen-plus': { rpm: 900 }, 'qwen-max': { rpm: 10 } } },
        default: { models: { 'qwen-plus': { rpm: 10 } } },
      },
      fallbacks: { 'qwen-plus': ['qwen-plus'], 'qwen-turbo': ['qwen-max'] },
      maxQueueMs: 'soon',
      colour: 'blue',
    });
    const expected = [
      'workspaces.team-a.models.qwen-plus.rpm: 900 exceeds the account limit 600 — set it to 600 or less, or raise models.qwen-plus.rpm',
      "workspaces.team-a.models.qwen-max: model 'qwen-max' has no account limit — add models.qwen-max with its account rpm and tpm first",
      'workspaces.default.models: the default workspace uses the account limits and cannot be edited — remove these limits, or set them on another workspace',
      "fallbacks.qwen-plus[0]: 'qwen-plus' falls back to itself — remove it from its own chain",
      "fallbacks.qwen-turbo[0]: backup 'qwen-max' has no account limit — add models.qwen-max, so its traffic is metered too",
      'maxQueueMs: "soon" is not between 0 and 600000 — write milliseconds, e.g. 30000 (0 = never queue)',
      'colour: is not a known setting — remove it; known here: provider, baseUrl, models, workspaces, fallbacks, temporaryIncreases, maxQueueMs, defaultMaxOutputTokens, refundUnusedTokens, estimateSafetyFactor, sourceLanes, prices',
    ];
    for (const e of expected) assert.ok(found.includes(e), `missing: ${e}\n got:\n${found.join('\n')}`);
    assert.equal(found.length, expected.length, found.join('\n'));
  });

  it("reads prices with the Batch API's share, and names a bad share with its fix", () => {
    const r = validateConfig({ ...base, prices: { batchFactor: 0.5, models: { m: { input: 1, output: 2 } } } });
    assert.ok(r.ok);
    assert.deepEqual(r.config.prices, { batchFactor: 0.5, models: { m: { input: 1, output: 2 } } });
    assert.deepEqual(problems({ ...base, prices: { batchFactor: 0, models: {} } }), [
      'prices.batchFactor: 0 is not a share of the real-time price — write a number above 0 and at most 1, e.g. 0.5 for half the price',
    ]);
  });

  it('finds cycles across fallback chains', () => {
    const found = problems({ ...base, fallbacks: { 'qwen-plus': ['qwen-turbo'], 'qwen-turbo': ['qwen-plus'] } });
    assert.ok(
      found.some((p) => /fallback chains form a cycle: qwen-plus → qwen-turbo → qwen-plus/.test(p)),
      found.join('\n'),
    );
  });

  it('refuses workspace limits that add up to more than the account', () => {
    const found = problems({
      ...base,
      workspaces: {
        a: { name: 'A', models: { 'qwen-plus': { rpm: 400 } } },
        b: { name: 'B', models: { 'qwen-plus': { rpm: 300 } } },
      },
    });
    assert.deepEqual(found, [
      "workspaces.*.models.qwen-plus.rpm: the workspaces' limits add up to 700, over the account limit 600 — lower some workspace limits: the provider refuses a sum above the account limit",
    ]);
  });

  it('rejects bad limits, URLs and providers with their values', () => {
    const found = problems({
      provider: 'acme',
      baseUrl: 'ftp://x',
      models: { m: { rpm: 1.5, tpm: -3 }, n: { rpm: 5 } },
    });
    assert.ok(found.includes('provider: "acme" is not a known provider — use "dashscope", "openai" or "custom"'));
    assert.ok(
      found.includes(
        'baseUrl: "ftp://x" is not an http(s) URL — write e.g. https://dashscope-intl.aliyuncs.com/compatible-mode/v1',
      ),
    );
    assert.ok(
      found.includes(
        'models.m.rpm: 1.5 is not a positive whole number of requests per minute — set a whole number above 0, e.g. 600',
      ),
    );
    assert.ok(
      found.includes(
        'models.m.tpm: -3 is not a positive whole number of tokens per minute — set a whole number above 0, e.g. 1000000',
      ),
    );
    assert.ok(found.includes("models.n.tpm: is missing — add the model's tokens-per-minute limit"));
  });

  it('applies a temporary increase only while it is in force, and checks it', () => {
    const inc = {
      model: 'qwen-plus',
      tpm: 2_000_000,
      previousTpm: 1_000_000,
      upperLimit: 3_000_000,
      appliedAt: '2026-11-01T00:00:00Z',
      expiresAt: '2026-12-01T00:00:00Z',
    };
    const r = validateConfig({
      ...base,
      temporaryIncreases: [inc],
      workspaces: { a: { name: 'A', models: { 'qwen-plus': { rpm: 100 } } } },
    });
    assert.ok(r.ok);
    assert.equal(accountLimitsAt(r.config, 'qwen-plus', Date.parse('2026-11-15T00:00:00Z'))!.tpm, 2_000_000);
    assert.equal(accountLimitsAt(r.config, 'qwen-plus', Date.parse('2026-12-02T00:00:00Z'))!.tpm, 1_000_000);
    assert.deepEqual(workspaceLimitsAt(r.config, 'a', 'qwen-plus', Date.parse('2026-11-15T00:00:00Z')), {
      rpm: 100,
      tpm: 2_000_000,
    });
    const bad = problems({
      ...base,
      temporaryIncreases: [
        { ...inc, tpm: 4_000_000 },
        { ...inc, expiresAt: '2026-10-01T00:00:00Z' },
        { ...inc, tpm: 500 },
      ],
    });
    assert.ok(
      bad.includes('temporaryIncreases[0].tpm: 4000000 exceeds the upper limit 3000000 — set it to 3000000 or less'),
      bad.join('\n'),
    );
    assert.ok(
      bad.includes(
        'temporaryIncreases[1].expiresAt: is not after appliedAt — Model Studio increases last 30 days from appliedAt',
      ),
    );
    assert.ok(
      bad.includes('temporaryIncreases[2].tpm: 500 is not above the previous 1000000 — an increase must raise the TPM'),
    );
  });

  it('normalises provider periods to per-minute and per-second figures', () => {
    assert.deepEqual(normalizePeriod(600, 60), { perMinute: 600, perSecond: 10 });
    assert.deepEqual(normalizePeriod(10, 1), { perMinute: 600, perSecond: 10 });
    assert.deepEqual(normalizePeriod(100, 6), { perMinute: 1000, perSecond: 16.666 });
    assert.deepEqual(normalizePeriod(1_000_000, 60), { perMinute: 1_000_000, perSecond: 16666.666 });
    assert.deepEqual(normalizePeriod(5, 3600), { perMinute: 0, perSecond: 0.001 });
    assert.throws(() => normalizePeriod(10, 0), /period > 0/);
  });
});
