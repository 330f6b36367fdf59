import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { classifyError, formatGoDuration, parseRetryAfter, readErrorBody } from '../../src/core/classify';
import type { ProviderId } from '../../src/core/types';

// Bodies as the providers send them (docs/PROVIDER.md; OpenAI's public error shapes).
const TABLE: [string, ProviderId, number | undefined, unknown, string, boolean][] = [
  [
    'DashScope rpm',
    'dashscope',
    429,
    {
      error: {
        message: 'Requests rate limit exceeded, please try again later.',
        type: 'limit_requests',
        param: '',
        code: 'limit_requests',
      },
    },
    'rpm',
    true,
  ],
  [
    'DashScope rpm (requests list)',
    'dashscope',
    429,
    {
      error: {
        message:
          'You exceeded your current requests list. For details, see: https://www.alibabacloud.com/help/en/model-studio/error-code#rate-limit',
        type: 'limit_requests',
        code: 'limit_requests',
      },
    },
    'rpm',
    true,
  ],
  [
    'DashScope tpm',
    'dashscope',
    429,
    {
      error: {
        message: 'Allocated quota exceeded, please increase your quota limit.',
        type: 'insufficient_quota',
        param: '',
        code: 'insufficient_quota',
      },
    },
    'tpm',
    true,
  ],
  [
    'DashScope tpm (current quota)',
    'dashscope',
    429,
    {
      error: {
        message:
          'You exceeded your current quota, please check your plan and billing details. https://…/error-code#token-limit',
        type: 'insufficient_quota',
        code: 'insufficient_quota',
      },
    },
    'tpm',
    true,
  ],
  [
    'DashScope burst',
    'dashscope',
    429,
    {
      error: {
        message:
          'Request rate increased too quickly. To ensure system stability, please adjust your client logic to scale requests more smoothly over time.',
        type: 'limit_burst_rate',
        code: 'limit_burst_rate',
      },
    },
    'burst',
    true,
  ],
  [
    'DashScope native RateQuota',
    'dashscope',
    429,
    { code: 'Throttling.RateQuota', message: 'Requests rate limit exceeded, please try again later.' },
    'rpm',
    true,
  ],
  [
    'DashScope native AllocationQuota',
    'dashscope',
    429,
    { code: 'Throttling.AllocationQuota', message: 'Allocated quota exceeded, please increase your quota limit.' },
    'tpm',
    true,
  ],
  [
    'DashScope native BurstRate',
    'dashscope',
    429,
    { code: 'Throttling.BurstRate', message: 'Request rate increased too quickly.' },
    'burst',
    true,
  ],
  [
    'DashScope generic throttling',
    'dashscope',
    429,
    { code: 'Throttling', message: 'Requests throttling triggered.' },
    'rpm',
    true,
  ],
  [
    'DashScope too many in route',
    'dashscope',
    429,
    { code: 'Throttling', message: 'Too many requests in route. Please try again later.' },
    'rpm',
    true,
  ],
  [
    'DashScope billing overdue',
    'dashscope',
    400,
    { code: 'PrepaidBillOverdue', message: 'The prepaid bill is overdue.' },
    'quota',
    false,
  ],
  [
    'DashScope not purchased',
    'dashscope',
    400,
    { code: 'CommodityNotPurchased', message: 'Commodity has not purchased yet.' },
    'quota',
    false,
  ],
  [
    'DashScope capacity',
    'dashscope',
    503,
    {
      error: {
        message: 'Too many requests. The system capacity limits have been reached.',
        type: 'ModelServingError',
        code: 'ModelServingError',
      },
    },
    'server',
    true,
  ],
  [
    'DashScope bad key',
    'dashscope',
    401,
    { error: { message: 'Incorrect API key provided.', type: 'invalid_request_error', code: 'invalid_api_key' } },
    'auth',
    false,
  ],
  [
    'DashScope error event in a stream (no status)',
    'dashscope',
    undefined,
    {
      error: {
        message: 'Allocated quota exceeded, please increase your quota limit.',
        type: 'insufficient_quota',
        code: 'insufficient_quota',
      },
    },
    'tpm',
    true,
  ],
  [
    'DashScope burst event in a stream',
    'dashscope',
    undefined,
    { error: { message: 'Request rate increased too quickly.', code: 'limit_burst_rate' } },
    'burst',
    true,
  ],
  [
    'OpenAI insufficient_quota is billing',
    'openai',
    429,
    {
      error: {
        message: 'You exceeded your current quota, please check your plan and billing details.',
        type: 'insufficient_quota',
        param: null,
        code: 'insufficient_quota',
      },
    },
    'quota',
    false,
  ],
  [
    'OpenAI RPM',
    'openai',
    429,
    {
      error: {
        message:
          'Rate limit reached for gpt-4o in organization org-x on requests per min (RPM): Limit 3, Used 3, Requested 1.',
        type: 'requests',
        code: 'rate_limit_exceeded',
      },
    },
    'rpm',
    true,
  ],
  [
    'OpenAI TPM',
    'openai',
    429,
    {
      error: {
        message:
          'Rate limit reached for gpt-4o in organization org-x on tokens per min (TPM): Limit 30000, Used 29000, Requested 2000.',
        type: 'tokens',
        code: 'rate_limit_exceeded',
      },
    },
    'tpm',
    true,
  ],
  [
    'OpenAI bad request',
    'openai',
    400,
    { error: { message: "Invalid value for 'temperature'", type: 'invalid_request_error', code: null } },
    'bad_request',
    false,
  ],
  ['bare 500', 'openai', 500, {}, 'server', true],
  ['gateway timeout', 'custom', 504, {}, 'timeout', true],
];

describe('error classification over real provider bodies', () => {
  for (const [name, provider, status, body, kind, retryable] of TABLE) {
    it(`${name} → ${kind}`, () => {
      const c = classifyError({ provider, ...(status !== undefined ? { status } : {}), ...readErrorBody(body) });
      assert.equal(c.kind, kind);
      assert.equal(c.retryable, retryable);
    });
  }
});

describe('durations and headers', () => {
  it('parses Go durations', () => {
    const cases: [string, number][] = [
      ['1s', 1000],
      ['6m0s', 360_000],
      ['12ms', 12],
      ['1h2m3.5s', 3_723_500],
      ['0.5s', 500],
      ['20µs', 0.02],
      ['0', 0],
    ];
    for (const [text, ms] of cases) assert.equal(parseGoDuration(text), ms, text);
    for (const bad of ['', 's', '5', '1x', '1s garbage']) assert.equal(parseGoDuration(bad), undefined, bad);
  });

  it('formats Go durations the way OpenAI sends them, and round-trips', () => {
    assert.equal(formatGoDuration(0), '0s');
    assert.equal(formatGoDuration(12), '12ms');
    assert.equal(formatGoDuration(1500), '1.5s');
    assert.equal(formatGoDuration(360_000), '6m0s');
    for (const ms of [1, 999, 1000, 61_234, 3_600_000])
      assert.ok(Math.abs(parseGoDuration(formatGoDuration(ms))! - ms) < 1, String(ms));
  });

  it('reads retry-after-ms, retry-after in seconds and as an HTTP date', () => {
    const h = (o: Record<string, string>) => (n: string) => o[n];
    assert.equal(parseRetryAfter(h({ 'retry-after-ms': '250', 'retry-after': '9' }), 0), 250);
    assert.equal(parseRetryAfter(h({ 'retry-after': '2' }), 0), 2000);
    const now = Date.parse('2026-11-30T12:00:00Z');
    assert.equal(parseRetryAfter(h({ 'retry-after': 'Mon, 30 Nov 2026 12:00:05 GMT' }), now), 5000);
    assert.equal(parseRetryAfter(h({ 'retry-after': 'whenever' }), now), undefined);
    assert.equal(parseRetryAfter(h({}), now), undefined);
  });
});

const GO_UNITS: Record<string, number> = {
  h: 3_600_000,
  m: 60_000,
  s: 1_000,
  ms: 1,
  us: 0.001,
  µs: 0.001,
  μs: 0.001,
  ns: 0.000001,
};

/** The test's oracle for formatGoDuration: parse a Go duration (`6m0s`, `12ms`, `1.5s`, `1h2m`) to milliseconds; undefined if malformed. */
function parseGoDuration(text: string): number | undefined {
  const s = text.trim();
  if (s === '0') return 0;
  const re = /(\d+(?:\.\d+)?|\.\d+)(h|ms|us|µs|μs|ns|m|s)/gy;
  let total = 0;
  let matched = 0;
  let m: RegExpExecArray | null;
  while ((m = re.exec(s)) !== null) {
    total += Number(m[1]) * GO_UNITS[m[2]!]!;
    matched = re.lastIndex;
  }
  return matched === s.length && matched > 0 ? total : undefined;
}
