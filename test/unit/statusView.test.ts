/** What the status bar shows: the tightest window, the queue, levels, the tooltip. */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { GatewayState, KeyState } from '../../src/core/protocol';
import { statusView } from '../../src/extension/logic/statusView';
import { keyState } from '../support/shapes';
import type { TeamView } from '../../src/core/team';

const key = keyState;
const state = (keys: KeyState[], last429?: GatewayState['last429']): GatewayState => ({
  at: 0,
  version: 't',
  keys,
  queueLength: 0,
  inFlight: 0,
  calibration: {},
  ...(last429 ? { last429 } : {}),
});

describe('status bar view', () => {
  it('shows the tightest of RPM and TPM, the queue, and warning and error levels', () => {
    const v = statusView(
      state([key({ minute: { requests: 412, tokens: 100_000, requestLimit: 600, tokenLimit: 1_000_000 } })]),
      'qwen-plus',
      'default',
      0.8,
      0,
    );
    assert.equal(v.text, '$(pulse) qwen-plus 412/600 RPM');
    assert.equal(v.level, 'normal');
    assert.match(v.tooltip, /\| RPS \| 0 \| 10 \|/);
    const tok = statusView(
      state([
        key({ minute: { requests: 10, tokens: 900_000, requestLimit: 600, tokenLimit: 1_000_000 }, queueLength: 3 }),
      ]),
      'qwen-plus',
      'default',
      0.8,
      0,
    );
    assert.equal(tok.text, '$(pulse) qwen-plus 900K/1M TPM $(watch) 3');
    assert.equal(tok.level, 'warning');
    const err = statusView(
      state([key({})], { model: 'qwen-plus', kind: 'tpm', at: 1_000 }),
      'qwen-plus',
      'default',
      0.8,
      30_000,
    );
    assert.equal(err.level, 'error');
    assert.match(err.tooltip, /Last 429: \*\*tpm\*\*/);
    assert.equal(
      statusView(state([key({})], { model: 'qwen-plus', kind: 'tpm', at: 1_000 }), 'qwen-plus', 'default', 0.8, 120_000)
        .level,
      'normal',
      'an old 429 no longer colours it',
    );
  });
  it('says "no API key" before anything fails, with Set API Key', () => {
    const v = statusView(state([key({})]), 'qwen-plus', 'ws-a', 0.8, 0, true);
    assert.equal(v.text, '$(key) Rate limits: no API key');
    assert.equal(v.level, 'warning');
    assert.match(v.tooltip, /No provider API key for workspace `ws-a`/);
    assert.match(v.tooltip, /\[Set API Key\]\(command:rateLimitMonitor\.setApiKey\)/);
  });

  it('says the 1 s margin, and why it was widened', () => {
    const floor = statusView(
      state([key({ margin: { padMs: 25, changedAt: 0, reason: 'the floor' } })]),
      'qwen-plus',
      'default',
      0.8,
      0,
    );
    assert.match(floor.tooltip, /Margin on the 1 s window: 25 ms\./);
    const wide = statusView(
      state([key({ margin: { padMs: 50, changedAt: 0, reason: 'a per-second refusal (RPS)' } })]),
      'qwen-plus',
      'default',
      0.8,
      0,
    );
    assert.match(wide.tooltip, /Margin on the 1 s window: 50 ms — a per-second refusal \(RPS\), /);
  });
  it('uses the workspace key when it is the fuller one', () => {
    const ws = key({
      key: 'workspace:a:qwen-plus',
      scope: 'workspace',
      workspace: 'a',
      minute: { requests: 90, tokens: 0, requestLimit: 100, tokenLimit: 100_000 },
    });
    const v = statusView(
      state([key({ minute: { requests: 90, tokens: 0, requestLimit: 600, tokenLimit: 1_000_000 } }), ws]),
      'qwen-plus',
      'a',
      0.8,
      0,
    );
    assert.equal(v.text, '$(pulse) qwen-plus 90/100 RPM');
    assert.equal(v.level, 'warning');
  });

  it('in team mode: the store away in the text and the level; the team against the account in the tooltip', () => {
    const team: TeamView = {
      state: 'offline',
      node: { id: 'a1', name: 'alice' },
      url: 'redis://cache:6379',
      nodes: 3,
      share: { of: 3 },
      since: 0,
      models: [{ model: 'qwen-plus', requests: 480, tokens: 120_000, limits: { rpm: 600, tpm: 1_000_000 } }],
      machines: [],
    };
    const k = key({ minute: { requests: 100, tokens: 1_000, requestLimit: 600, tokenLimit: 1_000_000 } });
    const away = statusView({ ...state([k]), team }, 'qwen-plus', 'default', 0.8, 0);
    assert.equal(away.text, '$(pulse) qwen-plus 100/600 RPM $(warning) team store offline — local share 1/3');
    assert.equal(away.level, 'warning');
    assert.match(away.tooltip, /Team \(alice, 3 machines\): 480\/600 RPM · 120K\/1M TPM — \*\*team store offline/);
    const online = statusView({ ...state([k]), team: { ...team, state: 'online' } }, 'qwen-plus', 'default', 0.8, 0);
    assert.equal(online.text, '$(pulse) qwen-plus 100/600 RPM');
    assert.equal(online.level, 'normal');
    const never = statusView({ ...state([k]), team: { ...team, share: undefined } }, 'qwen-plus', 'default', 0.8, 0);
    assert.match(never.text, /team store not reachable — admitting alone/);
  });
});
