/**
 * The scheduler: real timers around the limiter (here mocked, with a virtual clock beside them).
 * A request is admitted at once when it fits, waits its turn in order when it does not, and
 * leaves the queue — giving its place back — when its caller goes away, its deadline passes or
 * the gateway stops; one that can never fit is told so at once.
 */
import { afterEach, beforeEach, describe, it, mock } from 'node:test';
import assert from 'node:assert/strict';
import { Limiter } from '../../src/core/limiter';
import { AdmissionError, Scheduler } from '../../src/gateway/scheduler';

let t = 0;
const advance = (ms: number) => {
  t += ms;
  mock.timers.tick(ms);
};
const reason = (p: Promise<unknown>) =>
  p.then(
    () => 'admitted',
    (e: AdmissionError) => e.reason,
  );

describe('the scheduler', () => {
  let limiter: Limiter;
  let scheduler: Scheduler;
  beforeEach(() => {
    t = 0;
    mock.timers.enable({ apis: ['setTimeout'] });
    limiter = new Limiter();
    limiter.setLimits('k', { rpm: 60, tpm: 1_000 }); // one request a second
    scheduler = new Scheduler(limiter, () => t);
  });
  afterEach(() => {
    scheduler.stop();
    mock.timers.reset();
  });

  it('admits at once what fits, and the rest in arrival order as the limits allow', async () => {
    await scheduler.admit(['k'], 1, Infinity);
    const order: number[] = [];
    const second = scheduler.admit(['k'], 1, Infinity).then(() => order.push(2));
    const third = scheduler.admit(['k'], 1, Infinity).then(() => order.push(3));
    advance(500);
    await Promise.resolve();
    assert.deepEqual(order, [], 'nothing before its slot');
    advance(600);
    await second;
    advance(1_100);
    await third;
    assert.deepEqual(order, [2, 3]);
  });

  it('gives the place back when the caller goes away, so the next request takes it', async () => {
    await scheduler.admit(['k'], 1, Infinity);
    const abort = new AbortController();
    const leaving = reason(scheduler.admit(['k'], 1, Infinity, abort.signal));
    const staying = reason(scheduler.admit(['k'], 1, Infinity));
    abort.abort();
    assert.equal(await leaving, 'cancelled');
    advance(1_100);
    assert.equal(await staying, 'admitted', 'the next in line got the freed slot');
    assert.equal(scheduler.waiting, 0);
  });

  it('times out at the deadline, says an impossible request at once, and stops everyone on shutdown', async () => {
    await scheduler.admit(['k'], 1, Infinity);
    const late = reason(scheduler.admit(['k'], 1, t + 300));
    advance(300);
    assert.equal(await late, 'timeout');
    assert.equal(await reason(scheduler.admit(['k'], 5_000, Infinity)), 'impossible', 'more tokens than the TPM');
    const waiting = reason(scheduler.admit(['k'], 1, Infinity));
    scheduler.stop();
    assert.equal(await waiting, 'cancelled');
  });
});
