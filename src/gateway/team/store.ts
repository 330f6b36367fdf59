/**
 * The team store: one Redis (or Valkey) that every machine of an account talks to
 * (docs/ARCHITECTURE.md, "Team mode"). This file is the client: the connection, its state,
 * the scripts (scripts.ts, sent once and then called by hash) and the plain reads and writes
 * for heartbeats and team counters. Decisions about what to do when Redis is gone live in team.ts.
 * Nothing written here holds a provider key, a local token or prompt text.
 */
import { Redis, type RedisOptions } from 'ioredis';
import { ADMIT_LUA, RELEASE_LUA, REPLAY_LUA, RETIME_LUA, SETTLE_LUA, TIME_LUA } from './scripts';

/** A command could not be answered in time or at all: the gateway goes on at its share. */
export class StoreUnavailable extends Error {}

export interface StoreOptions {
  url: string;
  /** Overrides a password in the URL (RLM_REDIS_PASSWORD, or SecretStorage in VS Code). */
  password?: string;
  /** Key prefix, so several teams can share one Redis (default "rlm"). */
  prefix?: string;
  /** A command slower than this counts as Redis being unreachable (ms). */
  commandTimeoutMs?: number;
  /** The setting or flag the URL came from, named in errors. */
  setting?: string;
}

/** The limits a key is admitted under, as the local limiter holds them now. */
export interface KeyRule {
  key: string;
  rpm: number;
  tpm: number;
  rateFactor: number;
  secondWindowMs: number;
  minuteWindowMs: number;
}

export type AdmitReply =
  | { kind: 'ok'; now: number; at: number }
  | { kind: 'wait'; now: number; at: number; reason: string }
  | { kind: 'never'; now: number };

export interface NodeInfo {
  id: string;
  name: string;
  version: string;
  queue: number;
  state: string;
}

export interface SeenNode extends NodeInfo {
  /** Redis time of its last heartbeat (ms). */
  seenAt: number;
}

type Scripted = Redis & {
  rlmAdmit(...args: (string | number)[]): Promise<string[]>;
  rlmSettle(...args: (string | number)[]): Promise<string>;
  rlmRelease(...args: (string | number)[]): Promise<number>;
  rlmRetime(...args: (string | number)[]): Promise<number>;
  rlmReplay(...args: (string | number)[]): Promise<string>;
  rlmTime(...args: (string | number)[]): Promise<string>;
};

/** Check a Redis URL before connecting: a clear error names the setting and the fix. */
export function checkRedisUrl(url: string, setting = 'the Redis URL'): string | undefined {
  let u: URL;
  try {
    u = new URL(url);
  } catch {
    return `${setting}: '${redactUrl(url)}' is not a URL. Use redis://HOST:PORT (or rediss:// for TLS).`;
  }
  if (u.protocol !== 'redis:' && u.protocol !== 'rediss:')
    return `${setting}: the scheme '${u.protocol}' is not Redis's. Use redis://HOST:PORT (or rediss:// for TLS).`;
  if (!u.hostname) return `${setting}: the URL has no host. Use redis://HOST:PORT.`;
  return undefined;
}

/** The URL without its password, for logs and the state. */
export function redactUrl(url: string): string {
  try {
    const u = new URL(url);
    if (u.password) u.password = '***';
    return u.toString();
  } catch {
    return url.replace(/\/\/[^@/]*@/, '//***@');
  }
}

/** Is this error Redis refusing our credentials (not a network failure)? */
export const isAuthError = (e: unknown) => /WRONGPASS|NOAUTH|invalid password|invalid username/i.test(String(e));

export class TeamStore {
  readonly redis: Scripted;
  readonly prefix: string;

  constructor(options: StoreOptions) {
    this.prefix = options.prefix ?? 'rlm';
    const redisOptions: RedisOptions = {
      lazyConnect: true,
      // A command while disconnected fails at once: the gateway decides, it does not queue in the client.
      enableOfflineQueue: false,
      maxRetriesPerRequest: 0,
      commandTimeout: options.commandTimeoutMs ?? 500,
      connectTimeout: 2_000,
      // Reconnect with backoff: 100 ms doubling to 2 s, forever.
      retryStrategy: (times) => Math.min(1_000, 100 * 2 ** Math.min(times, 4)),
    };
    if (options.password !== undefined) redisOptions.password = options.password;
    this.redis = new Redis(options.url, redisOptions) as Scripted;
    this.redis.defineCommand('rlmAdmit', { lua: ADMIT_LUA });
    this.redis.defineCommand('rlmSettle', { lua: SETTLE_LUA });
    this.redis.defineCommand('rlmRelease', { lua: RELEASE_LUA });
    this.redis.defineCommand('rlmRetime', { lua: RETIME_LUA });
    this.redis.defineCommand('rlmReplay', { lua: REPLAY_LUA });
    this.redis.defineCommand('rlmTime', { numberOfKeys: 0, lua: TIME_LUA });
  }

  /** The Redis keys of a limiter key; one model's keys share a hash tag (Redis Cluster). */
  keysOf(limiterKey: string): { log: string; sum: string; heads: string; lease: string } {
    const model = limiterKey.startsWith('account:')
      ? limiterKey.slice('account:'.length)
      : limiterKey.split(':').slice(2).join(':');
    const base = `${this.prefix}:{${model}}:${limiterKey}`;
    return { log: `${base}:log`, sum: `${base}:sum`, heads: `${base}:heads`, lease: `${base}:lease` };
  }

  get ready(): boolean {
    return this.redis.status === 'ready';
  }

  async connect(): Promise<void> {
    await this.redis.connect();
  }

  /** Ask for a place on every rule's key at once (scripts.ts, ADMIT). */
  async admit(rules: readonly KeyRule[], ask: AdmitAsk, o: AdmitTuning) {
    const keys = rules.flatMap((r) => {
      const k = this.keysOf(r.key);
      return [k.log, k.sum, k.heads, k.lease];
    });
    const args = [ask.ticket, ask.place, ask.cost, ask.front ? 1 : 0, o.toleranceMs, o.leaseGraceMs, o.horizonMs];
    for (const r of rules) args.push(r.rpm, r.tpm, r.rateFactor, r.secondWindowMs, r.minuteWindowMs);
    const reply = await this.call(() => this.redis.rlmAdmit(keys.length, ...keys, ...args));
    const now = Number(reply[1]);
    if (reply[0] === 'ok') return { kind: 'ok', now, at: Number(reply[2]) } satisfies AdmitReply;
    if (reply[0] === 'never') return { kind: 'never', now } satisfies AdmitReply;
    return { kind: 'wait', now, at: Number(reply[2]), reason: String(reply[3]) } satisfies AdmitReply;
  }

  /** Charge an admission its real tokens (refund or top-up). */
  async settle(limiterKeys: readonly string[], member: string, newMember: string, tokens: number): Promise<void> {
    const keys = limiterKeys.flatMap((k) => [this.keysOf(k).log, this.keysOf(k).sum]);
    await this.call(() => this.redis.rlmSettle(keys.length, ...keys, member, newMember, tokens));
  }

  /** Count an admission from `lateMs` later: it left this gateway that much after Redis admitted it. */
  async retime(limiterKeys: readonly string[], member: string, lateMs: number): Promise<void> {
    const keys = limiterKeys.map((k) => this.keysOf(k).log);
    await this.call(() => this.redis.rlmRetime(keys.length, ...keys, member, lateMs));
  }

  /** Give up a machine's place in line (nobody waits in it any more). */
  async release(limiterKeys: readonly string[], place: string): Promise<void> {
    const keys = limiterKeys.flatMap((k) => [this.keysOf(k).heads, this.keysOf(k).lease]);
    await this.call(() => this.redis.rlmRelease(keys.length, ...keys, place));
  }

  /** Add admissions made while Redis was out of reach: `ageMs` before Redis's now. */
  async replay(limiterKey: string, entries: readonly { ageMs: number; member: string; tokens: number }[]) {
    const k = this.keysOf(limiterKey);
    const args: (string | number)[] = [entries.length];
    for (const e of entries) args.push(e.ageMs, e.member, e.tokens);
    await this.call(() => this.redis.rlmReplay(2, k.log, k.sum, ...args));
  }

  /** Redis's clock (ms), the team's one clock. */
  async time(): Promise<number> {
    return Number(await this.call(() => this.redis.rlmTime()));
  }

  /** A key's admissions in its 60 s window as Redis holds them: [time, tokens], oldest first. */
  async window(limiterKey: string): Promise<Array<[number, number]>> {
    const flat = await this.call(() => this.redis.zrange(this.keysOf(limiterKey).log, '0', '-1', 'WITHSCORES'));
    const out: Array<[number, number]> = [];
    for (let i = 0; i < flat.length; i += 2) out.push([Number(flat[i + 1]), Number(flat[i]!.split(':').pop())]);
    return out;
  }

  /** Say this gateway is alive; returns every node seen within `aliveMs` (this one included). */
  async heartbeat(info: NodeInfo, aliveMs: number): Promise<{ now: number; nodes: SeenNode[] }> {
    const now = await this.time();
    const nodesKey = `${this.prefix}:nodes`;
    const all = await this.call(async () => {
      await this.redis.hset(nodesKey, info.id, JSON.stringify({ ...info, seenAt: now }));
      await this.redis.pexpire(nodesKey, 3_600_000);
      return this.redis.hgetall(nodesKey);
    });
    const nodes: SeenNode[] = [];
    for (const [id, text] of Object.entries(all)) {
      const n = parseNode(text);
      if (!n) continue;
      if (now - n.seenAt <= aliveMs) nodes.push(n);
      else if (now - n.seenAt > 3_600_000) void this.redis.hdel(nodesKey, id).catch(() => undefined);
    }
    return { now, nodes };
  }

  /**
   * The store's data generation: set once by the first gateway, gone when Redis loses its data
   * (restarted without persistence). A gateway that sees it change tells the store its last minute again.
   */
  generation(candidate: string): Promise<string> {
    return this.setOnce(`${this.prefix}:generation`, candidate);
  }

  /**
   * One time for the machines coming back from an outage to go online together (Redis time, ms):
   * the first proposal stands for `keepMs`; later ones read it.
   */
  async agreeSwitch(proposedAt: number, keepMs: number): Promise<number> {
    return Number(await this.setOnce(`${this.prefix}:switch`, String(Math.round(proposedAt)), keepMs));
  }

  /** The key's value: `value` if this call set it first, else the one already there (kept `keepMs`, or for good). */
  private setOnce(key: string, value: string, keepMs?: number): Promise<string> {
    return this.call(async () => {
      if (keepMs === undefined) await this.redis.set(key, value, 'NX');
      else await this.redis.set(key, value, 'PX', keepMs, 'NX');
      return (await this.redis.get(key)) ?? value;
    });
  }

  /** Every node with a heartbeat in the last hour. */
  async nodes(): Promise<SeenNode[]> {
    const all = await this.call(() => this.redis.hgetall(`${this.prefix}:nodes`));
    return Object.values(all)
      .map(parseNode)
      .filter((n): n is SeenNode => n !== undefined);
  }

  /** Count one settled request for the team's per-minute counters (kept two hours). */
  async count(nodeId: string, model: string, tokens: number, minute: number): Promise<void> {
    const key = `${this.prefix}:minute:${minute}`;
    await this.call(() =>
      this.redis
        .multi()
        .hincrby(key, `${nodeId}|${model}|r`, 1)
        .hincrby(key, `${nodeId}|${model}|t`, Math.round(tokens))
        .expire(key, 7_200)
        .exec(),
    );
  }

  /** The per-minute counters of the last `minutes` minutes up to `minute`, newest first. */
  async counters(minute: number, minutes: number): Promise<Array<Record<string, string>>> {
    const pipeline = this.redis.pipeline();
    for (let m = 0; m < minutes; m++) pipeline.hgetall(`${this.prefix}:minute:${minute - m}`);
    const replies = await this.call(() => pipeline.exec());
    return (replies ?? []).map(([, v]) => (v ?? {}) as Record<string, string>);
  }

  async close(): Promise<void> {
    this.redis.disconnect();
  }

  /** Run a command; anything but an answer (closed, timed out, refused) is StoreUnavailable. */
  private async call<T>(f: () => Promise<T>): Promise<T> {
    if (!this.ready) throw new StoreUnavailable(`the team store is not connected (${this.redis.status})`);
    try {
      return await f();
    } catch (e) {
      throw new StoreUnavailable(String(e instanceof Error ? e.message : e));
    }
  }
}

/** One question to ADMIT: this admission's ticket, its machine's line, its charge. */
export interface AdmitAsk {
  ticket: string;
  place: string;
  cost: number;
  front: boolean;
}

export interface AdmitTuning {
  toleranceMs: number;
  leaseGraceMs: number;
  /** How far ahead a request may be booked (its gateway asks that much early). */
  horizonMs: number;
}

function parseNode(text: string): SeenNode | undefined {
  try {
    const n = JSON.parse(text) as SeenNode;
    return typeof n.id === 'string' && typeof n.seenAt === 'number' ? n : undefined;
  } catch {
    return undefined;
  }
}
