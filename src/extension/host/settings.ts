/**
 * The settings bridge: reads `rateLimitMonitor.*` through the pure mapper, keeps the last
 * valid configuration working when an edit is invalid, and tells the user which setting
 * to fix. Temporary increases are data (globalState), not settings.
 */
import * as vscode from 'vscode';
import type { RateLimitConfig, TemporaryIncrease } from '../../core/types';
import { configFromSettings, formatSettingsProblem, SECTION, SETTING, settingsUpdatesFor } from '../logic/settings';

const INCREASES_KEY = 'temporaryIncreases';

export class SettingsBridge implements vscode.Disposable {
  private current: RateLimitConfig;
  private readonly emitter = new vscode.EventEmitter<RateLimitConfig>();
  readonly onDidChange = this.emitter.event;
  private readonly listener: vscode.Disposable;
  lastProblems: string[] = [];

  constructor(
    private readonly state: vscode.Memento,
    private readonly log: vscode.LogOutputChannel,
  ) {
    const first = this.read();
    if (first.ok) this.current = first.config;
    else {
      // Nothing valid yet: start from the defaults so the gateway still runs, and say what is wrong.
      const fallback = configFromSettings((key) => (key === SETTING.provider ? 'dashscope-singapore' : undefined), []);
      if (!fallback.ok) throw new Error('the built-in default configuration is invalid');
      this.current = fallback.config;
    }
    this.listener = vscode.workspace.onDidChangeConfiguration((e) => {
      if (e.affectsConfiguration(SECTION)) this.reload();
    });
  }

  get config(): RateLimitConfig {
    return this.current;
  }

  section(): vscode.WorkspaceConfiguration {
    return vscode.workspace.getConfiguration(SECTION);
  }

  get<T>(key: string, fallback: T): T {
    return this.section().get<T>(key, fallback);
  }

  temporaryIncreases(): TemporaryIncrease[] {
    return this.state.get<TemporaryIncrease[]>(INCREASES_KEY, []);
  }

  async setTemporaryIncreases(list: TemporaryIncrease[]): Promise<void> {
    await this.state.update(INCREASES_KEY, list);
    this.reload();
  }

  private read() {
    const section = this.section();
    return configFromSettings(
      (key) => {
        const inspected = section.inspect(key);
        // Account-level settings are application scope: a repository's .vscode/settings.json cannot change them.
        return inspected?.globalValue ?? inspected?.defaultValue;
      },
      this.temporaryIncreases().filter((i) => Date.parse(i.expiresAt) > Date.now()),
    );
  }

  /** Re-read; on problems keep the last valid config and report each problem with its setting. */
  reload(): { ok: boolean; problems: string[] } {
    const r = this.read();
    if (r.ok) {
      this.current = r.config;
      this.lastProblems = [];
      this.emitter.fire(r.config);
      return { ok: true, problems: [] };
    }
    const problems = r.problems.map(formatSettingsProblem);
    this.lastProblems = problems;
    for (const p of problems) this.log.warn(p);
    const [openSettings, showLog] = [vscode.l10n.t('Open Settings'), vscode.l10n.t('Show Log')];
    const more = problems.length > 1 ? vscode.l10n.t(' (and {0} more)', problems.length - 1) : '';
    void vscode.window
      .showErrorMessage(
        vscode.l10n.t('Rate Limit Monitor: {0}{1}. The last valid configuration stays in force.', problems[0]!, more),
        openSettings,
        showLog,
      )
      .then((choice) => {
        if (choice === openSettings)
          void vscode.commands.executeCommand('workbench.action.openSettings', r.problems[0]!.setting);
        if (choice === showLog) this.log.show();
      });
    return { ok: false, problems };
  }

  /**
   * Keep a config applied outside VS Code (the gateway's page, a tool's PUT): write what
   * changed to the user settings and the stored increases. Returns the settings written.
   */
  async saveExternalConfig(config: RateLimitConfig): Promise<string[]> {
    const { settings, newIncreases } = settingsUpdatesFor(this.current, config, this.temporaryIncreases());
    for (const { key, value } of settings) await this.update(key, value);
    if (newIncreases.length > 0) await this.setTemporaryIncreases([...this.temporaryIncreases(), ...newIncreases]);
    return [...settings.map((u) => `${SECTION}.${u.key}`), ...(newIncreases.length ? ['temporary increases'] : [])];
  }

  async update(key: string, value: unknown): Promise<void> {
    await this.section().update(key, value, vscode.ConfigurationTarget.Global);
  }

  dispose(): void {
    this.listener.dispose();
    this.emitter.dispose();
  }
}
