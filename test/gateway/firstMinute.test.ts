/**
 * The safe first minute: a provider whose tokenizer counts 35 % more than ours must not
 * refuse one of the first requests, before calibration has learnt the ratio. On a TPM-bound
 * model two requests fit one provider second by our count but not by the provider's; the
 * safety factor (estimateSafetyFactor, 1.5 until five samples) keeps them apart. The same
 * run with the factor at 1 shows the refusal the factor prevents.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { countText, estimateTokens } from '../../src/gateway/tokenizer';
import { prompt } from '../support/overload';
import { startStack } from '../support/stack';

const TPM = 30_000; // 500 tokens a second
const TEXT = prompt(160);
const MESSAGES = [{ role: 'user' as const, content: TEXT }];

/** The fake's prompt-token factor that makes it count 35 % more than our estimate of this prompt. */
function heavierBy35(): number {
  const ours = estimateTokens('chat.completions', { model: 'm', messages: MESSAGES }, 0).promptTokens;
  const fakes = Math.ceil(TEXT.length / 4) + 3 + 2; // the fake's own count (test/fixtures/fakeProvider.ts)
  assert.ok(countText(TEXT) > 100, 'a prompt large against the per-second tokens');
  return (1.35 * ours) / fakes;
}

async function firstRequests(estimateSafetyFactor: number) {
  const s = await startStack({
    // RPM high enough that pacing does not keep two requests apart, and answers slow enough
    // that the first is not settled (to the provider's count) before the second is admitted.
    fake: {
      models: { 'qwen-plus': { rpm: 6_000, tpm: TPM } },
      promptTokenFactor: heavierBy35(),
      completionTokens: 20,
      ttftMs: 150,
    },
    config: { models: { 'qwen-plus': { rpm: 6_000, tpm: TPM } }, estimateSafetyFactor, maxQueueMs: 60_000 },
    // This test is about the token count, not about timing. Here the fake shares one event loop
    // (and two busy cores) with the gateway, so it can stamp an arrival tens of ms late and see
    // two sends 1.03 s apart as 0.99 s apart (CI saw 986 ms): a per-second refusal that the
    // adaptive pad answers, and that the headline and contention tests measure. A 200 ms pad takes
    // the harness's jitter out; the safety-1 run's refusals come from two requests sent together.
    gateway: { limiter: { secondWindowPadMs: 200 } },
  });
  try {
    const answers = await Promise.allSettled(
      Array.from({ length: 8 }, () =>
        s.client.chat.completions.create({ model: 'qwen-plus', messages: MESSAGES, max_tokens: 20 }),
      ),
    );
    const counters = s.fake.readCounters();
    return {
      failed: answers.filter((a) => a.status === 'rejected').length,
      refusals: counters.refusals,
      calibration: s.gateway.calibration.snapshot(),
    };
  } finally {
    await s.close();
  }
}

describe('safe first minute', { timeout: 90_000 }, () => {
  it('a provider counting 35 % more than our tokenizer refuses none of the first requests', async () => {
    const r = await firstRequests(1.5);
    console.log(`# first minute, safety 1.5: ${JSON.stringify(r)}`);
    assert.equal(r.failed, 0);
    assert.deepEqual(r.refusals, []);
  });

  it('without the safety factor the same requests are refused (what the factor prevents)', async () => {
    const r = await firstRequests(1);
    console.log(
      `# first minute, safety 1: ${JSON.stringify({ failed: r.failed, refusals: r.refusals.length, rules: r.refusals.map((x) => x.rule) })}`,
    );
    assert.ok(
      r.refusals.some((x) => x.rule === 'tps'),
      'the provider refused by its per-second token rule',
    );
  });
});
