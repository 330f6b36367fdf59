/**
 * Limits: the account's and a workspace's, temporary increases, sync from Model Studio, and
 * the model the status bar shows. Every change is validated whole before it is written.
 */
import * as vscode from 'vscode';
import { TEMPORARY_INCREASE_DAYS } from '../../../core/config';
import { actionDone, activeIncrease, endIncrease } from '../../../core/dashboard';
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
  const title = vscode.l10n.t('Set Account Limits');
  const model = await chooseModel(
    ctx,
    args,
    vscode.l10n.t('Set the account limits of which model?'),
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
    { label: `$(add) ${vscode.l10n.t('New workspace…')}`, alwaysShow: true },
  ];
  const chosen = await pick(items, vscode.l10n.t('Set limits for which workspace?'), { title, step: 1, totalSteps: 4 });
  if (!chosen.label.startsWith('$(add)')) return chosen.label;
  const validate = (s: string) =>
    WORKSPACE_ID.test(s.trim()) && s.trim() !== DEFAULT_WORKSPACE
      ? undefined
      : vscode.l10n.t('Use the workspace id; the default workspace cannot be edited.');
  return (
    await ask(
      { prompt: vscode.l10n.t('Workspace id (as in Model Studio, e.g. llm-abc123)'), validate },
      { title, step: 1, totalSteps: 4 },
    )
  ).trim();
}

async function setWorkspaceLimits(ctx: CommandContext, args: Args) {
  const title = vscode.l10n.t('Set Workspace Limits');
  const workspace = await chooseWorkspace(ctx, args, title);
  if (workspace === DEFAULT_WORKSPACE)
    fail(vscode.l10n.t('The default workspace uses the account limits and cannot be edited.'));
  const model = await chooseModel(ctx, args, vscode.l10n.t("Limit which model in '{0}'?", workspace), {
    title: `${title}: ${workspace}`,
    step: 2,
    totalSteps: 4,
  });
  const account = ctx.settings.config.models[model];
  if (!account)
    fail(vscode.l10n.t('\'{0}\' has no account limit: set it first with "Set Account Limits for a Model".', model));
  const existing = ctx.settings.config.workspaces[workspace]?.models[model];
  const ceiling = (value: number) => ({ value, name: vscode.l10n.t('the account limit of {0}', model) });
  const stepTitle = `${title}: ${vscode.l10n.t('{0} in {1}', model, workspace)}`;
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
  const pushed = await pushToModelStudio(ctx, args, workspace, model, { rpm, tpm });
  return { workspace, model, rpm, tpm, ...pushed };
}

/** Optionally set the same limit in Model Studio, in the provider setting's region. */
async function pushToModelStudio(ctx: CommandContext, args: Args, workspace: string, model: string, l: ModelLimits) {
  let push = args?.push === true;
  if (args?.push === undefined && ctx.settings.config.provider === 'dashscope') {
    const setThere = vscode.l10n.t('Set in Model Studio');
    const answer = await vscode.window.showInformationMessage(
      vscode.l10n.t("Saved. Also set this limit for workspace '{0}' in Model Studio?", workspace),
      setThere,
      vscode.l10n.t('Only here'),
    );
    push = answer === setThere;
  }
  if (!push) return { pushed: false };
  const key = ctx.keys.get(workspace) ?? apiKeyFromEnv();
  if (!key)
    fail(
      vscode.l10n.t(
        "Saved here, but not set in Model Studio: workspace '{0}' has no API key (Set API Key).",
        workspace,
      ),
    );
  const { region } = regionOf(ctx.settings.get<string>(SETTING.provider, ''));
  const url = stringArg(args, 'pushUrl');
  await setWorkspaceLimit({ workspaceId: workspace, region, key, ...(url ? { url } : {}) }, model, l.rpm, l.tpm).catch(
    (e: unknown) =>
      fail(
        vscode.l10n.t(
          'Saved here, but not in Model Studio: {0}',
          e instanceof ModelStudioError ? e.message : String(e),
        ),
      ),
  );
  return { pushed: true, region };
}

async function recordTemporaryIncrease(ctx: CommandContext, args: Args) {
  const title = vscode.l10n.t('Record a Temporary Increase');
  const model = await chooseModel(ctx, args, vscode.l10n.t('Which model got a temporary TPM increase?'), {
    title,
    step: 1,
    totalSteps: 2,
  });
  const account = ctx.settings.config.models[model];
  if (!account) fail(vscode.l10n.t("'{0}' has no account limit.", model));
  const upper = typeof args?.upperLimit === 'number' ? args.upperLimit : undefined;
  const currentTpm = activeIncrease(ctx.settings.temporaryIncreases(), model, Date.now())?.tpm ?? account.tpm;
  let tpm: number;
  if (args?.tpm !== undefined) tpm = Number(args.tpm);
  else {
    const validate = (s: string) =>
      validateLimitInput(s, 'tpm', upper ? { value: upper, name: vscode.l10n.t('the upper limit') } : undefined) ??
      (parseLimitInput(s) <= account.tpm
        ? vscode.l10n.t('An increase must be above the default {0}.', account.tpm)
        : undefined);
    const prompt = upper
      ? vscode.l10n.t(
          'New TPM for {0} (now {1} TPM, upper limit {2}); it lasts {3} days',
          model,
          currentTpm,
          upper,
          TEMPORARY_INCREASE_DAYS,
        )
      : vscode.l10n.t('New TPM for {0} (now {1} TPM); it lasts {2} days', model, currentTpm, TEMPORARY_INCREASE_DAYS);
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
      `$(check) ${actionDone.increaseRecorded(vscode.l10n, model, tpm, increase.expiresAt)}`,
      5_000,
    );
  return increase;
}

async function endTemporaryIncrease(ctx: CommandContext, args: Args) {
  const now = Date.now();
  const increases = ctx.settings.temporaryIncreases();
  const active = [...new Set(increases.map((i) => i.model))].filter((m) => activeIncrease(increases, m, now));
  if (active.length === 0) fail(vscode.l10n.t('No temporary increase is in force.'));
  const model = await argOrPick(args, 'model', active, vscode.l10n.t('End the temporary increase of which model?'), {
    title: vscode.l10n.t('End a Temporary Increase'),
  });
  if (!activeIncrease(increases, model, now)) fail(vscode.l10n.t("'{0}' has no temporary increase in force.", model));
  await ctx.settings.setTemporaryIncreases(endIncrease(increases, model, now));
  const tpm = ctx.settings.config.models[model]?.tpm;
  if (!args?.quiet)
    void vscode.window.setStatusBarMessage(`$(check) ${actionDone.increaseEnded(vscode.l10n, model, tpm)}`, 5_000);
  return { model, tpm };
}

async function selectStatusBarModel(ctx: CommandContext, args: Args) {
  const model = await chooseModel(ctx, args, vscode.l10n.t('Show which model in the status bar?'), {
    title: vscode.l10n.t('Status Bar Model'),
  });
  if (!ctx.settings.config.models[model]) fail(vscode.l10n.t("'{0}' has no account limit.", model));
  await ctx.settings.update(SETTING.statusBarModel, model);
  return { model };
}

async function syncLimits(ctx: CommandContext, args: Args) {
  const title = vscode.l10n.t('Sync Limits from Model Studio');
  const validate = (s: string) =>
    WORKSPACE_ID.test(s.trim()) ? undefined : vscode.l10n.t('Use the workspace id from the console.');
  const workspaceId =
    stringArg(args, 'workspaceId') ??
    (
      await ask(
        { prompt: vscode.l10n.t('Model Studio workspace id (e.g. llm-abc123)'), validate },
        { title, step: 1, totalSteps: 2 },
      )
    ).trim();
  const preset = regionOf(ctx.settings.get<string>(SETTING.provider, ''));
  const regions = QUOTA_REGIONS.map((label) => ({
    label,
    picked: label === preset.region,
    description: label === preset.region && preset.known ? vscode.l10n.t("the provider setting's region") : '',
  }));
  const region =
    stringArg(args, 'region') ??
    (await pick(regions, vscode.l10n.t('Region of the workspace'), { title, step: 2, totalSteps: 2 })).label;
  const key = ctx.keys.get(DEFAULT_WORKSPACE) ?? apiKeyFromEnv();
  if (!key) fail(vscode.l10n.t('No API key is set: run "Rate Limit Monitor: Set API Key" first.'));
  const url = stringArg(args, 'url');
  const pages = await fetchQuotaPages({ workspaceId, region, key, ...(url ? { url } : {}) }).catch((e: unknown) =>
    fail(errorMessage(e)),
  );
  const synced = parseQuotaPages(pages);
  const changes = diffLimits(ctx.settings.config.models, synced.models);
  if (changes.length === 0) {
    void vscode.window.showInformationMessage(vscode.l10n.t('Limits already match the provider.'));
    return { changes: [] };
  }
  if (args?.apply !== true) {
    const detail = changes.map((c) => `${c.model} ${c.field.toUpperCase()}: ${c.from ?? '—'} → ${c.to}`).join('\n');
    const apply = vscode.l10n.t('Apply');
    const answer = await vscode.window.showInformationMessage(
      vscode.l10n.t('Apply {0} change(s) from the provider?', changes.length),
      { modal: true, detail },
      apply,
    );
    if (answer !== apply) throw new Cancelled();
  }
  const models: Record<string, ModelLimits> = { ...ctx.settings.config.models, ...synced.models };
  checkCandidate(ctx, { models });
  await ctx.settings.update(SETTING.models, models);
  if (!args?.quiet)
    void vscode.window.setStatusBarMessage(
      `$(check) ${vscode.l10n.t('{0} limit(s) synced from Model Studio', changes.length)}`,
      5_000,
    );
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
