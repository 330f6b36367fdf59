/**
 * What every command handler shares: its context, its refusal (`CommandError`), and the
 * prompts several commands ask (which model, a limit). Each handler takes optional arguments
 * that replace its prompts, so tests and keybindings can drive it without UI.
 */
import * as vscode from 'vscode';
import { validateConfig } from '../../../core/config';
import { DEFAULT_WORKSPACE } from '../../../core/types';
import { parseLimitInput, validateLimitInput } from '../../logic/settings';
import type { GatewayHost } from '../gatewayHost';
import { ask, pick, type Step } from '../prompts';
import type { ApiKeys, TeamPassword } from '../secrets';
import type { SettingsBridge } from '../settings';

export interface CommandContext {
  settings: SettingsBridge;
  /** globalState: data that is not a setting (batch jobs). */
  state: vscode.Memento;
  keys: ApiKeys;
  teamPassword: TeamPassword;
  host: GatewayHost;
  log: vscode.LogOutputChannel;
  openMonitor: (model?: string) => void;
  activeWorkspace: () => string;
}

export type Args = Record<string, unknown> | undefined;
export type Handler = (ctx: CommandContext, args?: Args) => Promise<unknown>;

/** A user's refusal or bad input, shown as an error message and returned to the caller. */
export class CommandError extends Error {}

export function fail(message: string): never {
  throw new CommandError(message);
}

export const stringArg = (args: Args, name: string): string | undefined =>
  typeof args?.[name] === 'string' ? (args[name] as string) : undefined;

export function workspaceIds(ctx: CommandContext): string[] {
  return [DEFAULT_WORKSPACE, ...Object.keys(ctx.settings.config.workspaces)];
}

/** Refuse a workspace id the settings do not know, naming the ones they do. */
export function checkWorkspace(ctx: CommandContext, workspace: string): void {
  if (!workspaceIds(ctx).includes(workspace))
    fail(vscode.l10n.t("Unknown workspace '{0}'. Known: {1}.", workspace, workspaceIds(ctx).join(', ')));
}

const MODEL_ID = /^[\w.:-]+$/;

export async function chooseModel(
  ctx: CommandContext,
  args: Args,
  placeholder: string,
  step: Step,
  allowNew = false,
): Promise<string> {
  const given = stringArg(args, 'model')?.trim();
  if (given) return given;
  const models = ctx.settings.config.models;
  const items: vscode.QuickPickItem[] = Object.entries(models).map(([m, l]) => ({
    label: m,
    description: `${l.rpm} RPM · ${l.tpm} TPM`,
  }));
  if (allowNew) items.push({ label: `$(add) ${vscode.l10n.t('Another model…')}`, alwaysShow: true });
  const chosen = await pick(items, placeholder, step);
  if (!chosen.label.startsWith('$(add)')) return chosen.label;
  const validate = (s: string) =>
    MODEL_ID.test(s.trim()) ? undefined : vscode.l10n.t('Use the model id: letters, digits, dot, dash, colon.');
  return (
    await ask(
      { prompt: vscode.l10n.t('Model name (as the API expects it, e.g. qwen-plus-2025-07-28)'), validate },
      step,
    )
  ).trim();
}

export async function readLimit(
  args: Args,
  field: 'rpm' | 'tpm',
  current: number | undefined,
  step: Step,
  ceiling?: { value: number; name: string },
): Promise<number> {
  const given = args?.[field];
  if (given !== undefined) {
    const problem = validateLimitInput(String(given), field, ceiling);
    if (problem) fail(`${field.toUpperCase()}: ${problem}`);
    return parseLimitInput(String(given));
  }
  const prompt =
    (field === 'rpm' ? vscode.l10n.t('Requests per minute') : vscode.l10n.t('Tokens per minute')) +
    (ceiling ? vscode.l10n.t(' (at most {0})', ceiling.value) : '') +
    vscode.l10n.t('; "1M" and "500k" work');
  const text = await ask(
    {
      prompt,
      value: current === undefined ? '' : String(current),
      validate: (s) => validateLimitInput(s, field, ceiling),
    },
    step,
  );
  return parseLimitInput(text);
}

/** Validate a whole changed config before writing anything, so a user's valid settings are never replaced by invalid ones. */
export function checkCandidate(ctx: CommandContext, patch: Record<string, unknown>): void {
  const r = validateConfig({ ...ctx.settings.config, ...patch });
  if (!r.ok) fail(r.problems.map((p) => `${p.path}: ${p.message} — ${p.fix}`).join('\n'));
}

/** The argument `name` when given, else the user's pick among `labels`. */
export async function argOrPick(
  args: Args,
  name: string,
  labels: string[],
  placeholder: string,
  step: Step,
): Promise<string> {
  return (
    stringArg(args, name) ??
    (
      await pick(
        labels.map((label) => ({ label })),
        placeholder,
        step,
      )
    ).label
  );
}
