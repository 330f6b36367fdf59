import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { Limiter } from '../../src/core/limiter';
import { LocalShare } from '../../src/gateway/team/share';

const ACCOUNT = 'account:qwen-plus';

function setup() {
  const limiter = new Limiter();
  limiter.setLimits(ACCOUNT, { rpm: 600, tpm: 1_000_000 });
  return { limiter, share: new LocalShare(limiter, 'n1') };
}

describe('a machine at its share (team store away)', () => {
  it('adds a share key with 1/n of the limits, seeded with 1/n of the team’s last minute', () => {
    const { limiter, share } = setup();
    assert.deepEqual(share.extraKeys([ACCOUNT]), [], 'no share while the store answers');
    const now = 100_000;
    // the team admitted 90 requests in the last minute, read just now
    const window = Array.from({ length: 90 }, (_, i) => ({ at: now - 59_000 + i * 600, tokens: 300 }));
    share.enter(3, new Map([[ACCOUNT, window]]), now, now);
    const [shareKey] = share.extraKeys([ACCOUNT]);
    assert.ok(shareKey);
    const u = limiter.usage(shareKey, now);
    assert.deepEqual(u.limits, { rpm: 200, tpm: 333_333 });
    assert.equal(u.minute.requests, 30);
    assert.equal(u.minute.tokens, 9_000);
    share.leave();
    assert.deepEqual(share.extraKeys([ACCOUNT]), []);
  });

  it('counts the time since the last look as fully used (the safe side)', () => {
    const { limiter, share } = setup();
    const now = 200_000;
    share.enter(2, new Map([[ACCOUNT, []]]), now - 3_000, now);
    const [shareKey] = share.extraKeys([ACCOUNT]);
    // 3 s at 10 requests a second may have gone by unseen: half of 30 is this machine's
    assert.equal(limiter.usage(shareKey!, now).minute.requests, 15);
  });

  it('remembers its own last minute and tells a store that lost its data all of it, else only the unseen', () => {
    const { share } = setup();
    share.record([ACCOUNT], 100, 1_000, false);
    share.record([ACCOUNT, 'share1:account:qwen-plus'], 200, 2_000, true);
    share.record([ACCOUNT], 300, 3_000, true);
    const now = 61_500;
    assert.deepEqual(
      share
        .toReplay(now, false)
        .get(ACCOUNT)!
        .map((e) => e.tokens),
      [200, 300],
      'only the unseen; no share key',
    );
    // the entry at 1 000 is past the minute (60.1 s) at 61 500; the ones at 2 000 and 3 000 are not
    assert.deepEqual(
      share
        .toReplay(now, true)
        .get(ACCOUNT)!
        .map((e) => e.tokens),
      [200, 300],
    );
    assert.deepEqual(
      share
        .toReplay(3_500, true)
        .get(ACCOUNT)!
        .map((e) => e.tokens),
      [100, 200, 300],
    );
    share.markSeen();
    assert.equal(share.toReplay(now, false).size, 0);
    // members are unique, so telling the store twice counts once
    const members = share
      .toReplay(3_500, true)
      .get(ACCOUNT)!
      .map((e) => e.member);
    assert.equal(new Set(members).size, members.length);
  });
});
