/**
 * The adaptive 1 s pad (src/gateway/margins.ts) and the limiter parts it uses, in virtual
 * time: a per-second refusal doubles the pad up to the cap, five clean minutes halve it back
 * toward the floor, a wider window at once counts what it covers, and a request that left
 * late counts from when it left.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { Limiter } from '../../src/core/limiter';
import { Calibration } from '../../src/core/tokens';
import { MARGIN, SecondMargins } from '../../src/gateway/margins';
import { LimitsManager } from '../../src/gateway/limits';
import { validateConfig } from '../../src/core/config';

const KEY = 'account:m';

function setup(floor = 25) {
  const limiter = new Limiter({ secondWindowPadMs: floor });
  limiter.setLimits(KEY, { rpm: 600, tpm: 1_000_000 });
  const margins = new SecondMargins(limiter, floor);
  margins.install(KEY, 0);
  return { limiter, margins };
}

describe('adaptive 1 s margin', () => {
  it('doubles on a per-second refusal, up to the cap, and says why', () => {
    const { limiter, margins } = setup();
    margins.onPerSecondRefusal(KEY, 1_000, 'rps');
    assert.equal(limiter.secondPadOf(KEY), 50);
    assert.deepEqual(margins.state(KEY), { padMs: 50, changedAt: 1_000, reason: 'a per-second refusal (RPS)' });
    for (let i = 0; i < 10; i++) margins.onPerSecondRefusal(KEY, 2_000 + i, 'tps');
    assert.equal(limiter.secondPadOf(KEY), MARGIN.capMs);
  });

  it('counts a request that left late from when it left, not from its admission', () => {
    const { limiter } = setup(0);
    limiter.setLimits(KEY, { rpm: 120, tpm: 1_000_000 }); // 2 per second
    const first = limiter.reserve([KEY], 10, 0);
    assert.ok(first.ok);
    limiter.retime(first.reservation, 40); // handed to its socket 40 ms after admission
    assert.ok(limiter.reserve([KEY], 10, 500).ok);
    const third = limiter.reserve([KEY], 10, 1_000);
    assert.ok(
      !third.ok && third.at === 1_040,
      `the window frees 1 s after the first really left: ${!third.ok && third.at}`,
    );
  });

  it('a request that left after the next was admitted counts from when it left; the log stays in order', () => {
    const { limiter } = setup(0);
    limiter.setLimits(KEY, { rpm: 120, tpm: 1_000_000 });
    const first = limiter.reserve([KEY], 10, 0);
    assert.ok(first.ok);
    const second = limiter.reserve([KEY], 10, 500);
    assert.ok(second.ok);
    // the first waited for its socket until 800: the provider counts it from 800, so the window
    // holds two until 1,800 (the second, which may have left at 500 or later, counts from 800 too)
    limiter.retime(first.reservation, 800);
    const third = limiter.reserve([KEY], 10, 1_000);
    assert.ok(!third.ok && third.at === 1_800, `${!third.ok && third.at}`);
    limiter.retime(second.reservation, 600); // earlier than what the log holds: no change
    const again = limiter.reserve([KEY], 10, 1_000);
    assert.ok(!again.ok && again.at === 1_800, `${!again.ok && again.at}`);
  });

  it('an admission retimed after it left the 1 s window is counted in it again', () => {
    const { limiter } = setup(0);
    limiter.setLimits(KEY, { rpm: 60, tpm: 1_000_000 }); // 1 per second
    const first = limiter.reserve([KEY], 10, 0);
    assert.ok(first.ok);
    assert.equal(limiter.estimateStart([KEY], 10, 1_200), 1_200, 'the window is free at 1,200');
    limiter.retime(first.reservation, 1_100); // it left only at 1,100
    const second = limiter.reserve([KEY], 10, 1_200);
    assert.ok(!second.ok && second.at === 2_100, `${!second.ok && second.at}`);
  });

  it('halves after five clean minutes, never below the floor, and not while refusals go on', () => {
    const { limiter, margins } = setup();
    margins.onPerSecondRefusal(KEY, 0, 'rps');
    margins.onPerSecondRefusal(KEY, 0, 'rps'); // 100 ms
    margins.recover(MARGIN.cleanMs - 1);
    assert.equal(limiter.secondPadOf(KEY), 100, 'not before five minutes');
    margins.onPerSecondRefusal(KEY, MARGIN.cleanMs - 1, 'tps'); // 200 ms
    margins.recover(MARGIN.cleanMs + 10);
    assert.equal(limiter.secondPadOf(KEY), 200, 'five minutes from the last refusal');
    margins.recover(2 * MARGIN.cleanMs);
    assert.equal(limiter.secondPadOf(KEY), 100);
    margins.recover(3 * MARGIN.cleanMs);
    assert.equal(limiter.secondPadOf(KEY), 50);
    margins.recover(4 * MARGIN.cleanMs);
    assert.equal(limiter.secondPadOf(KEY), 25);
    margins.recover(5 * MARGIN.cleanMs);
    assert.equal(limiter.secondPadOf(KEY), 25, 'the floor holds');
  });

  it('a wider window counts at once the admissions it now covers', () => {
    const { limiter } = setup(0);
    limiter.setLimits(KEY, { rpm: 120, tpm: 1_000_000 }); // 2 per second
    const a = limiter.reserve([KEY], 10, 0);
    assert.ok(a.ok);
    const b = limiter.reserve([KEY], 10, 500);
    assert.ok(b.ok);
    // at 1,010 the first left a 1,000 ms window; with a 100 ms pad it is still inside
    limiter.setSecondPad(KEY, 100, 1_010);
    const c = limiter.reserve([KEY], 10, 1_010);
    assert.equal(c.ok, false);
    assert.ok(!c.ok && c.at >= 1_100, `fits only when the first leaves the padded window, said ${!c.ok && c.at}`);
  });

  it('a retry placed at the front goes before requests that waited longer', () => {
    const { limiter } = setup(0);
    limiter.setLimits(KEY, { rpm: 60, tpm: 1_000_000 }); // one a second
    assert.ok(limiter.reserve([KEY], 1, 0).ok);
    const waiting = limiter.enqueue([KEY], 1, 10);
    const retry = limiter.enqueue([KEY], 1, 20, { front: true });
    const r = limiter.poll(1_000);
    assert.deepEqual(
      r.admitted.map((t) => t.id),
      [retry.id],
    );
    assert.equal(waiting.state, 'waiting');
  });
});

describe('per-second refusals vs. a wrong picture', () => {
  const config = validateConfig({ models: { m: { rpm: 120, tpm: 100_000 } } });
  assert.ok(config.ok);

  it('a refusal while our 1 s window was full and the 60 s one had room widens the pad and keeps the limits', () => {
    const limiter = new Limiter({ secondWindowPadMs: 25 });
    const limits = new LimitsManager(limiter, config.config, 0, 25);
    assert.ok(limiter.reserve(['account:m'], 10, 0).ok);
    assert.ok(limiter.reserve(['account:m'], 10, 600).ok);
    const tight = limits.perSecondTight(['account:m'], 10, 600);
    assert.deepEqual(tight, ['account:m']);
    limits.onRateLimited(['account:m'], 'rpm', 610, 900, tight);
    assert.equal(limiter.secondPadOf('account:m'), 50);
    assert.equal(limiter.limitsOf('account:m')!.rpm, 120, 'limits unchanged');
    assert.equal(limits.keyStates(610)[0]!.margin!.padMs, 50);
  });

  it('a refusal with room in our 1 s window lowers the limits and holds the key', () => {
    const limiter = new Limiter({ secondWindowPadMs: 25 });
    const limits = new LimitsManager(limiter, config.config, 0, 25);
    assert.ok(limiter.reserve(['account:m'], 10, 0).ok);
    const tight = limits.perSecondTight(['account:m'], 10, 0);
    assert.deepEqual(tight, []);
    limits.onRateLimited(['account:m'], 'rpm', 10, 900, tight);
    assert.equal(limiter.secondPadOf('account:m'), 25);
    assert.ok(limiter.limitsOf('account:m')!.rpm < 120);
  });
});

describe('safe first minute', () => {
  it('charges × the safety factor until five samples, then the calibration alone', () => {
    const c = new Calibration(1, 0.1, 5, 1.5);
    assert.equal(c.factor('qwen-plus'), 1.5);
    for (let i = 0; i < 4; i++) c.observe('qwen-plus', 100, 135);
    assert.ok(c.factor('qwen-plus') >= 1.35 * 1.5 - 0.01, `few samples: ${c.factor('qwen-plus')}`);
    c.observe('qwen-plus', 100, 135);
    assert.ok(Math.abs(c.factor('qwen-plus') - 1.35) < 0.01, `five samples: ${c.factor('qwen-plus')}`);
  });
});
