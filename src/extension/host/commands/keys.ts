/**
 * The provider API key (SecretStorage only) and the lines that point a terminal at the gateway.
 */
import * as vscode from 'vscode';
import { apiKeyFromEnv } from '../../../gateway/env';
import { environmentLines } from '../../logic/environment';
import { ask, pick } from '../prompts';
import {
  argOrPick,
  checkWorkspace,
  fail,
  stringArg,
  workspaceIds,
  type Args,
  type CommandContext,
  type Handler,
} from './common';

const tooShort = (s: string) =>
  s.trim().length >= 8 ? undefined : vscode.l10n.t('That is too short to be an API key.');

async function setApiKey(ctx: CommandContext, args: Args) {
  const title = vscode.l10n.t('Set API Key');
  const many = workspaceIds(ctx).length > 1;
  const items = workspaceIds(ctx).map((w) => ({
    label: w,
    description: ctx.keys.has(w) ? vscode.l10n.t('key set') : vscode.l10n.t('no key'),
  }));
  const workspace =
    stringArg(args, 'workspace') ??
    (many
      ? (await pick(items, vscode.l10n.t('API key for which provider workspace?'), { title, step: 1, totalSteps: 2 }))
          .label
      : workspaceIds(ctx)[0]!);
  checkWorkspace(ctx, workspace);
  // say what is in use now, so nobody wonders whether a key from the environment counts
  const inUse = ctx.keys.has(workspace)
    ? vscode.l10n.t('a key is stored for it')
    : apiKeyFromEnv()
      ? vscode.l10n.t('a key from the environment is in use now')
      : vscode.l10n.t('no key is set');
  const prompt = vscode.l10n.t(
    "Provider API key for workspace '{0}' ({1}; stored in VS Code's SecretStorage only)",
    workspace,
    inUse,
  );
  const key =
    stringArg(args, 'key') ??
    (await ask(
      { prompt, validate: tooShort, password: true },
      { title, step: many ? 2 : 1, totalSteps: many ? 2 : 1 },
    ));
  if (tooShort(key)) fail(tooShort(key)!);
  await ctx.keys.set(workspace, key.trim());
  if (!args?.quiet)
    void vscode.window.setStatusBarMessage(
      `$(key) ${vscode.l10n.t('API key saved for workspace {0}', workspace)}`,
      5_000,
    );
  return { workspace, stored: true };
}

async function clearApiKey(ctx: CommandContext, args: Args) {
  const stored = workspaceIds(ctx).filter((w) => ctx.keys.has(w));
  const workspace = await argOrPick(args, 'workspace', stored, vscode.l10n.t('Clear the API key of which workspace?'), {
    title: vscode.l10n.t('Clear API Key'),
  });
  await ctx.keys.clear(workspace);
  if (!args?.quiet)
    void vscode.window.setStatusBarMessage(
      `$(key) ${vscode.l10n.t('API key cleared for workspace {0}', workspace)}`,
      5_000,
    );
  return { workspace, cleared: true };
}

async function copyGatewayEnvironment(ctx: CommandContext, args: Args) {
  const lines = environmentLines(ctx.host.url, ctx.host.token);
  const items = lines.map((l) => ({ label: l.shell, detail: l.text.replace(ctx.host.token, '•'.repeat(8)) }));
  const shell =
    stringArg(args, 'shell') ??
    (
      await pick(items, vscode.l10n.t('Copy the lines for which shell?'), {
        title: vscode.l10n.t('Copy Gateway Environment'),
      })
    ).label;
  const chosen = lines.find((l) => l.shell === shell);
  if (!chosen) fail(vscode.l10n.t("Unknown shell '{0}'. Use bash/zsh, fish or PowerShell.", shell));
  await vscode.env.clipboard.writeText(chosen.text);
  if (!args?.quiet)
    void vscode.window.showInformationMessage(
      vscode.l10n.t(
        'Copied the gateway environment for {0}. It holds the local gateway token, not your provider key.',
        shell,
      ),
    );
  return { shell, copied: true };
}

export const keyCommands: Record<string, Handler> = { setApiKey, clearApiKey, copyGatewayEnvironment };
