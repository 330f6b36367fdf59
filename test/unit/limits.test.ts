/**
 * The limits manager: configuration → limiter keys, temporary increases in force only while
 * they last, and adaptation — an rpm/tpm 429 that our own picture cannot explain lowers the
 * key's limits and holds it; quiet steps bring them back.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { validateConfig } from '../../src/core/config';
import { Limiter } from '../../src/core/limiter';
import { ADAPTATION, LimitsManager } from '../../src/gateway/limits';

const DAY = 86_400_000;
function manager(now = 0) {
  const config = validateConfig({
    models: { plus: { rpm: 100, tpm: 100_000 } },
    workspaces: { 'ws-a': { name: 'A', models: { plus: { rpm: 40 } } } },
    temporaryIncreases: [
      {
        model: 'plus',
        tpm: 200_000,
        previousTpm: 100_000,
        appliedAt: new Date(0).toISOString(),
        expiresAt: new Date(30 * DAY).toISOString(),
      },
    ],
  });
  assert.ok(config.ok, JSON.stringify(!config.ok && config.problems));
  const limiter = new Limiter();
  return { limiter, limits: new LimitsManager(limiter, config.config, now) };
}

describe('the limits manager', () => {
  it('installs the account key and each workspace key; a workspace takes the account figure it does not set', () => {
    const { limiter, limits } = manager();
    assert.deepEqual(limits.keysFor('plus', 'ws-a'), ['account:plus', 'workspace:ws-a:plus']);
    assert.deepEqual(limits.keysFor('plus', 'default'), ['account:plus']);
    assert.equal(limiter.limitsOf('workspace:ws-a:plus')!.rpm, 40);
    assert.ok(limits.metered('plus') && !limits.metered('other'));
    assert.ok(limits.workspaceKnown('ws-a') && limits.workspaceKnown('default') && !limits.workspaceKnown('ws-b'));
  });

  it('applies a temporary increase while it lasts, and the account limit after', () => {
    const { limiter, limits } = manager();
    assert.equal(limiter.limitsOf('account:plus')!.tpm, 200_000);
    limits.recover(31 * DAY);
    assert.equal(limiter.limitsOf('account:plus')!.tpm, 100_000);
  });

  it('lowers a key after a 429 it cannot explain, holds it, and recovers step by step', () => {
    const { limiter, limits } = manager(31 * DAY);
    const now = 31 * DAY;
    limits.onRateLimited(['account:plus'], 'rpm', now, now + 2_000);
    assert.equal(limiter.limitsOf('account:plus')!.rpm, 100 * ADAPTATION.decrease);
    assert.equal(limits.keyStates(now).find((k) => k.key === 'account:plus')!.heldUntil, now + 2_000);
    limits.recover(now + ADAPTATION.stepMs);
    assert.equal(
      limiter.limitsOf('account:plus')!.rpm,
      Math.floor(100 * (ADAPTATION.decrease + ADAPTATION.recoverStep)),
    );
    for (let i = 2; i < 10; i++) limits.recover(now + i * ADAPTATION.stepMs);
    assert.equal(limiter.limitsOf('account:plus')!.rpm, 100, 'back to the configured limit');
  });

  it('halves the pacing after a burst 429 instead of lowering the limits', () => {
    const { limiter, limits } = manager(31 * DAY);
    limits.onRateLimited(['account:plus'], 'burst', 31 * DAY, 31 * DAY);
    assert.equal(limiter.rateFactorOf('account:plus'), ADAPTATION.burstDecrease);
    assert.equal(limiter.limitsOf('account:plus')!.rpm, 100);
  });
});
