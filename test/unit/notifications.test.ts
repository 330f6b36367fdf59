/** At most one notice per model and reason every few minutes. */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { NotificationThrottle } from '../../src/extension/logic/notifications';

describe('notifications', () => {
  it('shows at most one notice per model and reason every few minutes', () => {
    const t = new NotificationThrottle(300_000);
    assert.equal(t.allow('m', '429', 0), true);
    assert.equal(t.allow('m', '429', 1_000), false);
    assert.equal(t.allow('m', 'threshold', 1_000), true);
    assert.equal(t.allow('n', '429', 1_000), true);
    assert.equal(t.allow('m', '429', 301_000), true);
  });
});
