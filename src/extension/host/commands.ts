/**
 * Every command of the "Rate Limit Monitor" category. Each takes optional arguments that
 * replace its quick picks and input boxes, so tests (and keybindings) can drive it without
 * UI; without arguments it asks, validating as the user types. Each returns what it did.
 */
import * as vscode from 'vscode';
import { TEMPORARY_INCREASE_DAYS, validateConfig } from '../../core/config';
import { DEFAULT_WORKSPACE, type ModelLimits, type TemporaryIncrease } from '../../core/types';
import { TIME_WINDOWS } from '../../core/protocol';
import { activeIncrease, endIncrease } from '../../core/dashboard';
import { environmentLines } from '../logic/environment';
import { diffLimits, parseQuotaPages, quotaUrl, QUOTA_REGIONS, type QuotaPage } from '../logic/quotas';
import { parseLimitInput, SETTING, validateLimitInput } from '../logic/settings';
import { apiKeyFromEnv } from '../../gateway/env';
import { runBatchFile, showBatchJobs, submitBatchJob } from './batchCommands';
import type { ApiKeys } from './secrets';
import { gatewayClient } from './client';
import type { GatewayHost } from './gatewayHost';
import type { SettingsBridge } from './settings';

export interface CommandContext {
  settings: SettingsBridge;
  /** globalState: data that is not a setting (batch jobs). */
  state: vscode.Memento;
  keys: ApiKeys;
  host: GatewayHost;
  log: vscode.LogOutputChannel;
  openMonitor: (model?: string) => void;
  activeWorkspace: () => string;
}

/** A user's refusal or bad input, shown as an error message and returned to the caller. */
export class CommandError extends Error {}

type Handler = (ctx: CommandContext, args?: Record<string, unknown>) => Promise<unknown>;

function fail(message: string): never {
  throw new CommandError(message);
}

async function pick<T extends vscode.QuickPickItem>(items: T[], placeHolder: string): Promise<T> {
  const chosen = await vscode.window.showQuickPick(items, { placeHolder, ignoreFocusOut: true });
  if (!chosen) fail('cancelled');
  return chosen;
}

async function ask(prompt: string, value: string, validate: (s: string) => string | undefined, password = false): Promise<string> {
  const text = await vscode.window.showInputBox({ prompt, value, password, ignoreFocusOut: true, validateInput: validate });
  if (text === undefined) fail('cancelled');
  return text;
}

function workspaceIds(ctx: CommandContext): string[] {
  return [DEFAULT_WORKSPACE, ...Object.keys(ctx.settings.config.workspaces)];
}

async function chooseModel(ctx: CommandContext, args: Record<string, unknown> | undefined, placeHolder: string, allowNew = false): Promise<string> {
  if (typeof args?.model === 'string' && args.model.trim() !== '') return args.model.trim();
  const models = Object.keys(ctx.settings.config.models);
  const items: vscode.QuickPickItem[] = models.map((m) => ({ label: m, description: `${ctx.settings.config.models[m]!.rpm} RPM · ${ctx.settings.config.models[m]!.tpm} TPM` }));
  if (allowNew) items.push({ label: '$(add) Another model…', alwaysShow: true });
  const chosen = await pick(items, placeHolder);
  if (chosen.label.startsWith('$(add)')) return ask('Model name (as the API expects it, e.g. qwen-plus-2025-07-28)', '', (s) => (/^[\w.:-]+$/.test(s.trim()) ? undefined : 'Use the model id: letters, digits, dot, dash, colon.'));
  return chosen.label;
}

async function readLimit(args: Record<string, unknown> | undefined, field: 'rpm' | 'tpm', current: number | undefined, ceiling?: { value: number; name: string }): Promise<number> {
  const given = args?.[field];
  if (given !== undefined) {
    const problem = validateLimitInput(String(given), field, ceiling);
    if (problem) fail(`${field.toUpperCase()}: ${problem}`);
    return parseLimitInput(String(given));
  }
  const text = await ask(`${field === 'rpm' ? 'Requests' : 'Tokens'} per minute${ceiling ? ` (at most ${ceiling.value})` : ''}`, current === undefined ? '' : String(current), (s) => validateLimitInput(s, field, ceiling));
  return parseLimitInput(text);
}

/** Validate a whole changed config before writing anything, so a user's valid settings are never replaced by invalid ones. */
function checkCandidate(ctx: CommandContext, patch: Record<string, unknown>): void {
  const c = ctx.settings.config;
  const r = validateConfig({ ...c, ...patch });
  if (!r.ok) fail(r.problems.map((p) => `${p.path}: ${p.message} — ${p.fix}`).join('\n'));
}

const handlers: Record<string, Handler> = {
  runBatchFile,
  submitBatchJob,
  showBatchJobs,

  async openMonitor(ctx, args) {
    ctx.openMonitor(typeof args?.model === 'string' ? args.model : undefined);
    return { opened: true };
  },

  async showLog(ctx) {
    ctx.log.show();
    return { shown: true };
  },

  async setApiKey(ctx, args) {
    const workspace = typeof args?.workspace === 'string' ? args.workspace : (await pick(workspaceIds(ctx).map((w) => ({ label: w, description: ctx.keys.has(w) ? 'key set' : 'no key' })), 'API key for which provider workspace?')).label;
    if (!workspaceIds(ctx).includes(workspace)) fail(`Unknown workspace '${workspace}'. Known: ${workspaceIds(ctx).join(', ')}.`);
    // say what is in use now, so nobody wonders whether a key from the environment counts
    const inUse = ctx.keys.has(workspace) ? 'a key is stored for it' : apiKeyFromEnv() ? 'a key from the environment is in use now' : 'no key is set';
    const key = typeof args?.key === 'string' ? args.key : await ask(`Provider API key for workspace '${workspace}' (${inUse}; stored in VS Code's SecretStorage only)`, '', (s) => (s.trim().length >= 8 ? undefined : 'That is too short to be an API key.'), true);
    if (key.trim().length < 8) fail('That is too short to be an API key.');
    await ctx.keys.set(workspace, key.trim());
    if (!args?.quiet) void vscode.window.setStatusBarMessage(`$(key) API key saved for workspace ${workspace}`, 5_000);
    return { workspace, stored: true };
  },

  async clearApiKey(ctx, args) {
    const workspace = typeof args?.workspace === 'string' ? args.workspace : (await pick(workspaceIds(ctx).filter((w) => ctx.keys.has(w)).map((w) => ({ label: w })), 'Clear the API key of which workspace?')).label;
    await ctx.keys.clear(workspace);
    return { workspace, cleared: true };
  },

  async setAccountLimits(ctx, args) {
    const model = await chooseModel(ctx, args, 'Set the account limits of which model?', true);
    const current = ctx.settings.config.models[model];
    const rpm = await readLimit(args, 'rpm', current?.rpm);
    const tpm = await readLimit(args, 'tpm', current?.tpm);
    const models = { ...ctx.settings.config.models, [model]: { rpm, tpm } };
    checkCandidate(ctx, { models });
    await ctx.settings.update(SETTING.models, models);
    return { model, rpm, tpm };
  },

  async setWorkspaceLimits(ctx, args) {
    const ids = Object.keys(ctx.settings.config.workspaces);
    let workspace = typeof args?.workspace === 'string' ? args.workspace : undefined;
    if (workspace === undefined) {
      const chosen = await pick([...ids.map((w) => ({ label: w, description: ctx.settings.config.workspaces[w]!.name })), { label: '$(add) New workspace…', alwaysShow: true }], 'Set limits for which workspace?');
      workspace = chosen.label.startsWith('$(add)') ? await ask('Workspace id (as in Model Studio, e.g. llm-abc123)', '', (s) => (/^[\w-]+$/.test(s.trim()) && s.trim() !== DEFAULT_WORKSPACE ? undefined : 'Use the workspace id; the default workspace cannot be edited.')) : chosen.label;
    }
    if (workspace === DEFAULT_WORKSPACE) fail('The default workspace uses the account limits and cannot be edited.');
    const model = await chooseModel(ctx, args, `Limit which model in '${workspace}'?`);
    const account = ctx.settings.config.models[model];
    if (!account) fail(`'${model}' has no account limit: set it first with "Set Account Limits for a Model".`);
    const existing = ctx.settings.config.workspaces[workspace]?.models[model];
    const rpm = await readLimit(args, 'rpm', existing?.rpm ?? account.rpm, { value: account.rpm, name: `the account limit of ${model}` });
    const tpm = await readLimit(args, 'tpm', existing?.tpm ?? account.tpm, { value: account.tpm, name: `the account limit of ${model}` });
    const ws = ctx.settings.config.workspaces[workspace] ?? { name: typeof args?.name === 'string' ? args.name : workspace, models: {} };
    const workspaces = { ...ctx.settings.config.workspaces, [workspace]: { ...ws, models: { ...ws.models, [model]: { rpm, tpm } } } };
    checkCandidate(ctx, { workspaces });
    await ctx.settings.update(SETTING.workspaces, workspaces);
    // Optionally set the same limit in Model Studio (POST /api/v1/models/limits).
    let push = args?.push === true;
    if (args?.push === undefined && ctx.settings.config.provider === 'dashscope') {
      push = (await vscode.window.showInformationMessage(`Also set this limit for workspace '${workspace}' in Model Studio?`, 'Set in Model Studio', 'Only here')) === 'Set in Model Studio';
    }
    if (!push) return { workspace, model, rpm, tpm, pushed: false };
    const key = ctx.keys.get(workspace) ?? apiKeyFromEnv();
    if (!key) fail(`Saved here, but not set in Model Studio: workspace '${workspace}' has no API key (Set API Key).`);
    const url = typeof args?.pushUrl === 'string' ? args.pushUrl : `https://${workspace}.cn-beijing.maas.aliyuncs.com/api/v1/models/limits`;
    const res = await fetch(url, {
      method: 'POST',
      headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' },
      body: JSON.stringify({ models: [{ model, operation_type: 'OVERLAY', request_limit: rpm, request_limit_period: 60, usage_limit: tpm, usage_limit_period: 60 }] }),
    });
    const body = (await res.json().catch(() => ({}))) as { success?: boolean; message?: string };
    if (!res.ok || body.success !== true) fail(`Saved here, but Model Studio refused it: ${body.message ?? res.status}`);
    return { workspace, model, rpm, tpm, pushed: true };
  },

  async selectActiveWorkspace(ctx, args) {
    const workspace = typeof args?.workspace === 'string' ? args.workspace : (await pick(workspaceIds(ctx).map((w) => ({ label: w, description: w === DEFAULT_WORKSPACE ? 'account limits' : ctx.settings.config.workspaces[w]!.name, picked: w === ctx.activeWorkspace() })), 'Which provider workspace does this window use?')).label;
    if (!workspaceIds(ctx).includes(workspace)) fail(`Unknown workspace '${workspace}'. Known: ${workspaceIds(ctx).join(', ')}.`);
    await ctx.settings.section().update(SETTING.activeWorkspace, workspace, vscode.ConfigurationTarget.Workspace).then(undefined, () => ctx.settings.section().update(SETTING.activeWorkspace, workspace, vscode.ConfigurationTarget.Global));
    return { workspace };
  },

  async configureFallbacks(ctx, args) {
    const model = await chooseModel(ctx, args, 'Configure the fallbacks of which model?');
    let chain: string[];
    if (Array.isArray(args?.fallbacks)) chain = args.fallbacks.map(String);
    else {
      const others = Object.keys(ctx.settings.config.models).filter((m) => m !== model);
      const current = ctx.settings.config.fallbacks[model] ?? [];
      chain = [];
      // ordered: pick one at a time until "Done"
      for (;;) {
        const left = others.filter((m) => !chain.includes(m));
        const items: vscode.QuickPickItem[] = [{ label: '$(check) Done', description: chain.length ? chain.join(' → ') : 'no fallback' }, ...left.map((m) => ({ label: m, description: current.includes(m) ? `currently #${current.indexOf(m) + 1}` : '' }))];
        const chosen = await pick(items, `Fallback #${chain.length + 1} for ${model} (in order)`);
        if (chosen.label.startsWith('$(check)')) break;
        chain.push(chosen.label);
      }
    }
    const fallbacks = { ...ctx.settings.config.fallbacks, [model]: chain };
    if (chain.length === 0) delete fallbacks[model];
    checkCandidate(ctx, { fallbacks });
    await ctx.settings.update(SETTING.fallbacks, fallbacks);
    return { model, fallbacks: chain };
  },

  async recordTemporaryIncrease(ctx, args) {
    const model = await chooseModel(ctx, args, 'Which model got a temporary TPM increase?');
    const account = ctx.settings.config.models[model];
    if (!account) fail(`'${model}' has no account limit.`);
    const upper = typeof args?.upperLimit === 'number' ? args.upperLimit : undefined;
    const active = activeIncrease(ctx.settings.temporaryIncreases(), model, Date.now());
    const currentTpm = active?.tpm ?? account.tpm;
    const hint = `current quota ${currentTpm} TPM${upper ? `, upper limit ${upper}` : ''}`;
    let tpm: number;
    if (args?.tpm !== undefined) tpm = Number(args.tpm);
    else tpm = parseLimitInput(await ask(`New TPM for ${model} (${hint}); it lasts ${TEMPORARY_INCREASE_DAYS} days`, String(currentTpm), (s) => validateLimitInput(s, 'tpm', upper ? { value: upper, name: 'the upper limit' } : undefined) ?? (parseLimitInput(s) <= account.tpm ? `An increase must be above the default ${account.tpm}.` : undefined)));
    const appliedAt = new Date();
    const increase: TemporaryIncrease = {
      model,
      tpm,
      previousTpm: account.tpm,
      ...(upper ? { upperLimit: upper } : {}),
      appliedAt: appliedAt.toISOString(),
      expiresAt: new Date(appliedAt.getTime() + TEMPORARY_INCREASE_DAYS * 86_400_000).toISOString(),
    };
    const all = [...ctx.settings.temporaryIncreases(), increase];
    checkCandidate(ctx, { temporaryIncreases: all.filter((i) => Date.parse(i.expiresAt) > Date.now()) });
    await ctx.settings.setTemporaryIncreases(all);
    return increase;
  },

  async endTemporaryIncrease(ctx, args) {
    const now = Date.now();
    const increases = ctx.settings.temporaryIncreases();
    const active = [...new Set(increases.map((i) => i.model))].filter((m) => activeIncrease(increases, m, now));
    if (active.length === 0) fail('No temporary increase is in force.');
    const model = typeof args?.model === 'string' ? args.model : (await pick(active.map((m) => ({ label: m })), 'End the temporary increase of which model?')).label;
    if (!activeIncrease(increases, model, now)) fail(`'${model}' has no temporary increase in force.`);
    await ctx.settings.setTemporaryIncreases(endIncrease(increases, model, now));
    return { model, tpm: ctx.settings.config.models[model]?.tpm };
  },

  async selectStatusBarModel(ctx, args) {
    const model = await chooseModel(ctx, args, 'Show which model in the status bar?');
    if (!ctx.settings.config.models[model]) fail(`'${model}' has no account limit.`);
    await ctx.settings.update(SETTING.statusBarModel, model);
    return { model };
  },

  async sendTestRequest(ctx, args) {
    const model = typeof args?.model === 'string' ? args.model : ctx.settings.get<string>(SETTING.statusBarModel, 'qwen-plus');
    const client = gatewayClient(ctx.host.url, ctx.host.token, ctx.activeWorkspace(), 'vscode:test-request');
    const t0 = Date.now();
    let ttft: number | undefined;
    let text = '';
    let answeredBy = model;
    const { data: stream, response } = await client.chat.completions
      .create({ model, stream: true, stream_options: { include_usage: true }, max_tokens: 32, messages: [{ role: 'user', content: 'Reply with one short sentence: the gateway works.' }] })
      .withResponse();
    answeredBy = response.headers.get('x-rlm-model') ?? model;
    // Time in the gateway's queue is not the provider's time to first token: report it apart.
    const queuedMs = Number(response.headers.get('x-rlm-queued-ms') ?? 0) || 0;
    let usage: { prompt_tokens: number; completion_tokens: number; total_tokens: number } | undefined;
    for await (const chunk of stream) {
      const delta = chunk.choices[0]?.delta.content;
      if (delta && ttft === undefined) ttft = Date.now() - t0;
      text += delta ?? '';
      if (chunk.usage) usage = chunk.usage;
    }
    const result = { model: answeredBy, requested: model, tokens: usage?.total_tokens ?? 0, promptTokens: usage?.prompt_tokens ?? 0, completionTokens: usage?.completion_tokens ?? 0, queuedMs, ttftMs: Math.max(0, (ttft ?? 0) - queuedMs), latencyMs: Date.now() - t0, text };
    const queued = queuedMs > 0 ? `, ${queuedMs} ms waiting in the local queue` : '';
    if (!args?.quiet) void vscode.window.showInformationMessage(`Test request answered by ${answeredBy}${answeredBy !== model ? ` (fallback from ${model})` : ''}: ${result.tokens} tokens, TTFT ${result.ttftMs} ms${queued}, latency ${result.latencyMs} ms.`);
    return result;
  },

  async copyGatewayEnvironment(ctx, args) {
    const lines = environmentLines(ctx.host.url, ctx.host.token);
    const shell = typeof args?.shell === 'string' ? args.shell : (await pick(lines.map((l) => ({ label: l.shell, detail: l.text.replace(ctx.host.token, '•'.repeat(8)) })), 'Copy the lines for which shell?')).label;
    const chosen = lines.find((l) => l.shell === shell);
    if (!chosen) fail(`Unknown shell '${shell}'. Use bash/zsh, fish or PowerShell.`);
    await vscode.env.clipboard.writeText(chosen.text);
    if (!args?.quiet) void vscode.window.showInformationMessage(`Copied the gateway environment for ${shell}. It holds the local gateway token, not your provider key.`);
    return { shell, copied: true };
  },

  async exportHistory(ctx, args) {
    const format = (typeof args?.format === 'string' ? args.format : (await pick([{ label: 'csv' }, { label: 'json' }], 'Export as…')).label) as 'csv' | 'json';
    if (format !== 'csv' && format !== 'json') fail(`Format '${format}': use csv or json.`);
    const window = typeof args?.window === 'string' ? args.window : (await pick(Object.keys(TIME_WINDOWS).map((label) => ({ label })), 'Export which window?')).label;
    const text = await ctx.host.client.exportHistory(window, format);
    let target: vscode.Uri | undefined = typeof args?.path === 'string' ? vscode.Uri.file(args.path) : undefined;
    // propose a name that says what it holds, in the workspace folder when there is one
    const name = `rlm-history-${window}-${new Date().toISOString().slice(0, 10)}.${format}`;
    const folder = vscode.workspace.workspaceFolders?.[0]?.uri;
    target ??= await vscode.window.showSaveDialog({ ...(folder ? { defaultUri: vscode.Uri.joinPath(folder, name) } : {}), filters: format === 'csv' ? { CSV: ['csv'] } : { JSON: ['json'] }, saveLabel: 'Export History' });
    if (!target) fail('cancelled');
    await vscode.workspace.fs.writeFile(target, Buffer.from(text, 'utf8'));
    const saved = target;
    void vscode.window.showInformationMessage(`History (${window}) exported to ${vscode.workspace.asRelativePath(saved)}.`, 'Open File').then((choice) => {
      if (choice === 'Open File') void vscode.window.showTextDocument(saved);
    });
    return { path: target.fsPath, bytes: Buffer.byteLength(text) };
  },

  async clearHistory(ctx, args) {
    if (args?.confirm !== true) {
      const answer = await vscode.window.showWarningMessage('Delete all recorded requests? The dashboards start empty again.', { modal: true }, 'Delete');
      if (answer !== 'Delete') fail('cancelled');
    }
    await ctx.host.client.clearHistory();
    void vscode.window.setStatusBarMessage('$(trash) Request history cleared', 5_000);
    return { cleared: true };
  },

  async syncLimits(ctx, args) {
    const workspaceId = typeof args?.workspaceId === 'string' ? args.workspaceId : await ask('Model Studio workspace id (e.g. llm-abc123)', '', (s) => (/^[\w-]+$/.test(s.trim()) ? undefined : 'Use the workspace id from the console.'));
    const region = typeof args?.region === 'string' ? args.region : (await pick(QUOTA_REGIONS.map((label) => ({ label })), 'Region')).label;
    const key = ctx.keys.get(DEFAULT_WORKSPACE) ?? apiKeyFromEnv();
    if (!key) fail('No API key is set: run "Rate Limit Monitor: Set API Key" first.');
    const pages: QuotaPage[] = [];
    for (let page = 1; page <= 20; page++) {
      const url = typeof args?.url === 'string' ? `${args.url}?page_no=${page}&page_size=100` : quotaUrl(workspaceId, region, page);
      const res = await fetch(url, { headers: { authorization: `Bearer ${key}` } });
      if (!res.ok) fail(`The quota API answered ${res.status}; check the workspace id, region and key.`);
      const body = (await res.json()) as QuotaPage;
      pages.push(body);
      const total = body.output?.total ?? 0;
      if (page * 100 >= total) break;
    }
    const synced = parseQuotaPages(pages);
    const changes = diffLimits(ctx.settings.config.models, synced.models);
    if (changes.length === 0) {
      void vscode.window.showInformationMessage('Limits already match the provider.');
      return { changes: [] };
    }
    if (args?.apply !== true) {
      const detail = changes.map((c) => `${c.model} ${c.field.toUpperCase()}: ${c.from ?? '—'} → ${c.to}`).join('\n');
      const answer = await vscode.window.showInformationMessage(`Apply ${changes.length} change(s) from the provider?`, { modal: true, detail }, 'Apply');
      if (answer !== 'Apply') fail('cancelled');
    }
    const models: Record<string, ModelLimits> = { ...ctx.settings.config.models, ...synced.models };
    checkCandidate(ctx, { models });
    await ctx.settings.update(SETTING.models, models);
    return { changes };
  },
};

export const COMMAND_IDS = Object.keys(handlers).map((k) => `rateLimitMonitor.${k}`);

export function registerCommands(ctx: CommandContext): vscode.Disposable[] {
  return Object.entries(handlers).map(([name, handler]) =>
    vscode.commands.registerCommand(`rateLimitMonitor.${name}`, async (args?: Record<string, unknown>) => {
      try {
        return await handler(ctx, args && typeof args === 'object' ? args : undefined);
      } catch (e) {
        const message = e instanceof Error ? e.message : String(e);
        if (message !== 'cancelled') {
          ctx.log.warn(`${name}: ${message}`);
          void vscode.window.showErrorMessage(`Rate Limit Monitor: ${message}`);
        }
        // Tests and callers see the refusal as a value, not as an unhandled rejection.
        return { error: message };
      }
    }),
  );
}
