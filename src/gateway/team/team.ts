/**
 * Team mode (docs/ARCHITECTURE.md, "Team mode"): this gateway and the other machines of one
 * account admit through one Redis. This file decides what the gateway does as the store
 * comes and goes:
 *   online     the local limiter queues, then the team store admits (gate.ts);
 *   offline    the store does not answer: admit on the local limiter alone, within this
 *              machine's share (share.ts) of the limits;
 *   rejoining  the store answers again: this machine has told it what it admitted meanwhile
 *              and still admits at its share (telling the store each admission), until every
 *              machine that shared with it is back too — then all go online. A machine online
 *              while others still admit at their share asks the store for only the rest of the
 *              limits (n − those) / n, so the account's windows hold at every moment.
 * A heartbeat each second says who is alive and in which state, reads the team's windows and
 * probes the store.
 */
import crypto from 'node:crypto';
import os from 'node:os';
import type { WindowEntry } from '../../core/teamShare';
import type { Limiter } from '../../core/limiter';
import type { LimitsManager } from '../limits';
import type { Scheduler } from '../scheduler';
import { TeamGate, type TeamAdmission } from './gate';
import { isShareKey, LocalShare, MINUTE_WINDOW_MS } from './share';
import {
  checkRedisUrl,
  isAuthError,
  redactUrl,
  StoreUnavailable,
  TeamStore,
  type KeyRule,
  type SeenNode,
} from './store';
import { ALIVE_MS, readMachines, teamModels } from './view';
import type { TeamMachine, TeamState, TeamStatus, TeamView } from '../../core/team';

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
/** How often the machines' counters are read for the views (ms). */
const MACHINES_EVERY_MS = 5_000;
/** A machine that shared the limits and is not back after this long is taken for gone (ms). */
const FORGET_MATE_MS = 300_000;
/** Rejoining machines go online together this long after the first saw all back (ms, Redis time), */
const SWITCH_AFTER_MS = 1_500;
/** and the agreed time stays in the store for the late ones this long (ms). */
const SWITCH_KEEP_MS = 5_000;

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
  private readonly share: LocalShare;
  /** The machines alive when the store went away (and n, the share's parts) until each is back online. */
  private mates = new Set<string>();
  private parts = 1;
  private outageAt = 0;
  /** Of the limits, the part this machine may ask the store for (less while others are at their share). */
  private storeFraction = 1;
  private generation: string | undefined;
  private heartbeatTimer: NodeJS.Timeout | undefined;
  private switchTimer: NodeJS.Timeout | undefined;
  private readonly now: () => number;
  private beating = false;
  private machines: TeamMachine[] = [];
  private machinesAt = -Infinity;
  private stopped = false;
  private readonly extraKeys = (keys: readonly string[]) => this.share.extraKeys(keys);

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
    this.share = new LocalShare(deps.limiter, this.nodeId);
    this.gate = new TeamGate({
      store: this.store,
      nodeId: this.nodeId,
      rulesOf: (keys) => keys.map((k) => this.ruleOf(k)),
      onUnavailable: (e) => this.goOffline(String(e instanceof Error ? e.message : e)),
      onSettled: (a, tokens) => this.count(a, tokens),
    });
    deps.limits.extraKeys = this.extraKeys;
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

  /** Leave the team: requests go on with the local limiter alone (a gateway shutting down, or Leave Team). */
  async stop(): Promise<void> {
    this.stopped = true;
    if (this.heartbeatTimer) clearInterval(this.heartbeatTimer);
    if (this.switchTimer) clearTimeout(this.switchTimer);
    if (this.deps.scheduler.secondStage === this.stage) this.deps.scheduler.secondStage = undefined;
    if (this.deps.limits.extraKeys === this.extraKeys) this.deps.limits.extraKeys = undefined;
    this.gate.failAll('this gateway left the team');
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
    if (this.share.active) s.share = { of: this.parts };
    if (this.state === 'online' && this.storeFraction < 1) s.storeFraction = this.storeFraction;
    if (this.lastError) s.lastError = this.lastError;
    return s;
  }

  /** The team's use per model and its machines, read now (GET /_rlm/team). */
  async view(): Promise<TeamView> {
    await this.refreshMachines();
    if (this.store.ready) {
      const asked = this.now();
      const redisNow = await this.store.time().catch(() => undefined);
      if (redisNow !== undefined) await this.readWindows(redisNow - (asked + this.now()) / 2).catch(() => undefined);
    }
    return this.snapshot();
  }

  private async refreshMachines(): Promise<void> {
    this.machinesAt = this.now();
    this.machines = await readMachines(this);
  }

  /** The same as last read (the machines every few seconds): for the state the views poll. */
  snapshot(): TeamView {
    const models = teamModels(this.windows, (key) => this.deps.limits.configuredLimits(key, this.now()));
    return { ...this.status(), models, machines: this.machines };
  }

  /** Called for every admission: remember it; at the share, the store has not seen it (rejoining: tell it now). */
  onAdmitted(keys: readonly string[], tokens: number, at: number): void {
    // only online does the store take part in an admission (connecting: the first beat has not come yet)
    const unseen = this.state !== 'online';
    const added = this.share.record(keys, tokens, at, unseen);
    if (this.state !== 'rejoining') return;
    const now = this.now();
    for (const [key, e] of added) {
      this.store
        .replay(key, [{ ageMs: now - e.at, member: e.member, tokens: e.tokens }])
        .then(() => (e.unseen = false))
        .catch(() => undefined);
    }
  }

  private ruleOf(key: string): KeyRule {
    const l = this.deps.limiter;
    const limits = l.limitsOf(key)!;
    const f = this.storeFraction;
    return {
      key,
      rpm: f < 1 ? Math.max(1, Math.floor(limits.rpm * f)) : limits.rpm,
      tpm: f < 1 ? Math.max(1, Math.floor(limits.tpm * f)) : limits.tpm,
      rateFactor: l.rateFactorOf(key),
      secondWindowMs: 1_000 + l.secondPadOf(key),
      minuteWindowMs: MINUTE_WINDOW_MS,
    };
  }

  private onError(e: unknown): void {
    const message = String(e instanceof Error ? e.message : e);
    const text = isAuthError(e)
      ? `${this.options.setting ?? 'the Redis URL'}: Redis refused the password (${message}). Set the right one ` +
        `(RLM_REDIS_PASSWORD, or "Rate Limit Monitor: Join Team…"); until then this machine admits without the store.`
      : message;
    if (text !== this.lastError) this.deps.log(`team store: ${text}`);
    this.lastError = text;
  }

  /** One heartbeat: say we are alive, learn who else is, read the team's windows; rejoin if we were out. */
  private async beat(): Promise<void> {
    if (this.beating || this.stopped) return;
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
      // the windows were just read: only the machines' heartbeats and counters, every few seconds
      if (this.now() - this.machinesAt >= MACHINES_EVERY_MS) void this.refreshMachines().catch(() => undefined);
      if (this.state === 'offline' || this.state === 'connecting') await this.rejoin();
      await this.followMates(redisNow);
    } catch (e) {
      if (e instanceof StoreUnavailable) this.goOffline(e.message);
      else this.onError(e);
    } finally {
      this.beating = false;
    }
  }

  private async readWindows(offset: number): Promise<void> {
    for (const key of this.deps.limiter.keyNames()) {
      if (isShareKey(key)) continue;
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
   * also admits on this machine's share keys (1/n of the limits, n = the machines seen alive).
   */
  private goOffline(reason: string): void {
    if (this.state === 'offline' || this.stopped) return;
    const wasConnecting = this.state === 'connecting';
    this.deps.scheduler.secondStage = undefined;
    this.state = 'offline';
    const now = this.now();
    this.since = now;
    this.outageAt = now;
    this.lastError ??= reason;
    this.parts = Math.max(1, this.alive.length);
    this.mates = new Set(this.alive.map((n) => n.id).filter((id) => id !== this.nodeId));
    this.gate.failAll(reason);
    if (this.switchTimer) clearTimeout(this.switchTimer);
    this.switchTimer = undefined;
    // never reached the store: no team seen, nothing to share — admit alone until it answers
    if (!wasConnecting) this.share.enter(this.parts, this.windows, this.windowsAt, now);
    // requests already waiting here were keyed without the share: they queue again, keeping their deadlines
    this.deps.scheduler.requeueAll('the team store went away');
    this.deps.log(
      wasConnecting
        ? `team store not reachable (${reason}): admitting alone until it answers`
        : `team store offline (${reason}): admitting at this machine's share, 1/${this.parts}`,
    );
  }

  /** The store answers again: tell it what it missed; stay at the share until the machines that shared are back. */
  private async rejoin(): Promise<void> {
    const now = this.now();
    // a fresh proposal each time: a Redis that lost its data takes it, and then it differs from ours
    const generation = await this.store.generation(crypto.randomBytes(6).toString('hex'));
    const lostData = this.generation !== undefined && generation !== this.generation;
    this.generation = generation;
    for (const [key, entries] of this.share.toReplay(now, lostData)) {
      await this.store.replay(
        key,
        entries.map((e) => ({ ageMs: now - e.at, member: e.member, tokens: e.tokens })),
      );
    }
    this.share.markSeen();
    const first = this.state === 'connecting';
    this.state = first ? 'online' : 'rejoining';
    this.since = now;
    this.lastError = undefined;
    if (first) this.deps.scheduler.secondStage = this.stage;
    this.deps.log(first ? `team store: joined as ${this.nodeName}` : `team store: back as ${this.nodeName}`);
  }

  /**
   * After an outage. Rejoining: once every machine that shared is back (or the outage is a
   * minute old: what the missing ones admitted before it has left the windows), all of them go
   * online at one time agreed in the store, so none admits on the store while another still
   * admits at its share without it. Online: while machines that shared are still away, ask the
   * store for the rest of the limits only — their admissions are not in its windows.
   */
  private async followMates(redisNow: number): Promise<void> {
    const now = this.now();
    const states = new Map(this.alive.map((n) => [n.id, n.state]));
    for (const id of this.mates)
      if (states.get(id) === 'online' || now - this.outageAt > FORGET_MATE_MS) this.mates.delete(id);
    if (this.state === 'online') this.storeFraction = (this.parts - this.mates.size) / this.parts;
    if (this.state !== 'rejoining' || this.switchTimer) return;
    const away = [...this.mates].filter((id) => states.get(id) !== 'rejoining');
    if (away.length > 0 && now - this.outageAt < MINUTE_WINDOW_MS) return;
    const at = await this.store.agreeSwitch(redisNow + SWITCH_AFTER_MS, SWITCH_KEEP_MS);
    const delay = Math.max(0, at - redisNow - (this.now() - now));
    this.switchTimer = setTimeout(() => this.goOnline(), delay);
  }

  /** The agreed time: the store admits again; the machines that switched with this one count as online. */
  private goOnline(): void {
    this.switchTimer = undefined;
    if (this.state !== 'rejoining' || this.stopped) return;
    const states = new Map(this.alive.map((n) => [n.id, n.state]));
    for (const id of this.mates)
      if (states.get(id) === 'rejoining' || states.get(id) === 'online') this.mates.delete(id);
    this.storeFraction = (this.parts - this.mates.size) / this.parts;
    this.state = 'online';
    this.since = this.now();
    this.share.leave();
    this.deps.scheduler.secondStage = this.stage;
    this.deps.scheduler.requeueAll('the team store admits again');
    this.deps.log(
      `team store: online again${this.mates.size ? `; asking it for ${this.mates.size} machine(s) fewer` : ''}`,
    );
  }

  /** The gate as the scheduler's second stage: it decides on the account and workspace keys only. */
  private readonly stage = {
    acquire: (keys: readonly string[], cost: number, deadline: number, signal?: AbortSignal, front?: boolean) =>
      this.gate.acquire(keys, cost, deadline, signal, front),
    settle: (handle: object, tokens: number) => this.gate.settle(handle as TeamAdmission, tokens),
    retime: (handle: object, sentAt: number) => this.gate.retime(handle as TeamAdmission, sentAt),
    keysFor: (keys: readonly string[]) => keys.filter((k) => !isShareKey(k)),
  };

  private count(a: TeamAdmission, tokens: number): void {
    const model = a.keys[0]?.startsWith('account:') ? a.keys[0].slice('account:'.length) : undefined;
    if (!model) return;
    void this.store.count(this.nodeId, model, tokens, Math.floor(this.now() / 60_000)).catch(() => {});
  }
}
