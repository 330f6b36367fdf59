/**
 * Extension entry: wiring only. Activation returns at once; the gateway (leader or
 * follower) comes up in the background, and a failure shows a message with "Show Log".
 */
import { SETTING_DEFAULTS } from '../core/defaults';
import { isRateLimitKind } from '../core/retry';
import * as vscode from 'vscode';
import { DEFAULT_WORKSPACE } from '../core/types';
import type { RateLimitMonitorApi } from './api';
import { gatewayClient } from './host/client';
import { dashboardActions, registerCommands, type CommandContext } from './host/commands/index';
import { GatewayHost } from './host/gatewayHost';
import { MonitorPanel } from './host/monitorPanel';
import { ApiKeys } from './host/secrets';
import { SettingsBridge } from './host/settings';
import { SIDEBAR_VIEW_ID, SidebarViewProvider } from './host/sidebarView';
import { QuotaStatusBar } from './host/statusBar';
import { applyTerminalEnvironment } from './host/terminal';
import { NotificationThrottle } from './logic/notifications';
import { apiKeyFromEnv } from '../gateway/env';
import { SETTING } from './logic/settings';
import { errorMessage } from '../core/values';

/**
 * For the real-VS-Code tests (same extension host process): activation time and the live
 * objects, on a global symbol rather than in the public API.
 */
export interface TestHooks {
  activationMs?: number;
  host?: GatewayHost;
  statusBar?: QuotaStatusBar;
  settings?: SettingsBridge;
  keys?: ApiKeys;
  gatewayReady?: Promise<void>;
  monitor?: () => MonitorPanel | undefined;
  sidebar?: SidebarViewProvider;
  terminalCollection?: vscode.GlobalEnvironmentVariableCollection;
  /** Notifications shown (dev-host windows show no toasts, so tests read them here). */
  notifications?: { model: string; reason: 'threshold' | '429'; text: string }[];
}
const testHooks: TestHooks = { notifications: [] };
(globalThis as Record<symbol, unknown>)[Symbol.for('rateLimitMonitor.testHooks')] = testHooks;

export function activate(context: vscode.ExtensionContext): RateLimitMonitorApi {
  const t0 = performance.now();
  const log = vscode.window.createOutputChannel('LLM Rate Limit Monitor', { log: true });
  const settings = new SettingsBridge(context.globalState, log);
  const keys = new ApiKeys(context.secrets);
  const activeWorkspace = () => settings.get<string>(SETTING.activeWorkspace, DEFAULT_WORKSPACE) || DEFAULT_WORKSPACE;
  const host = new GatewayHost({
    port: settings.get<number>(SETTING.port, SETTING_DEFAULTS['gateway.port']),
    retentionDays: settings.get<number>(SETTING.retentionDays, SETTING_DEFAULTS['history.retentionDays']),
    config: () => settings.config,
    apiKey: (ws) => keys.get(ws),
    log,
  });
  // no key in SecretStorage for this window's workspace (or the default one) and none in the environment
  const apiKeyMissing = () => keys.loaded && keys.get(activeWorkspace()) === undefined && apiKeyFromEnv() === undefined;
  const statusBar = new QuotaStatusBar({
    model: () => settings.get<string>(SETTING.statusBarModel, SETTING_DEFAULTS['statusBar.model']),
    workspace: activeWorkspace,
    threshold: () => settings.get<number>(SETTING.warningThreshold, SETTING_DEFAULTS['statusBar.warningThreshold']),
    apiKeyMissing,
  });
  // the limits in force are the published defaults until the user sets or syncs their own
  const usingDefaultLimits = () =>
    vscode.workspace.getConfiguration('rateLimitMonitor').inspect('models')?.globalValue === undefined;
  const commands: CommandContext = {
    settings,
    state: context.globalState,
    keys,
    host,
    log,
    openMonitor: (model) => void openMonitor(model),
    activeWorkspace,
  };
  const dashboardDeps = {
    actions: dashboardActions(commands),
    apiKeyMissing,
    usingDefaultLimits,
    host,
    log,
    workspace: activeWorkspace,
    increases: () => settings.temporaryIncreases(),
    openPanel: (model: string) => void openMonitor(model),
  };
  const openMonitor = (model?: string) => MonitorPanel.show(context.extensionUri, dashboardDeps, model);
  const sidebar = new SidebarViewProvider(context.extensionUri, dashboardDeps);
  const throttle = new NotificationThrottle();
  let limitsChangedAt = -Infinity;
  const notify = (model: string, reason: 'threshold' | '429', text: string) => {
    if (!throttle.allow(model, reason, Date.now())) return;
    testHooks.notifications?.push({ model, reason, text });
    void vscode.window.showWarningMessage(text, 'Open Monitor', 'Configure Fallback').then((choice) => {
      if (choice === 'Open Monitor') openMonitor(model);
      if (choice === 'Configure Fallback')
        void vscode.commands.executeCommand('rateLimitMonitor.configureFallbacks', { model });
    });
  };
  const updateTerminal = () =>
    applyTerminalEnvironment(
      context.environmentVariableCollection,
      settings.get<boolean>(SETTING.injectTerminal, true),
      host.url,
      host.token,
    );

  context.subscriptions.push(
    log,
    settings,
    keys,
    host,
    statusBar,
    sidebar,
    vscode.window.registerWebviewViewProvider(SIDEBAR_VIEW_ID, sidebar),
    ...registerCommands(commands),
    // "no API key" goes away (or comes) at once, not at the next gateway event
    keys.onDidChange(() => {
      statusBar.refresh();
      void sidebar.connection?.sendSnapshot();
      void MonitorPanel.current?.connection.sendSnapshot();
    }),
    host.onDidChangeState((state) => {
      statusBar.update(state);
      const threshold = settings.get<number>(SETTING.warningThreshold, SETTING_DEFAULTS['statusBar.warningThreshold']);
      for (const k of state.keys) {
        if (k.scope !== 'account') continue;
        const fill = Math.max(k.minute.requests / k.minute.requestLimit, k.minute.tokens / k.minute.tokenLimit);
        // just after the user changed the limits the picture is settling: no warning for a minute
        if (fill >= threshold && Date.now() - limitsChangedAt >= 60_000)
          notify(k.model, 'threshold', `${k.model} is at ${Math.round(fill * 100)} % of its rate limit.`);
      }
    }),
    host.onDidRecord((r) => {
      if (r.status === 401 && r.errorKind === 'auth' && throttle.allow(r.model, 'auth', Date.now())) {
        void vscode.window
          .showErrorMessage(
            `The provider refused the API key (401) for ${r.model} in workspace ${r.workspace}.`,
            'Set API Key',
          )
          .then((choice) => {
            if (choice === 'Set API Key')
              void vscode.commands.executeCommand('rateLimitMonitor.setApiKey', { workspace: r.workspace });
          });
      }
      if (isRateLimitKind(r.errorKind)) {
        notify(
          r.model,
          '429',
          `${r.model} hit its ${r.errorKind.toUpperCase()} ` +
            `limit${r.outcome === 'rejected' ? ' (refused locally after the maximum wait)' : ' at the provider'}.`,
        );
      }
    }),
    settings.onDidChange((config) => {
      limitsChangedAt = Date.now();
      void host.pushConfig(config).catch((e: unknown) => log.warn(`could not apply the new limits: ${String(e)}`));
      void keys.load(Object.keys(config.workspaces));
      statusBar.update(host.state);
    }),
    host.onDidChangeConfig(({ config, source }) => {
      if (source === 'vscode') return;
      void settings.saveExternalConfig(config).then(
        (saved) =>
          saved.length &&
          log.info(
            `limits changed ${source === 'page' ? "on the gateway's page" : 'by a tool'}: saved ${saved.join(', ')}`,
          ),
        (e: unknown) => log.warn(`could not save limits changed outside VS Code: ${String(e)}`),
      );
    }),
    vscode.workspace.onDidChangeConfiguration((e) => {
      if (e.affectsConfiguration(`rateLimitMonitor.${SETTING.injectTerminal}`)) updateTerminal();
      if (
        e.affectsConfiguration('rateLimitMonitor.statusBar') ||
        e.affectsConfiguration(`rateLimitMonitor.${SETTING.activeWorkspace}`)
      )
        statusBar.update(host.state);
    }),
  );
  updateTerminal();

  // Everything slow happens after activate() has returned.
  testHooks.gatewayReady = keys
    .load(Object.keys(settings.config.workspaces))
    .then(() => host.start())
    .catch((e: unknown) => {
      const message = errorMessage(e);
      log.error(`the gateway did not start: ${message}`);
      void vscode.window
        .showErrorMessage(`Rate Limit Monitor: the gateway did not start: ${message}`, 'Show Log')
        .then((c) => c && log.show());
      throw e;
    });
  testHooks.gatewayReady.catch(() => undefined);

  const api: RateLimitMonitorApi = {
    version: 1,
    getClient: (options = {}) =>
      gatewayClient(host.url, host.token, options.workspace ?? activeWorkspace(), options.source ?? 'vscode:api'),
    getUsage: async (model) => ({ model, keys: (await host.client.state()).keys.filter((k) => k.model === model) }),
    getLimits: () => settings.config,
    onDidRecord: host.onDidRecord,
  };
  Object.assign(testHooks, {
    host,
    statusBar,
    settings,
    keys,
    monitor: () => MonitorPanel.current,
    sidebar,
    terminalCollection: context.environmentVariableCollection,
    activationMs: performance.now() - t0,
  });
  log.info(`activated in ${testHooks.activationMs!.toFixed(1)} ms`);
  return api;
}

export function deactivate(): void {}
