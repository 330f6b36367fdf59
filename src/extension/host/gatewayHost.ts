/**
 * Runs this window's gateway node (leader or follower) in the background and keeps a live
 * view of the leader: state ticks and records over its event stream.
 */
import * as vscode from 'vscode';
import type { ConfigSource, GatewayState } from '../../core/protocol';
import type { AttemptRecord, RateLimitConfig } from '../../core/types';
import { apiKeyFromEnv } from '../../gateway/env';
import { ControlClient } from '../../gateway/controlClient';
import { defaultStateDir, GatewayNode } from '../../gateway/leader';
import { Gateway } from '../../gateway/server';
import type { TeamOptions } from '../../gateway/team/team';
import { errorMessage } from '../../core/values';
import { teamWarning } from '../../core/team';

export interface GatewayHostOptions {
  port: number;
  retentionDays: number;
  config: () => RateLimitConfig;
  apiKey: (workspace: string) => string | undefined;
  /** Team mode as the settings say (undefined: alone); applied by the window that leads. */
  team: () => TeamOptions | undefined;
  log: vscode.LogOutputChannel;
}

export class GatewayHost implements vscode.Disposable {
  readonly node: GatewayNode;
  readonly client: ControlClient;
  state: GatewayState | undefined;
  private readonly stateEmitter = new vscode.EventEmitter<GatewayState>();
  private readonly recordEmitter = new vscode.EventEmitter<AttemptRecord>();
  private readonly readyEmitter = new vscode.EventEmitter<void>();
  readonly onDidChangeState = this.stateEmitter.event;
  readonly onDidRecord = this.recordEmitter.event;
  private readonly configEmitter = new vscode.EventEmitter<{ config: RateLimitConfig; source: ConfigSource }>();
  /** The gateway's config was replaced (by these settings, the gateway's page, or a tool). */
  readonly onDidChangeConfig = this.configEmitter.event;
  readonly onDidBecomeReady = this.readyEmitter.event;
  private stopEvents: (() => void) | undefined;
  ready = false;
  failure: string | undefined;

  constructor(private readonly options: GatewayHostOptions) {
    const { log } = options;
    this.node = new GatewayNode({
      port: options.port,
      stateDir: defaultStateDir(),
      retentionMs: options.retentionDays * 86_400_000,
      makeGateway: ({ token, adminToken, history, journal, port, host }) =>
        new Gateway({
          config: options.config(),
          token,
          adminToken,
          apiKey: (ws) => options.apiKey(ws) ?? apiKeyFromEnv(),
          host,
          port,
          ...(history ? { history } : {}),
          ...(journal ? { journal } : {}),
          log: (l) => log.warn(`gateway: ${l}`),
        }),
      onEvent: (e) => {
        if (e.event === 'listening') {
          log.info(`gateway: this window leads at ${e.url}`);
          void this.applyTeam().catch(() => undefined);
        } else if (e.event === 'following') log.info(`gateway: following the leader at ${e.url} (pid ${e.leaderPid})`);
        else {
          this.failure = e.message;
          log.error(`gateway: ${e.message}`);
        }
      },
    });
    // the window's own control client acts for the owner: the admin token; terminals get `token`
    this.client = new ControlClient(() => this.url, this.node.adminToken);
  }

  get url(): string {
    return `http://127.0.0.1:${this.options.port}`;
  }

  get token(): string {
    return this.node.localToken;
  }

  /** True where this window runs the gateway (the others follow it). */
  get leads(): boolean {
    return this.node.role === 'leader';
  }

  /** Start in the background: activation must not wait for sockets or history. */
  start(): Promise<void> {
    return this.node.start().then(async () => {
      if (this.node.role === 'stopped') throw new Error(this.failure ?? 'the gateway could not start');
      this.ready = true;
      this.readyEmitter.fire();
      await this.pushConfig(this.options.config()).catch((e: unknown) => this.options.log.warn(`config: ${String(e)}`));
      this.stopEvents = this.client.events(
        (e) => {
          if (e.type === 'state') {
            this.state = e.state;
            this.stateEmitter.fire(e.state);
          } else if (e.type === 'record') this.recordEmitter.fire(e.record);
          else if (e.type === 'config') this.configEmitter.fire({ config: e.config, source: e.source });
        },
        (e) => this.options.log.debug(`event stream: ${String(e)}`),
      );
    });
  }

  /** Apply a (validated) config: directly when this window leads, else on the leader. */
  async pushConfig(config: RateLimitConfig): Promise<void> {
    if (this.node.role === 'leader' && this.node.gateway) {
      const r = this.node.gateway.applyConfig(config, 'vscode');
      if (!r.ok) throw new Error(r.problems.map((p) => `${p.path}: ${p.message}`).join('; '));
      return;
    }
    await this.client.putConfig(config, 'vscode');
  }

  private teamKey: string | undefined;

  /**
   * Join, move or leave the team as the settings say (only where this window leads: the
   * others follow that gateway). A URL that cannot be right is shown as an error naming the
   * setting, and the gateway goes on alone. Returns what the team's state is now, in words.
   */
  async applyTeam(): Promise<string> {
    const gateway = this.node.role === 'leader' ? this.node.gateway : undefined;
    const options = this.options.team();
    if (!gateway) return options ? 'the window that runs the gateway joins the team' : 'not in a team';
    const key = options ? JSON.stringify(options) : undefined;
    if (key !== this.teamKey) {
      this.teamKey = key;
      try {
        await gateway.setTeam(options);
      } catch (e) {
        this.teamKey = undefined;
        const message = errorMessage(e);
        this.options.log.error(`team: ${message}`);
        void vscode.window.showErrorMessage(vscode.l10n.t('Rate Limit Monitor: {0}', message));
        await gateway.setTeam(undefined);
        throw e;
      }
    }
    const status = gateway.team?.status();
    if (!status) return vscode.l10n.t('not in a team: this machine admits alone');
    return (
      teamWarning(status, vscode.l10n) ??
      vscode.l10n.t('in the team as {0} ({1} machine(s) online)', status.node.name, status.nodes)
    );
  }

  dispose(): void {
    this.stopEvents?.();
    void this.node.stop(5_000);
    this.stateEmitter.dispose();
    this.recordEmitter.dispose();
    this.configEmitter.dispose();
    this.readyEmitter.dispose();
  }
}
