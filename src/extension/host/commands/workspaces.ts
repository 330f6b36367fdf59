/**
 * Which provider workspace this window uses, and each model's fallback chain.
 */
import * as vscode from 'vscode';
import { DEFAULT_WORKSPACE } from '../../../core/types';
import { SETTING } from '../../logic/settings';
import { pick } from '../prompts';
import {
  checkCandidate,
  chooseModel,
  checkWorkspace,
  stringArg,
  workspaceIds,
  type Args,
  type CommandContext,
  type Handler,
} from './common';

async function selectActiveWorkspace(ctx: CommandContext, args: Args) {
  const items = workspaceIds(ctx).map((w) => ({
    label: w,
    description: w === DEFAULT_WORKSPACE ? vscode.l10n.t('account limits') : ctx.settings.config.workspaces[w]!.name,
    picked: w === ctx.activeWorkspace(),
  }));
  const workspace =
    stringArg(args, 'workspace') ??
    (
      await pick(items, vscode.l10n.t('Which provider workspace does this window use?'), {
        title: vscode.l10n.t('Active Workspace'),
      })
    ).label;
  checkWorkspace(ctx, workspace);
  const section = ctx.settings.section();
  // A window without a folder has no workspace settings: keep the choice in the user settings then.
  await section
    .update(SETTING.activeWorkspace, workspace, vscode.ConfigurationTarget.Workspace)
    .then(undefined, () => section.update(SETTING.activeWorkspace, workspace, vscode.ConfigurationTarget.Global));
  if (!args?.quiet)
    void vscode.window.setStatusBarMessage(
      `$(check) ${vscode.l10n.t('This window uses workspace {0}', workspace)}`,
      5_000,
    );
  return { workspace };
}

/** Ordered: one pick per link of the chain until "Done". */
async function askChain(ctx: CommandContext, model: string): Promise<string[]> {
  const others = Object.keys(ctx.settings.config.models).filter((m) => m !== model);
  const current = ctx.settings.config.fallbacks[model] ?? [];
  const chain: string[] = [];
  for (;;) {
    const left = others.filter((m) => !chain.includes(m));
    const items: vscode.QuickPickItem[] = [
      {
        label: `$(check) ${vscode.l10n.t('Done')}`,
        description: chain.length ? chain.join(' → ') : vscode.l10n.t('no fallback'),
      },
      ...left.map((m) => ({
        label: m,
        description: current.includes(m) ? vscode.l10n.t('currently #{0}', current.indexOf(m) + 1) : '',
      })),
    ];
    const chosen = await pick(
      items,
      vscode.l10n.t('Fallback #{0} for {1}, in order (Done to finish)', chain.length + 1, model),
      {
        title: vscode.l10n.t('Configure Fallbacks: {0}', model),
        step: chain.length + 2,
        totalSteps: others.length + 2,
      },
    );
    if (chosen.label.startsWith('$(check)')) return chain;
    chain.push(chosen.label);
  }
}

async function configureFallbacks(ctx: CommandContext, args: Args) {
  const model = await chooseModel(ctx, args, vscode.l10n.t('Configure the fallbacks of which model?'), {
    title: vscode.l10n.t('Configure Fallbacks'),
    step: 1,
    totalSteps: 2,
  });
  const chain = Array.isArray(args?.fallbacks) ? args.fallbacks.map(String) : await askChain(ctx, model);
  const fallbacks = { ...ctx.settings.config.fallbacks, [model]: chain };
  if (chain.length === 0) delete fallbacks[model];
  checkCandidate(ctx, { fallbacks });
  await ctx.settings.update(SETTING.fallbacks, fallbacks);
  if (!args?.quiet)
    void vscode.window.setStatusBarMessage(
      `$(check) ${model}: ${chain.length ? vscode.l10n.t('falls back to {0}', chain.join(' → ')) : vscode.l10n.t('no fallback')}`,
      5_000,
    );
  return { model, fallbacks: chain };
}

export const workspaceCommands: Record<string, Handler> = { selectActiveWorkspace, configureFallbacks };
