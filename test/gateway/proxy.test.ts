import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import OpenAI from 'openai';
import { startStack, eventually, GATEWAY_TOKEN, PROVIDER_KEY, sleep, type Stack } from '../support/stack';

describe('gateway request path (real sockets, real openai SDK)', () => {
  let s: Stack;
  before(async () => {
    s = await startStack({
      config: {
        fallbacks: { 'qwen-plus': ['qwen-turbo'] },
        workspaces: { 'ws-a': { name: 'Team A', models: { 'qwen-plus': { rpm: 300, tpm: 500_000 } } } },
      },
    });
  });
  after(() => s.close());

  it('answers a chat completion, records usage, and sends x-ratelimit headers in OpenAI format', async () => {
    const { data, response } = await s.client.chat.completions
      .create({ model: 'qwen-plus', messages: [{ role: 'user', content: 'Say hello' }], max_tokens: 50 })
      .withResponse();
    assert.equal(data.usage?.completion_tokens, 30);
    const h = response.headers;
    assert.equal(h.get('x-ratelimit-limit-requests'), '600');
    assert.equal(h.get('x-ratelimit-limit-tokens'), '1000000');
    assert.match(h.get('x-ratelimit-remaining-requests')!, /^\d+$/);
    assert.match(h.get('x-ratelimit-reset-tokens')!, /^(\d+ms|[\d.]+s|\d+m[\d.]+s)$/);
    assert.equal(h.get('x-rlm-model'), 'qwen-plus');
    const rec = s.gateway.history.recent({ limit: 1 })[0]!;
    assert.equal(rec.outcome, 'ok');
    assert.equal(rec.promptTokens, data.usage!.prompt_tokens);
    assert.equal(rec.totalTokens, data.usage!.total_tokens);
    assert.equal(rec.ttftMs, undefined);
    assert.ok(rec.latencyMs >= 5);
  });

  it('streams chunk by chunk, measures TTFT, and keeps the usage chunk it added out of the stream', async () => {
    const stream = await s.client.chat.completions.create({
      model: 'qwen-plus',
      messages: [{ role: 'user', content: 'Count' }],
      stream: true,
    });
    let chunks = 0;
    let sawUsage = false;
    let text = '';
    for await (const c of stream) {
      chunks++;
      if (c.usage) sawUsage = true;
      text += c.choices[0]?.delta.content ?? '';
    }
    assert.ok(chunks >= 3, `${chunks} chunks`);
    assert.equal(sawUsage, false, 'the caller did not ask for usage, so it must not get the extra chunk');
    assert.match(text, /lorem/);
    const rec = s.gateway.history.recent({ limit: 1 })[0]!;
    assert.equal(rec.stream, true);
    assert.equal(rec.completionTokens, 30, 'usage was captured from the hidden chunk');
    assert.ok(rec.ttftMs !== undefined && rec.ttftMs >= 5 && rec.ttftMs <= rec.latencyMs);
  });

  it('passes the usage chunk through when the caller asked for it', async () => {
    const stream = await s.client.chat.completions.create({
      model: 'qwen-plus',
      messages: [{ role: 'user', content: 'Count' }],
      stream: true,
      stream_options: { include_usage: true },
    });
    let usage: OpenAI.CompletionUsage | undefined;
    for await (const c of stream) if (c.usage) usage = c.usage;
    assert.equal(usage?.completion_tokens, 30);
  });

  it('meters completions and embeddings too', async () => {
    const c = await s.client.completions.create({ model: 'qwen-plus', prompt: 'Once upon', max_tokens: 10 });
    assert.equal(c.usage?.completion_tokens, 10);
    const e = await s.client.embeddings.create({ model: 'qwen-plus', input: ['a b c', 'd e f'] });
    assert.equal(e.data.length, 2);
    const recs = s.gateway.history.recent({ limit: 2 });
    assert.deepEqual(
      recs.map((r) => r.endpoint),
      ['embeddings', 'completions'],
    );
    assert.equal(recs[0]!.promptTokens, e.usage.prompt_tokens);
  });

  it('charges the workspace key as well as the account key', async () => {
    const before = s.gateway.state().keys.find((k) => k.key === 'workspace:ws-a:qwen-plus')!.minute.requests;
    const ws = new OpenAI({
      baseURL: `${s.url}/v1`,
      apiKey: GATEWAY_TOKEN,
      maxRetries: 0,
      defaultHeaders: { 'x-rlm-workspace': 'ws-a' },
    });
    const { response } = await ws.chat.completions
      .create({ model: 'qwen-plus', messages: [{ role: 'user', content: 'hi' }] })
      .withResponse();
    const st = s.gateway.state();
    assert.equal(st.keys.find((k) => k.key === 'workspace:ws-a:qwen-plus')!.minute.requests, before + 1);
    assert.equal(response.headers.get('x-ratelimit-limit-requests'), '300', 'headers describe the tightest key');
    assert.equal(s.gateway.history.recent({ limit: 1 })[0]!.workspace, 'ws-a');
  });

  it('retries a provider 429 (rpm, tpm) itself and tells the caller not to retry', async () => {
    for (const kind of ['rpm', 'tpm'] as const) {
      s.fake.injectFaults(kind);
      const { data, response } = await s.client.chat.completions
        .create({ model: 'qwen-turbo', messages: [{ role: 'user', content: kind }] })
        .withResponse();
      assert.ok(data.choices[0]);
      assert.equal(response.headers.get('x-should-retry'), 'false');
      assert.equal(response.headers.get('x-rlm-attempts'), '2');
      const [ok, failed] = s.gateway.history.recent({ limit: 2 });
      assert.equal(ok!.outcome, 'ok');
      assert.equal(failed!.errorKind, kind);
      assert.equal(failed!.status, 429);
      assert.equal(failed!.errorCode, kind === 'rpm' ? 'limit_requests' : 'insufficient_quota');
    }
    const key = s.gateway.state().keys.find((k) => k.key === 'account:qwen-turbo')!;
    assert.ok(key.adaptation < 1, 'the effective limit was lowered after the 429s');
    assert.ok(key.effective.rpm < 600);
  });

  it('cuts the pacing rate after a burst 429', async () => {
    s.fake.injectFaults('burst');
    await s.client.chat.completions.create({ model: 'qwen-turbo', messages: [{ role: 'user', content: 'burst' }] });
    const key = s.gateway.state().keys.find((k) => k.key === 'account:qwen-turbo')!;
    assert.ok(key.pacing <= 0.5, `pacing ${key.pacing}`);
    assert.equal(s.gateway.history.recent({ limit: 2 })[1]!.errorKind, 'burst');
  });

  it('retries an error event inside a 200 stream before the caller sees anything', async () => {
    s.fake.options.streamErrorsInBand = true;
    try {
      s.fake.injectFaults('rpm');
      const stream = await s.client.chat.completions.create({
        model: 'qwen-plus',
        messages: [{ role: 'user', content: 'in band' }],
        stream: true,
      });
      let text = '';
      for await (const c of stream) text += c.choices[0]?.delta.content ?? '';
      assert.match(text, /lorem/);
      const [ok, failed] = s.gateway.history.recent({ limit: 2 });
      assert.equal(ok!.outcome, 'ok');
      assert.equal(failed!.errorKind, 'rpm');
      assert.equal(failed!.status, 200, 'the error came inside a 200 stream');
    } finally {
      s.fake.options.streamErrorsInBand = false;
    }
  });

  it('falls back to the next model when the retry budget is spent', async () => {
    s.fake.injectFaults('rpm', 'rpm', 'rpm');
    const { data, response } = await s.client.chat.completions
      .create({ model: 'qwen-plus', messages: [{ role: 'user', content: 'fallback' }] })
      .withResponse();
    assert.equal(response.headers.get('x-rlm-model'), 'qwen-turbo');
    assert.equal(data.model, 'qwen-turbo');
    const rec = s.gateway.history.recent({ limit: 1 })[0]!;
    assert.equal(rec.fallbackFrom, 'qwen-plus');
    assert.equal(rec.requestedModel, 'qwen-plus');
  });

  it('retries 5xx, resets and malformed answers within a bounded budget', async () => {
    for (const fault of ['500', '503', 'reset', 'malformed'] as const) {
      s.fake.injectFaults(fault);
      const r = await s.client.chat.completions.create({
        model: 'qwen-turbo',
        messages: [{ role: 'user', content: fault }],
      });
      assert.ok(r.choices[0], fault);
      assert.equal(s.gateway.history.recent({ limit: 2 })[1]!.outcome, 'error', fault);
    }
    s.fake.injectFaults('500', '500', '500', '500', '500', '500');
    await assert.rejects(
      s.client.chat.completions.create({ model: 'qwen-turbo', messages: [{ role: 'user', content: 'always 500' }] }),
      (e: InstanceType<typeof OpenAI.APIError>) => e.status === 500,
    );
    s.fake.reset();
  });

  it('records a stream the provider cuts off as an error, and the caller sees the cut', async () => {
    s.fake.injectFaults('truncate');
    const stream = await s.client.chat.completions.create({
      model: 'qwen-turbo',
      messages: [{ role: 'user', content: 'cut' }],
      stream: true,
    });
    await assert.rejects(async () => {
      for await (const _ of stream) void _;
    });
    await eventually(
      () => s.gateway.history.recent({ limit: 1 })[0]?.errorCode === 'stream_interrupted',
      'the truncated attempt recorded',
    );
  });

  /** Limit a model to 2 RPM here (the fake allows far more), so a second request waits ~30 s. */
  async function slowModel(model: string): Promise<void> {
    await s.call('/_rlm/config', {
      method: 'PUT',
      body: JSON.stringify({
        ...s.gateway.config,
        models: { ...s.gateway.config.models, [model]: { rpm: 2, tpm: 100_000 } },
      }),
    });
    s.fake.options.models[model] = { rpm: 600, tpm: 1_000_000 };
  }

  /** The error a chat completion ends in, with a maximum wait (undefined if it was answered). */
  const failureOf = (model: string, content: string, maxWaitMs: number) =>
    s.client.chat.completions
      .create({ model, messages: [{ role: 'user', content }] }, { headers: { 'x-rlm-max-wait-ms': String(maxWaitMs) } })
      .then(
        () => undefined,
        (e: unknown) => e,
      );

  it('answers a local 429 naming the limit, with retry-after, when the queue wait would be too long', async () => {
    await slowModel('qwen-max');
    await s.client.chat.completions.create({ model: 'qwen-max', messages: [{ role: 'user', content: 'one' }] });
    const before = s.fake.readCounters().requests;
    const err = await failureOf('qwen-max', 'two', 100);
    assert.ok(err instanceof OpenAI.RateLimitError, String(err));
    assert.equal(err.code, 'limit_requests');
    assert.match(err.message, /qwen-max would wait about [\d.]+ s for its limit of 2 requests per minute/);
    assert.ok(Number(err.headers?.get('retry-after')) >= 1);
    assert.equal(err.headers?.get('x-rlm-local'), 'true');
    // when it could start: ~30 s at 2 RPM, the same figure as retry-after-ms
    const expected = Number(err.headers?.get('x-rlm-expected-start-ms'));
    assert.equal(expected, Number(err.headers?.get('retry-after-ms')));
    assert.ok(expected > 20_000 && expected <= 31_000, `expected start in ${expected} ms`);
    assert.equal(s.fake.readCounters().requests, before, 'nothing went upstream');
    const rec = s.gateway.history.recent({ limit: 1 })[0]!;
    assert.equal(rec.outcome, 'rejected');
    assert.equal(rec.errorKind, 'rpm');
    assert.equal(rec.expectedWaitMs, expected);
  });

  it("answers its own 429, not the provider's, when a retry after a provider 429 cannot start in time", async () => {
    await slowModel('qwen-long');
    s.fake.injectFaults('tpm');
    const before = s.fake.readCounters().requests;
    // the first attempt is refused; at 2 RPM the retry's turn is ~30 s away, past the 1 s maximum
    const err = await failureOf('qwen-long', 'retry too late', 1_000);
    assert.ok(err instanceof OpenAI.RateLimitError, String(err));
    assert.equal(err.headers?.get('x-rlm-local'), 'true');
    assert.match(err.message, /^429 Local rate limit: qwen-long waited the maximum queue time of 1\.0 s/);
    assert.doesNotMatch(err.message, /quota exceeded/i);
    assert.ok(Number(err.headers?.get('retry-after')) >= 1);
    assert.equal(s.fake.readCounters().requests, before + 1, 'only the first attempt went upstream');
    const [local, refused] = s.gateway.history.recent({ limit: 2 });
    assert.equal(refused!.errorKind, 'tpm');
    assert.equal(local!.outcome, 'rejected');
  });

  it('goes to a backup model that can start sooner instead of waiting too long', async () => {
    await s.call('/_rlm/config', {
      method: 'PUT',
      body: JSON.stringify({
        ...s.gateway.config,
        fallbacks: { ...s.gateway.config.fallbacks, 'qwen-max': ['qwen-turbo'] },
      }),
    });
    const { response } = await s.client.chat.completions
      .create(
        { model: 'qwen-max', messages: [{ role: 'user', content: 'three' }] },
        { headers: { 'x-rlm-max-wait-ms': '500' } },
      )
      .withResponse();
    assert.equal(response.headers.get('x-rlm-model'), 'qwen-turbo');
  });

  it('queues within the maximum wait and answers in FIFO order', async () => {
    await s.call('/_rlm/config', {
      method: 'PUT',
      body: JSON.stringify({
        ...s.gateway.config,
        models: { ...s.gateway.config.models, 'qwen-flash': { rpm: 120, tpm: 1_000_000 } },
      }),
    });
    s.fake.options.models['qwen-flash'] = { rpm: 600, tpm: 1_000_000 };
    const order: number[] = [];
    const waits: { expected: number; queued: number }[] = [];
    const started = Date.now();
    await Promise.all(
      [0, 1, 2, 3].map(async (i) => {
        await sleep(i * 5);
        const { response } = await s.client.chat.completions
          .create({ model: 'qwen-flash', messages: [{ role: 'user', content: `q${i}` }] })
          .withResponse();
        order.push(i);
        const header = (name: string) => Number(response.headers.get(name) ?? NaN);
        waits[i] = { expected: header('x-rlm-expected-start-ms'), queued: header('x-rlm-queued-ms') };
      }),
    );
    assert.ok(Date.now() - started >= 3 * 500 - 50, 'paced at 60 s / 120 = 500 ms apart');
    const records = s.gateway.history.recent({ limit: 4, model: 'qwen-flash' });
    const queued = records.map((r) => r.queuedMs);
    assert.ok(Math.max(...queued) >= 1400, `queued ${queued}`);
    // each caller was told the wait the queue expected when it joined, and the records keep it
    assert.deepEqual(
      records.map((r) => r.expectedWaitMs).sort((a, b) => a! - b!),
      waits.map((w) => w.expected).sort((a, b) => a - b),
    );
    assert.ok(Math.max(...waits.map((w) => w.expected)) >= 1400, JSON.stringify(waits));
    // the estimate is the pacing schedule: what it said is what happened, up to the loop's lateness
    for (const w of waits) assert.ok(Math.abs(w.expected - w.queued) < 400, JSON.stringify(waits));
  });

  it('cancels a queued request when its caller disconnects, and nothing reaches the provider', async () => {
    // qwen-max (2 RPM) admitted a request moments ago: the next one waits about 30 s
    const before = s.fake.readCounters().requests;
    const ac = new AbortController();
    const p = s.client.chat.completions.create(
      { model: 'qwen-max', messages: [{ role: 'user', content: 'leave' }] },
      { signal: ac.signal, headers: { 'x-rlm-max-wait-ms': '60000' } },
    );
    await eventually(() => s.gateway.limiter.queueLength('account:qwen-max') === 1, 'the request to queue');
    // the state says who waits and when it should start
    const [waiting, ...others] = s.gateway.state().waiting ?? [];
    assert.deepEqual(others, []);
    assert.deepEqual(
      { model: waiting!.model, source: waiting!.source, lane: waiting!.lane, workspace: waiting!.workspace },
      { model: 'qwen-max', source: 'OpenAI/JS', lane: 'interactive', workspace: 'default' },
    );
    assert.ok(waiting!.expectedInMs > 20_000 && waiting!.expectedInMs <= 31_000, JSON.stringify(waiting));
    ac.abort();
    await assert.rejects(p);
    await eventually(() => s.gateway.limiter.queueLength('account:qwen-max') === 0, 'the place to be freed');
    assert.equal(s.gateway.state().waiting, undefined, 'a cancelled request waits no more');
    await eventually(() => s.gateway.history.recent({ limit: 1 })[0]?.outcome === 'cancelled', 'a cancelled record');
    assert.equal(s.fake.readCounters().requests, before);
  });

  it('never lets the provider key out: not in responses, records, errors or state', async () => {
    s.fake.injectFaults('500', '500', '500');
    await s.client.chat.completions
      .create({ model: 'qwen-turbo', messages: [{ role: 'user', content: 'leak?' }] })
      .catch(() => undefined);
    const everything = JSON.stringify([
      s.gateway.history.recent({ limit: 1000 }),
      s.gateway.state(),
      await (await s.call('/_rlm/requests?limit=1000')).text(),
      await (await s.call('/_rlm/config')).text(),
      await (await s.call('/metrics')).text(),
    ]);
    assert.ok(!everything.includes(PROVIDER_KEY));
    assert.ok(!everything.includes(PROVIDER_KEY.slice(3, 20)));
    s.fake.reset();
  });
});
