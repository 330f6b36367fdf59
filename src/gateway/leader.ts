/**
 * Many windows, one limiter (docs/ARCHITECTURE.md): exactly one gateway per user and machine. Every
 * VS Code window (or CLI process) runs a GatewayNode; the one that binds the port leads,
 * the others check that the holder is our gateway and follow it. When the leader goes,
 * the followers race to bind; the winner rebuilds from history and leads.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { AdmissionJournal } from './admissionJournal';
import { probeLeader, type LeaderInfo } from './hello';
import { JsonlHistory } from './historyStore';
import { ensurePrivate } from './privateFiles';
import { generateToken } from './security';
import type { Gateway } from './server';
import { GATEWAY_VERSION } from './version';

export type NodeEvent =
  | { event: 'listening'; url: string }
  | { event: 'following'; url: string; leaderPid: number }
  | { event: 'error'; message: string };

export interface GatewayNodeOptions {
  port: number;
  host?: string;
  /** User-private directory for the token, the leader's info file and (by default) history. */
  stateDir: string;
  historyDir?: string;
  retentionMs?: number;
  /** A token given explicitly (CLI `--token`); otherwise the shared one in stateDir. */
  token?: string;
  /** The admin token given explicitly (CLI `--admin-token`); otherwise the shared one in stateDir. */
  adminToken?: string;
  /** Write durable history and the admission journal (off for a throw-away gateway on port 0). */
  durable?: boolean;
  /** Build this process's gateway when it is to lead. */
  makeGateway: (parts: {
    token: string;
    adminToken: string;
    history?: JsonlHistory;
    journal?: AdmissionJournal;
    port: number;
    host: string;
  }) => Gateway;
  onEvent: (e: NodeEvent) => void;
  /** How often a follower checks its leader. */
  watchIntervalMs?: number;
}

export function defaultStateDir(): string {
  return process.env.RLM_STATE_DIR ?? path.join(os.homedir(), '.llm-rate-limit-monitor');
}

/** The shared token: created once (mode 0600, first writer wins), then read by every window. */
export function sharedToken(stateDir: string, name: 'token' | 'admin-token' = 'token'): string {
  fs.mkdirSync(stateDir, { recursive: true, mode: 0o700 });
  ensurePrivate(stateDir, 'directory');
  const file = path.join(stateDir, name);
  try {
    fs.writeFileSync(file, generateToken() + '\n', { mode: 0o600, flag: 'wx' });
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
  }
  ensurePrivate(file, 'file');
  for (let i = 0; i < 50; i++) {
    const t = fs.readFileSync(file, 'utf8').trim();
    if (t.length >= 16) return t;
    // another process created it a moment ago and is still writing
    Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 10);
  }
  throw new Error(`${file} holds no usable token; delete it to have a new one generated`);
}

export class GatewayNode {
  role: 'starting' | 'leader' | 'follower' | 'stopped' = 'starting';
  gateway: Gateway | undefined;
  leaderUrl = '';
  private watchTimer: NodeJS.Timeout | undefined;
  private readonly host: string;
  private readonly token: string;
  /** The owner's token (config changes, history): never given to terminals. */
  readonly adminToken: string;

  constructor(private readonly options: GatewayNodeOptions) {
    this.host = options.host ?? '127.0.0.1';
    this.token = options.token ?? sharedToken(options.stateDir);
    this.adminToken = options.adminToken ?? sharedToken(options.stateDir, 'admin-token');
  }

  get localToken(): string {
    return this.token;
  }

  async start(): Promise<void> {
    await this.contend();
  }

  /** Try to lead; if the port is held by our gateway, follow it. */
  private async contend(): Promise<void> {
    for (let attempt = 0; this.role !== 'stopped'; attempt++) {
      const led = await this.tryLead();
      if (led === 'led') return;
      const leader = await probeLeader(this.host, this.options.port, this.token);
      if (leader) return this.follow(leader);
      if (led === 'foreign' && attempt >= 5) {
        this.role = 'stopped';
        this.options.onEvent({
          event: 'error',
          message:
            `port ${this.options.port} on ${this.host} is held by a program that is not this gateway; ` +
            `choose another port (setting rateLimitMonitor.gateway.port, or --port)`,
        });
        return;
      }
      // the holder may be a leader still starting up, or one that just died: try again shortly
      await new Promise((r) => setTimeout(r, 50 + Math.random() * 100));
    }
  }

  private async tryLead(): Promise<'led' | 'foreign'> {
    const historyDir = this.options.historyDir ?? path.join(this.options.stateDir, 'history');
    const durable = this.options.durable ?? true;
    const history = durable
      ? new JsonlHistory({
          dir: historyDir,
          ...(this.options.retentionMs !== undefined ? { retentionMs: this.options.retentionMs } : {}),
        })
      : undefined;
    const journal = durable ? new AdmissionJournal(path.join(historyDir, 'admissions.journal')) : undefined;
    const gateway = this.options.makeGateway({
      token: this.token,
      adminToken: this.adminToken,
      ...(history ? { history } : {}),
      ...(journal ? { journal } : {}),
      port: this.options.port,
      host: this.host,
    });
    try {
      const url = await gateway.start();
      this.gateway = gateway;
      this.role = 'leader';
      this.leaderUrl = url;
      if (this.options.port !== 0) {
        // the well-known port's leader tells others where it is (port, pid, version)
        fs.mkdirSync(this.options.stateDir, { recursive: true, mode: 0o700 });
        const info = {
          port: gateway.port,
          pid: process.pid,
          version: GATEWAY_VERSION,
          url,
          startedAt: gateway.startedAt,
        };
        fs.writeFileSync(path.join(this.options.stateDir, 'leader.json'), JSON.stringify(info) + '\n', { mode: 0o600 });
      }
      this.options.onEvent({ event: 'listening', url });
      return 'led';
    } catch (e) {
      journal?.close();
      if ((e as NodeJS.ErrnoException).code !== 'EADDRINUSE') throw e;
      return 'foreign';
    }
  }

  private follow(leader: LeaderInfo): void {
    this.role = 'follower';
    // our own address for it, never one the port holder reports
    this.leaderUrl = `http://${this.host.includes(':') ? `[${this.host}]` : this.host}:${this.options.port}`;
    this.options.onEvent({ event: 'following', url: this.leaderUrl, leaderPid: leader.pid });
    const interval = this.options.watchIntervalMs ?? 200;
    let misses = 0;
    const watch = async () => {
      if (this.role !== 'follower') return;
      const alive = await probeLeader(this.host, this.options.port, this.token, 300, false);
      misses = alive ? 0 : misses + 1;
      if (alive && alive.pid !== leader.pid) {
        leader = alive;
        this.options.onEvent({ event: 'following', url: this.leaderUrl, leaderPid: alive.pid });
      }
      if (misses >= 2) {
        this.role = 'starting';
        await this.contend();
        return;
      }
      this.watchTimer = setTimeout(() => void watch(), interval);
    };
    this.watchTimer = setTimeout(() => void watch(), interval);
  }

  async stop(graceMs = 10_000): Promise<void> {
    const wasLeader = this.role === 'leader';
    this.role = 'stopped';
    if (this.watchTimer) clearTimeout(this.watchTimer);
    if (wasLeader && this.gateway) {
      await this.gateway.close(graceMs);
      try {
        const info = JSON.parse(fs.readFileSync(path.join(this.options.stateDir, 'leader.json'), 'utf8')) as {
          pid: number;
        };
        if (info.pid === process.pid) fs.rmSync(path.join(this.options.stateDir, 'leader.json'), { force: true });
      } catch {
        // nothing to tidy
      }
    }
  }
}
