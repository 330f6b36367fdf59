/**
 * Team mode (docs/ARCHITECTURE.md, "Team mode"): this gateway and the other machines of one
 * account admit through one Redis. This file decides what the gateway does as the store
 * comes and goes:
 *   online     the local limiter queues, then the team store admits (gate.ts);
 *   offline    the store does not answer: admit on the local limiter alone, within this
 *              machine's share (src/core/teamShare.ts) of the limits, seeded with 1/n of what
 *              the team admitted in the last minute (n = machines seen alive);
 *   rejoining  the store answers again: what was admitted meanwhile is written to it, and for
 *              one window both hold (another machine may still be at its share).
 * A heartbeat each second says who is alive, reads the team's windows and probes the store.
 */
import crypto from 'node:crypto';
import os from 'node:os';
import { gapEntries, shareLimits, shareOfEntries, type WindowEntry } from '../../core/teamShare';
import type { Limiter } from '../../core/limiter';
import type { LimitsManager } from '../limits';
import type { Scheduler } from '../scheduler';
import { TeamGate, type TeamAdmission } from './gate';
import {
  checkRedisUrl,
  isAuthError,
  redactUrl,
  StoreUnavailable,
  TeamStore,
  type KeyRule,
  type SeenNode,
} from './store';
import { readTeamView } from './view';
import type { TeamState, TeamStatus, TeamView } from '../../core/team';

export interface TeamOptions {
  url: string;
  password?: string;
  /** This machine's label in the team's views (default user@hostname). */
  nodeName?: string;
  prefix?: string;
  /** Where the URL came from, named in errors ("--redis", "rateLimitMonitor.team.redisUrl"). */
  setting?: string;
  version: string;
}

const HEARTBEAT_MS = 1_000;
const ALIVE_MS = 5_000;
const MINUTE_WINDOW_MS = 60_100;

interface Deps {
  limiter: Limiter;
  limits: LimitsManager;
  scheduler: Scheduler;
  log: (line: string) => void;
  now?: () => number;
}

export class Team {
  readonly store: TeamStore;
  readonly gate: TeamGate;
  readonly nodeId = crypto.randomBytes(4).toString('hex');
  readonly nodeName: string;
  state: TeamState = 'connecting';
  private since: number;
  private lastError: string | undefined;
  private alive: SeenNode[] = [];
  /** The team's 60 s windows as last read, in this machine's time. */
  private readonly windows = new Map<string, WindowEntry[]>();
  private windowsAt = -Infinity;
  /** While at its share: the share key of each limiter key, and what was admitted since. */
  private readonly shareKeys = new Map<string, string>();
  private readonly offline = new Map<string, WindowEntry[]>();
  private shareEpoch = 0;
  private heartbeatTimer: NodeJS.Timeout | undefined;
  private rejoinTimer: NodeJS.Timeout | undefined;
  private readonly now: () => number;
  private beating = false;

  constructor(
    readonly options: TeamOptions,
    private readonly deps: Deps,
  ) {
    const problem = checkRedisUrl(options.url, options.setting);
    if (problem) throw new Error(problem);
    this.now = deps.now ?? Date.now;
    this.since = this.now();
    this.nodeName = options.nodeName || `${os.userInfo().username}@${os.hostname()}`;
    this.store = new TeamStore({
      url: options.url,
      ...(options.password ? { password: options.password } : {}),
      ...(options.prefix ? { prefix: options.prefix } : {}),
    });
    this.gate = new TeamGate({
      store: this.store,
      nodeId: this.nodeId,
      rulesOf: (keys) => keys.map((k) => this.ruleOf(k)),
      onUnavailable: (e) => this.goOffline(String(e instanceof Error ? e.message : e)),
      onSettled: (a, tokens) => this.count(a, tokens),
    });
    deps.limits.extraKeys = (keys) => keys.flatMap((k) => this.shareKeys.get(k) ?? []);
    this.store.redis.on('close', () => this.goOffline('the connection to Redis closed'));
    this.store.redis.on('error', (e: unknown) => this.onError(e));
  }

  /** Connect and start the heartbeat; a store that cannot be reached leaves the gateway at its share. */
  async start(): Promise<void> {
    try {
      await this.store.connect();
      await this.beat();
    } catch (e) {
      this.onError(e);
      this.goOffline(String(e instanceof Error ? e.message : e));
    }
    // After the first attempt: a heartbeat while still connecting would count as an outage.
    this.heartbeatTimer = setInterval(() => void this.beat(), HEARTBEAT_MS);
    this.heartbeatTimer.unref();
  }

  async stop(): Promise<void> {
    if (this.heartbeatTimer) clearInterval(this.heartbeatTimer);
    if (this.rejoinTimer) clearTimeout(this.rejoinTimer);
    this.deps.scheduler.secondStage = undefined;
    this.gate.failAll('the gateway is shutting down');
    await this.store.close();
  }

  status(): TeamStatus {
    const s: TeamStatus = {
      state: this.state,
      node: { id: this.nodeId, name: this.nodeName },
      url: redactUrl(this.options.url),
      nodes: Math.max(1, this.alive.length),
      since: this.since,
    };
    if (this.shareKeys.size > 0 || this.state === 'offline') s.share = { of: this.parts() };
    if (this.lastError) s.lastError = this.lastError;
    return s;
  }

  /** The team's use per model and its machines (GET /_rlm/team). */
  async view(): Promise<TeamView> {
    return readTeamView(this, this.windows, (key) => this.deps.limits.configuredLimits(key, this.now()));
  }

  /** Called for every admission: while at its share, remember it for the store. */
  onAdmitted(keys: readonly string[], tokens: number, at: number): void {
    if (this.state !== 'offline') return;
    for (const k of keys) {
      if (!this.shareKeys.has(k)) continue;
      let list = this.offline.get(k);
      if (!list) this.offline.set(k, (list = []));
      list.push({ at, tokens });
    }
  }

  private parts(): number {
    return Math.max(1, this.alive.length);
  }

  private ruleOf(key: string): KeyRule {
    const l = this.deps.limiter;
    const limits = l.limitsOf(key)!;
    return {
      key,
      rpm: limits.rpm,
      tpm: limits.tpm,
      rateFactor: l.rateFactorOf(key),
      secondWindowMs: 1_000 + l.secondPadOf(key),
      minuteWindowMs: MINUTE_WINDOW_MS,
    };
  }

  private onError(e: unknown): void {
    const message = String(e instanceof Error ? e.message : e);
    const text = isAuthError(e)
      ? `${this.options.setting ?? 'the Redis URL'}: Redis refused the password (${message}). Set the right one ` +
        `(RLM_REDIS_PASSWORD, or "Rate Limit Monitor: Join Team…"); until then this machine admits at its share.`
      : message;
    if (text !== this.lastError) this.deps.log(`team store: ${text}`);
    this.lastError = text;
  }

  /** One heartbeat: say we are alive, learn who else is, read the team's windows; rejoin if we were out. */
  private async beat(): Promise<void> {
    if (this.beating) return;
    this.beating = true;
    try {
      const info = {
        id: this.nodeId,
        name: this.nodeName,
        version: this.options.version,
        queue: this.deps.scheduler.waiting + this.gate.waiting,
        state: this.state,
      };
      const { now: redisNow, nodes } = await this.store.heartbeat(info, ALIVE_MS);
      const offset = redisNow - this.now();
      this.alive = nodes;
      await this.readWindows(offset);
      if (this.state === 'offline' || this.state === 'connecting') await this.rejoin();
    } catch (e) {
      if (e instanceof StoreUnavailable) this.goOffline(e.message);
      else this.onError(e);
    } finally {
      this.beating = false;
    }
  }

  private async readWindows(offset: number): Promise<void> {
    for (const key of this.deps.limiter.keyNames()) {
      if (key.startsWith('share')) continue;
      const entries = await this.store.window(key);
      this.windows.set(
        key,
        entries.map(([at, tokens]) => ({ at: at - offset, tokens })),
      );
    }
    this.windowsAt = this.now();
  }

  /**
   * The store is out of reach: every waiter goes back to the local limiter, which from now on
   * also admits on a share key per limiter key (1/n of the limits, seeded with 1/n of the team's window).
   */
  private goOffline(reason: string): void {
    if (this.state === 'offline') return;
    const wasConnecting = this.state === 'connecting';
    this.deps.scheduler.secondStage = undefined;
    this.state = 'offline';
    this.since = this.now();
    this.lastError ??= reason;
    this.gate.failAll(reason);
    const n = this.parts();
    const now = this.now();
    this.shareEpoch++;
    const limiter = this.deps.limiter;
    for (const key of limiter.keyNames()) {
      if (key.startsWith('share')) continue;
      const limits = limiter.limitsOf(key)!;
      const shareKey = `share${this.shareEpoch}:${key}`;
      const share = shareLimits(limits, n);
      limiter.setLimits(shareKey, share.limits);
      limiter.setRateFactor(shareKey, share.rateFactor);
      limiter.setSecondPad(shareKey, limiter.secondPadOf(key), now);
      const known = [...(this.windows.get(key) ?? []), ...(this.offline.get(key) ?? [])];
      const seeded = shareOfEntries([...known, ...gapEntries(this.windowsAt, now, limits)], n).filter(
        (e) => e.at > now - MINUTE_WINDOW_MS,
      );
      limiter.replay(seeded.map((e) => ({ at: Math.min(e.at, now), tokens: e.tokens, keys: [shareKey] })));
      this.shareKeys.set(key, shareKey);
    }
    this.deps.scheduler.pump();
    this.deps.log(
      `team store ${wasConnecting ? 'not reachable' : 'offline'} (${reason}): admitting at this machine's share, 1/${n}`,
    );
  }

  /** The store answers again: write what was admitted meanwhile, then admit through it (and the share, one more window). */
  private async rejoin(): Promise<void> {
    const now = this.now();
    for (const [key, entries] of this.offline) {
      const recent = entries.filter((e) => e.at > now - MINUTE_WINDOW_MS);
      if (recent.length === 0) continue;
      await this.store.replay(
        key,
        recent.map((e, i) => ({
          ageMs: now - e.at,
          member: `${this.nodeId}.o${i}-${e.at}:${e.tokens}`,
          tokens: e.tokens,
        })),
      );
    }
    this.offline.clear();
    const first = this.state === 'connecting';
    this.state = first ? 'online' : 'rejoining';
    this.since = now;
    this.lastError = undefined;
    this.deps.scheduler.secondStage = this.stage;
    this.deps.log(first ? `team store: joined as ${this.nodeName}` : `team store: back; rejoined as ${this.nodeName}`);
    if (first) return;
    if (this.rejoinTimer) clearTimeout(this.rejoinTimer);
    this.rejoinTimer = setTimeout(() => {
      if (this.state !== 'rejoining') return;
      this.shareKeys.clear();
      this.state = 'online';
      this.deps.scheduler.pump();
    }, MINUTE_WINDOW_MS);
    this.rejoinTimer.unref();
  }

  /** The gate as the scheduler's second stage: it decides on the account and workspace keys only. */
  private readonly stage = {
    acquire: (keys: readonly string[], cost: number, deadline: number, signal?: AbortSignal, front?: boolean) =>
      this.gate.acquire(keys, cost, deadline, signal, front),
    settle: (handle: object, tokens: number) => this.gate.settle(handle as TeamAdmission, tokens),
    retime: (handle: object, sentAt: number) => this.gate.retime(handle as TeamAdmission, sentAt),
    keysFor: (keys: readonly string[]) => keys.filter((k) => !k.startsWith('share')),
  };

  private count(a: TeamAdmission, tokens: number): void {
    const model = a.keys[0]?.startsWith('account:') ? a.keys[0].slice('account:'.length) : undefined;
    if (!model) return;
    void this.store.count(this.nodeId, model, tokens, Math.floor(this.now() / 60_000)).catch(() => {});
  }
}
