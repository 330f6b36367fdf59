import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { Advice } from '../../src/core/advice';
import type { GatewayEvent, GatewayState, MetricsResponse, SeriesResponse } from '../../src/core/protocol';
import { startStack, eventually, type Stack } from '../support/stack';

describe('gateway control surface', () => {
  let s: Stack;
  before(async () => {
    s = await startStack();
    for (let i = 0; i < 3; i++)
      await s.client.chat.completions.create({ model: 'qwen-plus', messages: [{ role: 'user', content: `m${i}` }] });
  });
  after(() => s.close());

  it('reports state per key and window', async () => {
    const st = (await (await s.call('/_rlm/state')).json()) as GatewayState;
    const k = st.keys.find((x) => x.key === 'account:qwen-plus')!;
    assert.equal(k.configured.rpm, 600);
    assert.equal(k.minute.requests, 3);
    assert.equal(k.second.requestLimit, 10);
    assert.equal(k.queueLength, 0);
  });

  it('serves metrics, series and recent requests for a window, and refuses a bad window', async () => {
    const m = (await (await s.call('/_rlm/metrics?window=1h')).json()) as MetricsResponse;
    assert.equal(m.summary.totalCalls, 3);
    assert.equal(m.summary.totalModels, 1);
    assert.equal(m.rows[0]!.model, 'qwen-plus');
    assert.equal(m.rows[0]!.failedCalls, 0);
    const series = (await (await s.call('/_rlm/series?model=qwen-plus&window=1h&step=1m')).json()) as SeriesResponse;
    assert.equal(
      series.points.reduce((n, p) => n + p.calls, 0),
      3,
    );
    assert.equal(
      series.seconds.reduce((n, p) => n + p.calls, 0),
      3,
    );
    const recent = (await (await s.call('/_rlm/requests?limit=2&outcome=ok')).json()) as { records: unknown[] };
    assert.equal(recent.records.length, 2);
    const bad = await s.call('/_rlm/metrics?window=forever');
    assert.equal(bad.status, 400);
    assert.match(
      ((await bad.json()) as { error: { message: string } }).error.message,
      /window "forever": use 1h, 3h, 24h, 7d/,
    );
  });

  it('bounds every window and the points of a series, so no query can exhaust the heap', async () => {
    // 3650d at 1m had been 5.3 million points and killed the gateway
    for (const route of [
      '/_rlm/series?window=3650d&step=1m',
      '/_rlm/metrics?window=3650d',
      '/_rlm/history/export?window=91d',
    ]) {
      const r = await s.call(route);
      assert.equal(r.status, 400, route);
      assert.match(((await r.json()) as { error: { message: string } }).error.message, /up to 90d/, route);
    }
    const tooFine = await s.call('/_rlm/series?window=30d&step=1m');
    assert.equal(tooFine.status, 400);
    assert.match(
      ((await tooFine.json()) as { error: { message: string } }).error.message,
      /more than 2000 points: use a step of at least 22m/,
    );
    const ok = (await (await s.call('/_rlm/series?window=90d&step=6h')).json()) as SeriesResponse;
    assert.ok(ok.points.length >= 360 && ok.points.length <= 361, `${ok.points.length} points`);
    assert.equal((await s.call('/_rlm/health')).status, 200, 'the gateway is still up');
  });

  it('streams records and state ticks over SSE', async () => {
    const res = await s.call('/_rlm/events');
    const reader = res.body!.getReader();
    const events: GatewayEvent[] = [];
    let buf = '';
    const pump = (async () => {
      for (;;) {
        const { value, done } = await reader.read();
        if (done) return;
        buf += new TextDecoder().decode(value);
        let i: number;
        while ((i = buf.indexOf('\n\n')) >= 0) {
          events.push(JSON.parse(buf.slice(0, i).replace(/^data: /, '')) as GatewayEvent);
          buf = buf.slice(i + 2);
        }
      }
    })();
    await s.client.chat.completions.create({ model: 'qwen-plus', messages: [{ role: 'user', content: 'live' }] });
    await eventually(() => events.some((e) => e.type === 'record'), 'a record event', 2_000);
    assert.equal(events[0]!.type, 'state');
    await reader.cancel();
    await pump.catch(() => undefined);
  });

  it('applies a valid config live and keeps the old one on an invalid config, listing every problem', async () => {
    const cfg = s.gateway.config;
    const ok = await s.call('/_rlm/config', {
      method: 'PUT',
      body: JSON.stringify({ ...cfg, models: { ...cfg.models, 'qwen-plus': { rpm: 300, tpm: 500_000 } } }),
    });
    assert.equal(ok.status, 200);
    assert.equal(s.gateway.limiter.limitsOf('account:qwen-plus')!.rpm, 300);
    const bad = await s.call('/_rlm/config', {
      method: 'PUT',
      body: JSON.stringify({
        ...cfg,
        models: { 'qwen-plus': { rpm: -1, tpm: 500_000 } },
        workspaces: { 'team-a': { name: 'A', models: { 'qwen-plus': { rpm: 900 } } } },
        fallbacks: { 'qwen-plus': ['qwen-plus'] },
      }),
    });
    assert.equal(bad.status, 400);
    const body = (await bad.json()) as { error: { problems: { path: string }[]; message: string } };
    assert.deepEqual(body.error.problems.map((p) => p.path).sort(), ['fallbacks.qwen-plus[0]', 'models.qwen-plus.rpm']);
    assert.match(body.error.message, /previous one stays in force/);
    assert.equal(s.gateway.limiter.limitsOf('account:qwen-plus')!.rpm, 300, 'old config kept');
  });

  it('keeps queued requests through a config change', async () => {
    const cfg = s.gateway.config;
    await s.call('/_rlm/config', {
      method: 'PUT',
      body: JSON.stringify({ ...cfg, models: { ...cfg.models, 'qwen-plus': { rpm: 60, tpm: 500_000 } } }),
    });
    const calls = [0, 1, 2].map((i) =>
      s.client.chat.completions.create(
        { model: 'qwen-plus', messages: [{ role: 'user', content: `q${i}` }] },
        { headers: { 'x-rlm-max-wait-ms': '10000' } },
      ),
    );
    await eventually(() => s.gateway.limiter.queueLength() >= 1, 'requests to queue');
    await s.call('/_rlm/config', {
      method: 'PUT',
      body: JSON.stringify({ ...cfg, models: { ...cfg.models, 'qwen-plus': { rpm: 600, tpm: 500_000 } } }),
    });
    const results = await Promise.all(calls);
    assert.equal(results.length, 3);
  });

  it('exposes Prometheus text', async () => {
    const text = await (await s.call('/metrics')).text();
    assert.match(text, /# TYPE rlm_requests_total counter/);
    assert.match(text, /rlm_requests_total\{model="qwen-plus",workspace="default"\} \d+/);
    assert.match(text, /rlm_limit_requests_per_minute\{key="account:qwen-plus"/);
  });
});

describe('advice (GET /_rlm/advice)', () => {
  it('is empty with nothing to advise, then names the higher-limit alias and the increase about to end', async () => {
    const calm = await startStack();
    try {
      await calm.client.chat.completions.create({ model: 'qwen-plus', messages: [{ role: 'user', content: 'hi' }] });
      assert.deepEqual(((await (await calm.call('/_rlm/advice')).json()) as { advice: Advice[] }).advice, []);
    } finally {
      await calm.close();
    }
    const now = Date.now();
    const s = await startStack({
      fake: {
        models: { 'qwen-plus-2025-07-28': { rpm: 600, tpm: 1_000_000 }, 'qwen-plus': { rpm: 600, tpm: 1_000_000 } },
      },
      config: {
        models: {
          'qwen-plus': { rpm: 15_000, tpm: 5_000_000 },
          'qwen-plus-2025-07-28': { rpm: 600, tpm: 1_000_000 },
        },
        temporaryIncreases: [
          {
            model: 'qwen-plus',
            tpm: 6_000_000,
            previousTpm: 5_000_000,
            appliedAt: new Date(now - 28 * 86_400_000).toISOString(),
            expiresAt: new Date(now + 86_400_000).toISOString(),
          },
        ],
      },
    });
    try {
      await s.client.chat.completions.create({
        model: 'qwen-plus-2025-07-28',
        messages: [{ role: 'user', content: 'an old snapshot' }],
      });
      const { advice } = (await (await s.call('/_rlm/advice')).json()) as { advice: Advice[] };
      assert.deepEqual(advice.map((a) => `${a.kind} ${a.model}`).sort(), [
        'higher-limit-model qwen-plus-2025-07-28',
        'idle-increase qwen-plus',
        'increase-expiring qwen-plus',
      ]);
    } finally {
      await s.close();
    }
  });
});
