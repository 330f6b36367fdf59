/**
 * Extension entry: wiring only. Activation returns at once; the gateway (leader or
 * follower) comes up in the background, and a failure shows a message with "Show Log".
 */
import { SETTING_DEFAULTS } from '../core/defaults';
import * as l10n from '@vscode/l10n';
import * as vscode from 'vscode';
import { DEFAULT_WORKSPACE } from '../core/types';
import type { RateLimitMonitorApi } from './api';
import { gatewayClient } from './host/client';
import { dashboardActions, registerCommands, type CommandContext } from './host/commands/index';
import { TEAM_URL_SETTING } from './host/commands/team';
import { GatewayHost } from './host/gatewayHost';
import { MonitorPanel } from './host/monitorPanel';
import { ApiKeys, TeamPassword } from './host/secrets';
import { GATEWAY_VERSION } from '../gateway/version';
import type { TeamOptions } from '../gateway/team/team';
import { SettingsBridge } from './host/settings';
import { SIDEBAR_VIEW_ID, SidebarViewProvider } from './host/sidebarView';
import { QuotaStatusBar } from './host/statusBar';
import { applyTerminalEnvironment } from './host/terminal';
import { Alerts } from './host/alerts';
import { AdviceAlerts } from './host/adviceAlerts';
import { apiKeyFromEnv } from '../gateway/env';
import { SETTING } from './logic/settings';
import { errorMessage } from '../core/values';
import { setFormatLocale } from '../core/format';

/**
 * For the real-VS-Code tests (same extension host process): activation time and the live
 * objects, on a global symbol rather than in the public API.
 */
export interface TestHooks {
  activationMs?: number;
  /** CPU time of activate(): its own work, which wall time on a shared machine does not isolate. */
  activationCpuMs?: number;
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
  adviceAlerts?: AdviceAlerts;
  adviceShown?: { kind: string; model: string; text: string }[];
}
const testHooks: TestHooks = { notifications: [], adviceShown: [] };
(globalThis as Record<symbol, unknown>)[Symbol.for('rateLimitMonitor.testHooks')] = testHooks;

export function activate(context: vscode.ExtensionContext): RateLimitMonitorApi {
  const t0 = performance.now();
  const cpu0 = process.cpuUsage();
  // the plain-Node parts (src/extension/logic) translate with @vscode/l10n: give it VS Code's bundle
  if (vscode.l10n.bundle) l10n.config({ contents: vscode.l10n.bundle });
  setFormatLocale(vscode.env.language);
  const parts = createParts(context);
  context.subscriptions.push(...wire(parts, context));
  startInBackground(parts);
  Object.assign(testHooks, {
    ...parts,
    monitor: () => MonitorPanel.current,
    terminalCollection: context.environmentVariableCollection,
    activationMs: performance.now() - t0,
    activationCpuMs: cpuMs(process.cpuUsage(cpu0)),
  });
  parts.log.info(`activated in ${testHooks.activationMs!.toFixed(1)} ms`);
  return apiOf(parts);
}

const cpuMs = (u: NodeJS.CpuUsage) => (u.user + u.system) / 1000;

type Parts = ReturnType<typeof createParts>;

/** The extension's objects, each given what it reads of the others. */
function createParts(context: vscode.ExtensionContext) {
  const log = vscode.window.createOutputChannel('LLM Rate Limit Monitor', { log: true });
  const settings = new SettingsBridge(context.globalState, log);
  const keys = new ApiKeys(context.secrets);
  const teamPassword = new TeamPassword(context.secrets);
  const activeWorkspace = () => settings.get<string>(SETTING.activeWorkspace, DEFAULT_WORKSPACE) || DEFAULT_WORKSPACE;
  const threshold = () =>
    settings.get<number>(SETTING.warningThreshold, SETTING_DEFAULTS['statusBar.warningThreshold']);
  const host = gatewayHostOf(settings, keys, teamPassword, log);
  // no key in SecretStorage for this window's workspace (or the default one) and none in the environment
  const apiKeyMissing = () => keys.loaded && keys.get(activeWorkspace()) === undefined && apiKeyFromEnv() === undefined;
  const statusBar = new QuotaStatusBar({
    model: () => settings.get<string>(SETTING.statusBarModel, SETTING_DEFAULTS['statusBar.model']),
    workspace: activeWorkspace,
    threshold,
    apiKeyMissing,
  });
  const openMonitor = (model?: string) => void MonitorPanel.show(context.extensionUri, dashboardDeps, model);
  const commands: CommandContext = {
    settings,
    state: context.globalState,
    keys,
    teamPassword,
    host,
    log,
    openMonitor,
    activeWorkspace,
  };
  const dashboardDeps = {
    actions: dashboardActions(commands),
    apiKeyMissing,
    // the limits in force are the published defaults until the user sets or syncs their own
    usingDefaultLimits: () =>
      vscode.workspace.getConfiguration('rateLimitMonitor').inspect('models')?.globalValue === undefined,
    host,
    log,
    workspace: activeWorkspace,
    increases: () => settings.temporaryIncreases(),
    openPanel: (model: string) => openMonitor(model),
  };
  const sidebar = new SidebarViewProvider(context.extensionUri, dashboardDeps);
  const alerts = new Alerts({ threshold, openMonitor, shown: testHooks.notifications! });
  const adviceAlerts = adviceAlertsOf(context, host, openMonitor, dashboardDeps.actions);
  return {
    log,
    settings,
    keys,
    teamPassword,
    host,
    statusBar,
    sidebar,
    commands,
    alerts,
    adviceAlerts,
    activeWorkspace,
  };
}

function adviceAlertsOf(
  context: vscode.ExtensionContext,
  host: GatewayHost,
  openMonitor: (model: string) => void,
  actions: ReturnType<typeof dashboardActions>,
): AdviceAlerts {
  return new AdviceAlerts({
    state: context.globalState,
    // one window asks: the one that runs the gateway
    advice: async () => (host.leads ? (await host.client.advice()).advice : undefined),
    openMonitor,
    preferFallback: (model, fallback) => actions.preferFallback({ action: 'preferFallback', model, fallback }),
    shown: testHooks.adviceShown!,
  });
}

function gatewayHostOf(
  settings: SettingsBridge,
  keys: ApiKeys,
  teamPassword: TeamPassword,
  log: vscode.LogOutputChannel,
) {
  return new GatewayHost({
    port: settings.get<number>(SETTING.port, SETTING_DEFAULTS['gateway.port']),
    retentionDays: settings.get<number>(SETTING.retentionDays, SETTING_DEFAULTS['history.retentionDays']),
    config: () => settings.config,
    apiKey: (ws) => keys.get(ws),
    team: () => teamOptions(settings, teamPassword),
    log,
  });
}

/** Team mode as the settings say: the store's URL, this machine's name, the password from SecretStorage. */
function teamOptions(settings: SettingsBridge, password: TeamPassword): TeamOptions | undefined {
  const url = settings.get<string>(SETTING.teamRedisUrl, '').trim();
  if (!url) return undefined;
  const secret = password.get();
  const nodeName = settings.get<string>(SETTING.teamMachineName, '').trim();
  return {
    url,
    version: GATEWAY_VERSION,
    setting: TEAM_URL_SETTING,
    ...(secret ? { password: secret } : {}),
    ...(nodeName ? { nodeName } : {}),
  };
}

/** What reacts to what: state and records, settings, keys, and the terminal environment. */
function wire(p: Parts, context: vscode.ExtensionContext): vscode.Disposable[] {
  const { log, settings, keys, teamPassword, host, statusBar, sidebar, alerts } = p;
  const updateTerminal = () =>
    applyTerminalEnvironment(
      context.environmentVariableCollection,
      settings.get<boolean>(SETTING.injectTerminal, true),
      host.url,
      host.token,
    );
  updateTerminal();
  return [
    log,
    settings,
    keys,
    host,
    statusBar,
    sidebar,
    p.adviceAlerts,
    vscode.window.registerWebviewViewProvider(SIDEBAR_VIEW_ID, sidebar),
    ...registerCommands(p.commands),
    // "no API key" goes away (or comes) at once, not at the next gateway event
    keys.onDidChange(() => {
      statusBar.refresh();
      void sidebar.connection?.sendSnapshot();
      void MonitorPanel.current?.connection.sendSnapshot();
    }),
    host.onDidChangeState((state) => {
      statusBar.update(state);
      alerts.onState(state);
    }),
    host.onDidRecord((r) => alerts.onRecord(r)),
    settings.onDidChange((config) => {
      alerts.limitsChanged();
      void host.pushConfig(config).catch((e: unknown) => log.warn(`could not apply the new limits: ${String(e)}`));
      void keys.load(Object.keys(config.workspaces));
      statusBar.update(host.state);
    }),
    host.onDidChangeConfig(({ config, source }) => {
      if (source === 'vscode') return;
      const by = source === 'page' ? "on the gateway's page" : 'by a tool';
      void settings.saveExternalConfig(config).then(
        (saved) => saved.length && log.info(`limits changed ${by}: saved ${saved.join(', ')}`),
        (e: unknown) => log.warn(`could not save limits changed outside VS Code: ${String(e)}`),
      );
    }),
    teamPassword,
    teamPassword.onDidChange(() => void host.applyTeam().catch(() => undefined)),
    vscode.workspace.onDidChangeConfiguration((e) => {
      if (e.affectsConfiguration(`rateLimitMonitor.${SETTING.injectTerminal}`)) updateTerminal();
      if (e.affectsConfiguration('rateLimitMonitor.team')) void host.applyTeam().catch(() => undefined);
      const statusSetting = e.affectsConfiguration('rateLimitMonitor.statusBar');
      if (statusSetting || e.affectsConfiguration(`rateLimitMonitor.${SETTING.activeWorkspace}`))
        statusBar.update(host.state);
    }),
  ];
}

/** Everything slow happens after activate() has returned; a failure says so, with "Show Log". */
function startInBackground({ keys, teamPassword, settings, host, log, adviceAlerts }: Parts): void {
  testHooks.gatewayReady = Promise.all([keys.load(Object.keys(settings.config.workspaces)), teamPassword.load()])
    .then(() => host.start())
    .then(() => adviceAlerts.schedule())
    .catch((e: unknown) => {
      const message = errorMessage(e);
      log.error(`the gateway did not start: ${message}`);
      const showLog = vscode.l10n.t('Show Log');
      void vscode.window
        .showErrorMessage(vscode.l10n.t('Rate Limit Monitor: the gateway did not start: {0}', message), showLog)
        .then((c) => c === showLog && log.show());
      throw e;
    });
  testHooks.gatewayReady.catch(() => undefined);
}

function apiOf({ host, settings, activeWorkspace }: Parts): RateLimitMonitorApi {
  return {
    version: 1,
    getClient: (options = {}) =>
      gatewayClient(host.url, host.token, options.workspace ?? activeWorkspace(), options.source ?? 'vscode:api'),
    getUsage: async (model) => ({ model, keys: (await host.client.state()).keys.filter((k) => k.model === model) }),
    getLimits: () => settings.config,
    onDidRecord: host.onDidRecord,
  };
}

export function deactivate(): void {}
