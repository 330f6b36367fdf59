/**
 * Many windows, one limiter — with real processes. Each "window" is `dist/gateway.js` on
 * the same port and state directory; the fake provider runs in its own process and counts
 * by arrival time.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import readline from 'node:readline';
import OpenAI from 'openai';
import type { HealthInfo } from '../../src/core/protocol';
import { startFakeProcess, type FakeProcess } from '../support/fakeProcess';
import { checkWindows } from '../support/limiterOracle';
import { PROVIDER_KEY, sleep } from '../support/stack';

const RPM = 300;
const TPM = 30_000;

interface Window {
  child: ChildProcess;
  events: { event: string; url?: string; at: number }[];
}

/** A response body that ended because the server's socket closed (not an HTTP error answer). */
function cutStream(e: unknown): boolean {
  const cause = (e as { cause?: { code?: string } }).cause;
  return e instanceof TypeError && e.message === 'terminated' && cause?.code === 'UND_ERR_SOCKET';
}

function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const s = net.createServer().listen(0, '127.0.0.1', () => {
      const port = (s.address() as net.AddressInfo).port;
      s.close(() => resolve(port));
    });
  });
}

describe('one leader across processes', () => {
  let fake: FakeProcess;
  let fakeUrl: string;
  let dir: string;
  let config: string;
  const windows: Window[] = [];

  function openWindow(port: number, stateDir: string): Window {
    const child = spawn(
      process.execPath,
      ['dist/gateway.js', '--config', config, '--upstream', fakeUrl, '--port', String(port), '--state-dir', stateDir],
      {
        env: { PATH: process.env.PATH, RLM_API_KEY: PROVIDER_KEY },
        stdio: ['ignore', 'pipe', 'pipe'],
      },
    );
    const w: Window = { child, events: [] };
    readline
      .createInterface({ input: child.stdout! })
      .on('line', (l) => w.events.push({ ...(JSON.parse(l) as { event: string; url?: string }), at: Date.now() }));
    child.stderr!.on('data', () => undefined);
    windows.push(w);
    return w;
  }

  async function until(check: () => boolean, what: string, ms = 5_000): Promise<void> {
    const end = Date.now() + ms;
    while (!check()) {
      if (Date.now() > end) throw new Error(`timed out: ${what}`);
      await sleep(10);
    }
  }

  before(async () => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'rlm-leader-'));
    fake = await startFakeProcess({
      apiKey: PROVIDER_KEY,
      models: { m: { rpm: RPM, tpm: TPM } },
      ttftMs: 30,
      chunkIntervalMs: 5,
      completionTokens: [10, 40],
    });
    fakeUrl = fake.url;
    config = path.join(dir, 'config.json');
    fs.writeFileSync(
      config,
      JSON.stringify({ models: { m: { rpm: RPM, tpm: TPM } }, maxQueueMs: 3_000, defaultMaxOutputTokens: 60 }),
    );
  });
  after(async () => {
    for (const w of windows) w.child.kill('SIGKILL');
    fake.stop();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it('several processes started at the same instant end with exactly one leader', async () => {
    const port = await freePort();
    const stateDir = path.join(dir, 'same-instant');
    const group = Array.from({ length: 4 }, () => openWindow(port, stateDir));
    await until(() => group.every((w) => w.events.length > 0), 'every window to lead or follow', 10_000);
    const roles = group.map((w) => w.events[0]!.event).sort();
    assert.deepEqual(roles, ['following', 'following', 'following', 'listening']);
    const token = fs.readFileSync(path.join(stateDir, 'token'), 'utf8').trim();
    assert.equal(fs.statSync(path.join(stateDir, 'token')).mode & 0o777, 0o600);
    assert.equal(fs.statSync(stateDir).mode & 0o777, 0o700);
    const info = JSON.parse(fs.readFileSync(path.join(stateDir, 'leader.json'), 'utf8')) as {
      port: number;
      pid: number;
    };
    assert.equal(info.port, port);
    assert.equal(info.pid, group.find((w) => w.events[0]!.event === 'listening')!.child.pid);
    assert.ok(token.length >= 16);
    for (const w of group) w.child.kill('SIGTERM');
  });

  it('kill -9 of the leader under load: a follower leads within 2 s, no flushed record is lost, the provider never sees a window over the limit', async () => {
    const port = await freePort();
    const stateDir = path.join(dir, 'failover');
    const first = openWindow(port, stateDir);
    await until(() => first.events[0]?.event === 'listening', 'the first window to lead');
    const followers = [openWindow(port, stateDir), openWindow(port, stateDir)];
    await until(() => followers.every((w) => w.events[0]?.event === 'following'), 'two followers');
    const token = fs.readFileSync(path.join(stateDir, 'token'), 'utf8').trim();
    const base = `http://127.0.0.1:${port}`;
    const client = new OpenAI({ baseURL: `${base}/v1`, apiKey: token, maxRetries: 0, timeout: 10_000 });
    const health = async () =>
      (await (
        await fetch(`${base}/_rlm/health`, { headers: { authorization: `Bearer ${token}` } })
      ).json()) as HealthInfo;

    // twice the request rate the limits allow, mixed sizes, some streamed
    let stop = false;
    // `cut`: a stream the leader was sending when it was killed (undici: "terminated"); no
    // gateway can finish a stream whose process is gone. `other` is anything else, and must not happen.
    const outcomes = { ok: 0, local429: 0, connection: 0, cut: 0, other: 0 };
    const others: string[] = [];
    const cutAt: number[] = [];
    let killedAt = Infinity;
    const load = (async () => {
      const inflight: Promise<void>[] = [];
      for (let i = 0; !stop; i++) {
        inflight.push(
          (async () => {
            try {
              const body = {
                model: 'm',
                max_tokens: 40,
                messages: [{ role: 'user' as const, content: 'word '.repeat(5 + (i % 40)) }],
              };
              if (i % 3 === 0)
                for await (const _ of await client.chat.completions.create({ ...body, stream: true })) void _;
              else await client.chat.completions.create(body);
              outcomes.ok++;
            } catch (e) {
              if (e instanceof OpenAI.RateLimitError) outcomes.local429++;
              else if (e instanceof OpenAI.APIConnectionError) outcomes.connection++;
              else if (cutStream(e)) {
                outcomes.cut++;
                cutAt.push(Date.now());
              } else {
                outcomes.other++;
                others.push(String(e));
              }
            }
          })(),
        );
        await sleep(1000 / ((RPM / 60) * 2));
      }
      await Promise.all(inflight);
    })();

    await sleep(6_000);
    const acknowledged = (await health()).history!.flushedRecords;
    first.child.kill('SIGKILL');
    killedAt = Date.now();
    await until(
      () => followers.some((w) => w.events.some((e) => e.event === 'listening')),
      'a follower to lead',
      5_000,
    );
    const leader = followers.find((w) => w.events.some((e) => e.event === 'listening'))!;
    const tookOverMs = leader.events.find((e) => e.event === 'listening')!.at - killedAt;
    await sleep(8_000);
    stop = true;
    await load;

    const h = await health();
    const other = followers.find((w) => w !== leader)!;
    const counters = await fake.counters();
    const arrivals = await fake.arrivals('m');
    console.log(
      `# failover ${JSON.stringify({ tookOverMs, acknowledged, rebuilt: h.rebuild, outcomes, provider429: counters.rejected, accepted: counters.accepted })}`,
    );
    assert.ok(tookOverMs <= 2_000, `took ${tookOverMs} ms`);
    assert.equal(h.pid, leader.child.pid);
    assert.equal(other.events.at(-1)!.event, 'following', 'the other follower follows the new leader');
    assert.ok(
      h.rebuild!.records >= acknowledged,
      `rebuilt ${h.rebuild!.records} of ${acknowledged} acknowledged records`,
    );
    assert.ok(h.rebuild!.replayedAdmissions > 0, 'the last minute of admissions was replayed into the limiter');
    assert.equal(outcomes.other, 0, `unexpected failures: ${others.join('; ')}`);
    const lateCuts = cutAt.map((t) => t - killedAt).filter((ms) => ms < -100 || ms > 2_000);
    assert.deepEqual(lateCuts, [], 'only streams open at the kill are cut (ms after the kill)');
    assert.ok(outcomes.ok > 40, `${outcomes.ok} answered`);
    assert.deepEqual(
      counters.rejected,
      { rpm: 0, tpm: 0, burst: 0 },
      `the provider refused: ${JSON.stringify(counters.refusals)}`,
    );
    assert.deepEqual(
      checkWindows(arrivals, RPM, TPM),
      [],
      'no window over the limit at the provider, failover included',
    );
  });
});
