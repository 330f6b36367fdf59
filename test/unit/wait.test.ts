/**
 * "Why is this waiting?": the limiter names the rule that holds the first waiting request
 * back, when it may go, and on which of its keys; the views word it the same everywhere.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { Limiter } from '../../src/core/limiter';
import { validateConfig } from '../../src/core/config';
import { waitText } from '../../src/core/protocol';
import { LimitsManager } from '../../src/gateway/limits';

describe('why a request waits', () => {
  it('names TPS when the second is full of tokens', () => {
    const l = new Limiter();
    l.setLimits('k', { rpm: 600, tpm: 6_000 }); // 100 tokens a second
    assert.ok(l.reserve(['k'], 90, 0).ok);
    l.enqueue(['k'], 50, 10);
    const w = l.waitOf('k', 200)!;
    assert.deepEqual({ ...w }, { waiting: 1, oldestMs: 190, nextInMs: 800, binds: 'tps', onKey: 'k', cost: 50 });
    assert.equal(waitText(w, 'k'), '1 waiting; the first for 0.2 s, its turn in 0.8 s: TPS, tokens per second binds');
  });

  it('names a hold after a provider 429, and pacing', () => {
    const l = new Limiter();
    l.setLimits('k', { rpm: 600, tpm: 1_000_000 });
    assert.ok(l.reserve(['k'], 1, 0).ok);
    l.enqueue(['k'], 1, 0);
    assert.equal(l.waitOf('k', 10)!.binds, 'pacing');
    l.hold('k', 5_000);
    assert.equal(l.waitOf('k', 10)!.binds, 'hold');
  });

  it('says when the request waits on its workspace, not on the account', () => {
    const l = new Limiter();
    l.setLimits('account:m', { rpm: 600, tpm: 1_000_000 });
    l.setLimits('workspace:ws-a:m', { rpm: 60, tpm: 1_000_000 });
    assert.ok(l.reserve(['account:m', 'workspace:ws-a:m'], 1, 0).ok);
    l.enqueue(['account:m', 'workspace:ws-a:m'], 1, 10);
    const w = l.waitOf('account:m', 500)!;
    assert.equal(w.onKey, 'workspace:ws-a:m');
    assert.match(waitText(w, 'account:m'), /pacing .* binds on workspace ws-a$/);
  });

  it('says nothing waits when nothing does', () => {
    const l = new Limiter();
    l.setLimits('k', { rpm: 600, tpm: 1_000 });
    assert.equal(l.waitOf('k', 0), undefined);
    assert.equal(waitText(undefined, 'k'), 'none waiting');
  });

  describe("and what a fallback would do, by the proxy's own rule", () => {
    const setup = (fallbacks: Record<string, string[]>) => {
      const config = validateConfig({
        models: {
          plus: { rpm: 60, tpm: 1_000_000 },
          turbo: { rpm: 60, tpm: 1_000_000 },
          max: { rpm: 60, tpm: 1_000_000 },
        },
        fallbacks,
      });
      assert.ok(config.ok);
      const limiter = new Limiter();
      const limits = new LimitsManager(limiter, config.config, 0);
      assert.ok(limiter.reserve(['account:plus'], 10, 0).ok);
      limiter.enqueue(['account:plus'], 10, 5); // waits for plus's next pacing slot, 1 s on
      return { limiter, limits, wait: () => limits.keyStates(100).find((k) => k.key === 'account:plus')!.wait! };
    };

    it('names the first backup that could start sooner', () => {
      const { wait } = setup({ plus: ['turbo'] });
      assert.deepEqual(wait().fallback, { model: 'turbo', startInMs: 0 });
      assert.match(
        waitText(wait(), 'account:plus'),
        /binds\. Past the maximum queue time it would go to turbo \(free now\)\.$/,
      );
    });

    it('passes over a backup that is busier than the model itself', () => {
      const { limiter, wait } = setup({ plus: ['turbo', 'max'] });
      assert.ok(limiter.reserve(['account:turbo'], 10, 0).ok);
      for (let i = 0; i < 3; i++) limiter.enqueue(['account:turbo'], 10, 5); // turbo's queue: 3 s
      assert.deepEqual(wait().fallback, { model: 'max', startInMs: 0 });
    });

    it('says a local 429 would come when no backup could start sooner, and when none is configured', () => {
      const busy = setup({ plus: ['turbo'] });
      assert.ok(busy.limiter.reserve(['account:turbo'], 10, 0).ok);
      busy.limiter.enqueue(['account:turbo'], 10, 5);
      busy.limiter.enqueue(['account:turbo'], 10, 5);
      assert.deepEqual(busy.wait().fallback, { model: null, backups: 1 });
      assert.match(
        waitText(busy.wait(), 'account:plus'),
        /could not start sooner: past the maximum queue time it would get a local 429\.$/,
      );
      const none = setup({});
      assert.equal(none.wait().fallback, null);
      assert.match(waitText(none.wait(), 'account:plus'), /No fallback model is configured for it\.$/);
    });
  });
});
