/**
 * Provider API keys, one per provider workspace, in SecretStorage only — never settings,
 * logs, records or errors. A cache lets the gateway read them synchronously per request.
 */
import * as vscode from 'vscode';
import { DEFAULT_WORKSPACE } from '../../core/types';

const PREFIX = 'rateLimitMonitor.apiKey.';

export class ApiKeys implements vscode.Disposable {
  private readonly cache = new Map<string, string>();
  private readonly listener: vscode.Disposable;
  private readonly changed = new vscode.EventEmitter<string>();
  /** A workspace's key was stored or cleared (here or in another window). */
  readonly onDidChange = this.changed.event;

  constructor(private readonly secrets: vscode.SecretStorage) {
    this.listener = secrets.onDidChange((e) => {
      if (e.key.startsWith(PREFIX)) void this.refresh(e.key.slice(PREFIX.length));
    });
  }

  /** False until the stored keys were first read: "no key" is not known before. */
  loaded = false;

  async load(workspaces: string[]): Promise<void> {
    await Promise.all([DEFAULT_WORKSPACE, ...workspaces].map((ws) => this.refresh(ws)));
    this.loaded = true;
  }

  private async refresh(workspace: string): Promise<void> {
    const v = await this.secrets.get(PREFIX + workspace);
    if (v) this.cache.set(workspace, v);
    else this.cache.delete(workspace);
    if (this.loaded) this.changed.fire(workspace);
  }

  /** The workspace's own key, else the default workspace's. */
  get(workspace: string): string | undefined {
    return this.cache.get(workspace) ?? this.cache.get(DEFAULT_WORKSPACE);
  }

  has(workspace: string): boolean {
    return this.cache.has(workspace);
  }

  async set(workspace: string, key: string): Promise<void> {
    await this.secrets.store(PREFIX + workspace, key);
    this.cache.set(workspace, key);
    this.changed.fire(workspace);
  }

  async clear(workspace: string): Promise<void> {
    await this.secrets.delete(PREFIX + workspace);
    this.cache.delete(workspace);
    this.changed.fire(workspace);
  }

  dispose(): void {
    this.listener.dispose();
    this.changed.dispose();
  }
}

const TEAM_PASSWORD = 'rateLimitMonitor.team.password';

/** The team store's password (Join Team…), in SecretStorage only; read once and cached. */
export class TeamPassword implements vscode.Disposable {
  private value: string | undefined;
  private readonly listener: vscode.Disposable;
  private readonly changed = new vscode.EventEmitter<void>();
  /** Stored or cleared, here or in another window. */
  readonly onDidChange = this.changed.event;

  constructor(private readonly secrets: vscode.SecretStorage) {
    this.listener = secrets.onDidChange((e) => {
      if (e.key === TEAM_PASSWORD) void this.load().then(() => this.changed.fire());
    });
  }

  async load(): Promise<void> {
    this.value = (await this.secrets.get(TEAM_PASSWORD)) || undefined;
  }

  get(): string | undefined {
    return this.value;
  }

  async set(password: string | undefined): Promise<void> {
    if (password) await this.secrets.store(TEAM_PASSWORD, password);
    else await this.secrets.delete(TEAM_PASSWORD);
    this.value = password || undefined;
  }

  dispose(): void {
    this.listener.dispose();
    this.changed.dispose();
  }
}
