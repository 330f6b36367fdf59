/**
 * "Why is this waiting?": the limiter names the rule that holds the first waiting request
 * back, when it may go, and on which of its keys; the views word it the same everywhere.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { Limiter } from '../../src/core/limiter';
import { waitText } from '../../src/core/protocol';

describe('why a request waits', () => {
  it('names TPS when the second is full of tokens', () => {
    const l = new Limiter();
    l.setLimits('k', { rpm: 600, tpm: 6_000 }); // 100 tokens a second
    assert.ok(l.reserve(['k'], 90, 0).ok);
    l.enqueue(['k'], 50, 10);
    const w = l.waitOf('k', 200)!;
    assert.deepEqual({ ...w }, { waiting: 1, oldestMs: 190, nextInMs: 800, binds: 'tps', onKey: 'k' });
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
});
