/** The queue as the views list it: the longest-waiting first, at most MAX_LISTED, gone when they leave. */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { MAX_LISTED, WaitingRequests } from '../../src/gateway/waiting';

const who = { model: 'qwen-plus', workspace: 'default', source: 'OpenAI/JS', lane: 'interactive' as const };

describe('waiting requests', () => {
  it('lists who waits, for how long and when each should start; a request that left is gone', () => {
    const w = new WaitingRequests();
    const leaveA = w.add({ ...who, since: 1_000, expectedAt: 4_000 });
    w.add({ ...who, source: 'curl', since: 2_000, expectedAt: 2_500 });
    assert.deepEqual(w.list(3_000), [
      { ...who, waitingMs: 2_000, expectedInMs: 1_000 },
      // past its expected start: due, not a negative time
      { ...who, source: 'curl', waitingMs: 1_000, expectedInMs: 0 },
    ]);
    leaveA();
    leaveA(); // leaving twice is harmless
    assert.deepEqual(
      w.list(3_000).map((r) => r.source),
      ['curl'],
    );
    assert.equal(w.size, 1);
  });

  it('lists at most MAX_LISTED, the longest-waiting first', () => {
    const w = new WaitingRequests();
    for (let i = 0; i < MAX_LISTED + 10; i++) w.add({ ...who, since: i, expectedAt: i });
    const listed = w.list(1_000);
    assert.equal(listed.length, MAX_LISTED);
    assert.equal(listed[0]!.waitingMs, 1_000);
    assert.equal(w.size, MAX_LISTED + 10);
  });
});
