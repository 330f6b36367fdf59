/**
 * Limits: the account's and a workspace's, temporary increases, sync from Model Studio, and
 * the model the status bar shows. Every change is validated whole before it is written.
 */
import * as vscode from 'vscode';
import { TEMPORARY_INCREASE_DAYS } from '../../../core/config';
import { activeIncrease, endIncrease } from '../../../core/dashboard';
import { DEFAULT_WORKSPACE, type ModelLimits, type TemporaryIncrease } from '../../../core/types';
import { apiKeyFromEnv } from '../../../gateway/env';
import { fetchQuotaPages, ModelStudioError, QUOTA_REGIONS, regionOf, setWorkspaceLimit } from '../../logic/modelStudio';
import { diffLimits, parseQuotaPages } from '../../logic/quotas';
import { parseLimitInput, SETTING, validateLimitInput } from '../../logic/settings';
import { ask, Cancelled, pick } from '../prompts';
import {
  checkCandidate,
  chooseModel,
  fail,
  readLimit,
  stringArg,
  argOrPick,
  type Args,
  type CommandContext,
  type Handler,
} from './common';
import { errorMessage } from '../../../core/values';

const WORKSPACE_ID = /^[\w-]+$/;

async function setAccountLimits(ctx: CommandContext, args: Args) {
  const title = 'Set Account Limits';
  const model = await chooseModel(
    ctx,
    args,
    'Set the account limits of which model?',
    { title, step: 1, totalSteps: 3 },
    true,
  );
  const current = ctx.settings.config.models[model];
  const rpm = await readLimit(args, 'rpm', current?.rpm, { title: `${title}: ${model}`, step: 2, totalSteps: 3 });
  const tpm = await readLimit(args, 'tpm', current?.tpm, { title: `${title}: ${model}`, step: 3, totalSteps: 3 });
  const models = { ...ctx.settings.config.models, [model]: { rpm, tpm } };
  checkCandidate(ctx, { models });
  await ctx.settings.update(SETTING.models, models);
  if (!args?.quiet) void vscode.window.setStatusBarMessage(`$(check) ${model}: ${rpm} RPM, ${tpm} TPM`, 5_000);
  return { model, rpm, tpm };
}

async function chooseWorkspace(ctx: CommandContext, args: Args, title: string): Promise<string> {
  const given = stringArg(args, 'workspace');
  if (given !== undefined) return given;
  const ids = Object.keys(ctx.settings.config.workspaces);
  const items = [
    ...ids.map((w) => ({ label: w, description: ctx.settings.config.workspaces[w]!.name })),
    { label: '$(add) New workspace…', alwaysShow: true },
  ];
  const chosen = await pick(items, 'Set limits for which workspace?', { title, step: 1, totalSteps: 4 });
  if (!chosen.label.startsWith('$(add)')) return chosen.label;
  const validate = (s: string) =>
    WORKSPACE_ID.test(s.trim()) && s.trim() !== DEFAULT_WORKSPACE
      ? undefined
      : 'Use the workspace id; the default workspace cannot be edited.';
  return (
    await ask(
      { prompt: 'Workspace id (as in Model Studio, e.g. llm-abc123)', validate },
      { title, step: 1, totalSteps: 4 },
    )
  ).trim();
}

async function setWorkspaceLimits(ctx: CommandContext, args: Args) {
  const title = 'Set Workspace Limits';
  const workspace = await chooseWorkspace(ctx, args, title);
  if (workspace === DEFAULT_WORKSPACE) fail('The default workspace uses the account limits and cannot be edited.');
  const model = await chooseModel(ctx, args, `Limit which model in '${workspace}'?`, {
    title: `${title}: ${workspace}`,
    step: 2,
    totalSteps: 4,
  });
  const account = ctx.settings.config.models[model];
  if (!account) fail(`'${model}' has no account limit: set it first with "Set Account Limits for a Model".`);
  const existing = ctx.settings.config.workspaces[workspace]?.models[model];
  const ceiling = (value: number) => ({ value, name: `the account limit of ${model}` });
  const stepTitle = `${title}: ${model} in ${workspace}`;
  const ask = (field: 'rpm' | 'tpm', step: number) =>
    readLimit(
      args,
      field,
      existing?.[field] ?? account[field],
      { title: stepTitle, step, totalSteps: 4 },
      ceiling(account[field]),
    );
  const rpm = await ask('rpm', 3);
  const tpm = await ask('tpm', 4);
  const ws = ctx.settings.config.workspaces[workspace] ?? { name: stringArg(args, 'name') ?? workspace, models: {} };
  const workspaces = {
    ...ctx.settings.config.workspaces,
    [workspace]: { ...ws, models: { ...ws.models, [model]: { rpm, tpm } } },
  };
  checkCandidate(ctx, { workspaces });
  await ctx.settings.update(SETTING.workspaces, workspaces);
  // Optionally set the same limit in Model Studio, in the provider setting's region.
  let push = args?.push === true;
  if (args?.push === undefined && ctx.settings.config.provider === 'dashscope') {
    const answer = await vscode.window.showInformationMessage(
      `Saved. Also set this limit for workspace '${workspace}' in Model Studio?`,
      'Set in Model Studio',
      'Only here',
    );
    push = answer === 'Set in Model Studio';
  }
  if (!push) return { workspace, model, rpm, tpm, pushed: false };
  const key = ctx.keys.get(workspace) ?? apiKeyFromEnv();
  if (!key) fail(`Saved here, but not set in Model Studio: workspace '${workspace}' has no API key (Set API Key).`);
  const { region } = regionOf(ctx.settings.get<string>(SETTING.provider, ''));
  const url = stringArg(args, 'pushUrl');
  await setWorkspaceLimit({ workspaceId: workspace, region, key, ...(url ? { url } : {}) }, model, rpm, tpm).catch(
    (e: unknown) =>
      fail(`Saved here, but not in Model Studio: ${e instanceof ModelStudioError ? e.message : String(e)}`),
  );
  return { workspace, model, rpm, tpm, pushed: true, region };
}

async function recordTemporaryIncrease(ctx: CommandContext, args: Args) {
  const title = 'Record a Temporary Increase';
  const model = await chooseModel(ctx, args, 'Which model got a temporary TPM increase?', {
    title,
    step: 1,
    totalSteps: 2,
  });
  const account = ctx.settings.config.models[model];
  if (!account) fail(`'${model}' has no account limit.`);
  const upper = typeof args?.upperLimit === 'number' ? args.upperLimit : undefined;
  const currentTpm = activeIncrease(ctx.settings.temporaryIncreases(), model, Date.now())?.tpm ?? account.tpm;
  let tpm: number;
  if (args?.tpm !== undefined) tpm = Number(args.tpm);
  else {
    const validate = (s: string) =>
      validateLimitInput(s, 'tpm', upper ? { value: upper, name: 'the upper limit' } : undefined) ??
      (parseLimitInput(s) <= account.tpm ? `An increase must be above the default ${account.tpm}.` : undefined);
    const prompt =
      `New TPM for ${model} (now ${currentTpm} TPM${upper ? `, upper limit ${upper}` : ''}); it ` +
      `lasts ${TEMPORARY_INCREASE_DAYS} days`;
    tpm = parseLimitInput(
      await ask(
        { prompt, value: String(currentTpm), validate },
        { title: `${title}: ${model}`, step: 2, totalSteps: 2 },
      ),
    );
  }
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
  if (!args?.quiet)
    void vscode.window.setStatusBarMessage(
      `$(check) ${model}: ${tpm} TPM until ${appliedAt.toLocaleDateString()} + ${TEMPORARY_INCREASE_DAYS} days`,
      5_000,
    );
  return increase;
}

async function endTemporaryIncrease(ctx: CommandContext, args: Args) {
  const now = Date.now();
  const increases = ctx.settings.temporaryIncreases();
  const active = [...new Set(increases.map((i) => i.model))].filter((m) => activeIncrease(increases, m, now));
  if (active.length === 0) fail('No temporary increase is in force.');
  const model = await argOrPick(args, 'model', active, 'End the temporary increase of which model?', {
    title: 'End a Temporary Increase',
  });
  if (!activeIncrease(increases, model, now)) fail(`'${model}' has no temporary increase in force.`);
  await ctx.settings.setTemporaryIncreases(endIncrease(increases, model, now));
  const tpm = ctx.settings.config.models[model]?.tpm;
  if (!args?.quiet) void vscode.window.setStatusBarMessage(`$(check) ${model}: back to ${tpm} TPM`, 5_000);
  return { model, tpm };
}

async function selectStatusBarModel(ctx: CommandContext, args: Args) {
  const model = await chooseModel(ctx, args, 'Show which model in the status bar?', { title: 'Status Bar Model' });
  if (!ctx.settings.config.models[model]) fail(`'${model}' has no account limit.`);
  await ctx.settings.update(SETTING.statusBarModel, model);
  return { model };
}

async function syncLimits(ctx: CommandContext, args: Args) {
  const title = 'Sync Limits from Model Studio';
  const validate = (s: string) => (WORKSPACE_ID.test(s.trim()) ? undefined : 'Use the workspace id from the console.');
  const workspaceId =
    stringArg(args, 'workspaceId') ??
    (
      await ask({ prompt: 'Model Studio workspace id (e.g. llm-abc123)', validate }, { title, step: 1, totalSteps: 2 })
    ).trim();
  const preset = regionOf(ctx.settings.get<string>(SETTING.provider, ''));
  const regions = QUOTA_REGIONS.map((label) => ({
    label,
    picked: label === preset.region,
    description: label === preset.region && preset.known ? "the provider setting's region" : '',
  }));
  const region =
    stringArg(args, 'region') ??
    (await pick(regions, 'Region of the workspace', { title, step: 2, totalSteps: 2 })).label;
  const key = ctx.keys.get(DEFAULT_WORKSPACE) ?? apiKeyFromEnv();
  if (!key) fail('No API key is set: run "Rate Limit Monitor: Set API Key" first.');
  const url = stringArg(args, 'url');
  const pages = await fetchQuotaPages({ workspaceId, region, key, ...(url ? { url } : {}) }).catch((e: unknown) =>
    fail(errorMessage(e)),
  );
  const synced = parseQuotaPages(pages);
  const changes = diffLimits(ctx.settings.config.models, synced.models);
  if (changes.length === 0) {
    void vscode.window.showInformationMessage('Limits already match the provider.');
    return { changes: [] };
  }
  if (args?.apply !== true) {
    const detail = changes.map((c) => `${c.model} ${c.field.toUpperCase()}: ${c.from ?? '—'} → ${c.to}`).join('\n');
    const answer = await vscode.window.showInformationMessage(
      `Apply ${changes.length} change(s) from the provider?`,
      { modal: true, detail },
      'Apply',
    );
    if (answer !== 'Apply') throw new Cancelled();
  }
  const models: Record<string, ModelLimits> = { ...ctx.settings.config.models, ...synced.models };
  checkCandidate(ctx, { models });
  await ctx.settings.update(SETTING.models, models);
  if (!args?.quiet)
    void vscode.window.setStatusBarMessage(`$(check) ${changes.length} limit(s) synced from Model Studio`, 5_000);
  return { changes };
}

export const limitCommands: Record<string, Handler> = {
  setAccountLimits,
  setWorkspaceLimits,
  recordTemporaryIncrease,
  endTemporaryIncrease,
  selectStatusBarModel,
  syncLimits,
};
