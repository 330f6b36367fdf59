/**
 * Priority lanes: while a background batch saturates a key, an interactive request waits
 * about one pacing slot (the key's next free slot), not behind the batch. Real sockets, the
 * real openai SDK; the queue time is the gateway's own x-rlm-queued-ms. The figures are
 * printed; the assertion is the promise: at most one pacing slot more than on an idle key,
 * plus timer slack for a shared CI machine.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { GatewayState } from '../../src/core/protocol';
import type { AttemptRecord } from '../../src/core/types';
import { startStack, type Stack } from '../support/stack';

const RPM = 600; // one pacing slot = 100 ms
const SLOT_MS = 60_000 / RPM;
const SLACK_MS = 150;

const percentile = (xs: number[], p: number) =>
  [...xs].sort((a, b) => a - b)[Math.min(xs.length - 1, Math.floor(xs.length * p))]!;

describe('priority lanes', { timeout: 90_000 }, () => {
  let s: Stack;
  before(async () => {
    s = await startStack({
      config: { models: { 'qwen-plus': { rpm: RPM, tpm: 10_000_000 }, 'qwen-turbo': { rpm: 600, tpm: 1_000_000 } } },
    });
  });
  after(() => s.close());

  const ask = async (priority?: 'interactive' | 'background', signal?: AbortSignal) => {
    const res = await s.call('/v1/chat/completions', {
      method: 'POST',
      headers: {
        'content-type': 'application/json',
        'x-rlm-max-wait-ms': '120000',
        ...(priority ? { 'x-rlm-priority': priority } : {}),
      },
      body: JSON.stringify({ model: 'qwen-plus', messages: [{ role: 'user', content: 'lane test' }], max_tokens: 5 }),
      ...(signal ? { signal } : {}),
    });
    await res.text();
    return { status: res.status, queuedMs: Number(res.headers.get('x-rlm-queued-ms') ?? NaN) };
  };

  it('an interactive request waits about one pacing slot while a background batch saturates the key', async () => {
    const idle: number[] = [];
    for (let i = 0; i < 8; i++) {
      idle.push((await ask()).queuedMs);
      await new Promise((r) => setTimeout(r, SLOT_MS + 20));
    }
    const stop = new AbortController();
    const batch = Array.from({ length: 200 }, () =>
      ask('background', stop.signal).catch(() => ({ status: 0, queuedMs: 0 })),
    );
    await new Promise((r) => setTimeout(r, 1_500)); // the batch fills the windows
    const state = (await (await s.call('/_rlm/state')).json()) as GatewayState;
    const wait = state.keys.find((k) => k.key === 'account:qwen-plus')!.wait!;
    assert.ok(wait.waiting > 10 && wait.oldestMs > 0, JSON.stringify(wait));
    assert.ok(
      ['pacing', 'rps', 'none'].includes(wait.binds),
      `a saturated 600 RPM key waits on its pacing or its second: ${wait.binds}`,
    );
    const busy: number[] = [];
    for (let i = 0; i < 10; i++) {
      const r = await ask('interactive');
      assert.equal(r.status, 200);
      busy.push(r.queuedMs);
    }
    stop.abort();
    await Promise.all(batch);
    const figures = {
      idle: { p50: percentile(idle, 0.5), p95: percentile(idle, 0.95) },
      busy: { p50: percentile(busy, 0.5), p95: percentile(busy, 0.95) },
    };
    console.log(
      `# lanes: interactive queue time (ms) on an idle key and beside a saturating background batch ${JSON.stringify(figures)}`,
    );
    assert.ok(
      figures.busy.p95 <= figures.idle.p95 + SLOT_MS + SLACK_MS,
      `interactive p95 ${figures.busy.p95} ms beside the batch`,
    );
    const { records } = (await (await s.call('/_rlm/requests?limit=500')).json()) as { records: AttemptRecord[] };
    assert.ok(
      records.some((r) => r.lane === 'background') && records.some((r) => r.lane === 'interactive'),
      'records carry the lane',
    );
  });

  it('refuses an unknown lane, naming the header and the values', async () => {
    const res = await s.call('/v1/chat/completions', {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'x-rlm-priority': 'urgent' },
      body: JSON.stringify({ model: 'qwen-plus', messages: [{ role: 'user', content: 'x' }] }),
    });
    assert.equal(res.status, 400);
    assert.match(
      ((await res.json()) as { error: { message: string } }).error.message,
      /x-rlm-priority: "urgent" is not a lane\. Send "interactive" \(the default\) or "background"/,
    );
  });

  it('tells a background request that timed out why, and that interactive requests go first', async () => {
    const stop = new AbortController();
    const flood = Array.from({ length: 40 }, () =>
      ask('interactive', stop.signal).catch(() => ({ status: 0, queuedMs: 0 })),
    );
    await new Promise((r) => setTimeout(r, 200));
    const res = await s.call('/v1/chat/completions', {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'x-rlm-priority': 'background', 'x-rlm-max-wait-ms': '300' },
      body: JSON.stringify({ model: 'qwen-plus', messages: [{ role: 'user', content: 'x' }] }),
    });
    stop.abort();
    await Promise.all(flood);
    assert.equal(res.status, 429);
    assert.match(
      ((await res.json()) as { error: { message: string } }).error.message,
      /background lane: interactive requests go first/,
    );
  });
});
