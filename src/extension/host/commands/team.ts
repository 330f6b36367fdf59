/**
 * Team mode from VS Code: Join Team… (the Redis URL as an application setting, its password in
 * SecretStorage, this machine's name) and Leave Team. The gateway follows the settings
 * (GatewayHost.applyTeam); README, "Team mode", says what the store holds.
 */
import * as os from 'node:os';
import * as vscode from 'vscode';
import { checkRedisUrl } from '../../../gateway/team/store';
import { SETTING } from '../../logic/settings';
import { ask } from '../prompts';
import { fail, stringArg, type Args, type CommandContext, type Handler } from './common';

export const TEAM_URL_SETTING = `rateLimitMonitor.${SETTING.teamRedisUrl}`;

const urlProblem = (url: string) =>
  url.trim() ? checkRedisUrl(url.trim(), TEAM_URL_SETTING) : vscode.l10n.t('Enter the Redis URL.');

async function joinTeam(ctx: CommandContext, args: Args) {
  const title = vscode.l10n.t('Join Team');
  const current = ctx.settings.get<string>(SETTING.teamRedisUrl, '');
  const url = (
    stringArg(args, 'url') ??
    (await ask(
      {
        prompt: vscode.l10n.t(
          'The Redis (or Valkey) every machine of the account uses, e.g. redis://team-redis:6379 (rediss:// for TLS)',
        ),
        value: current,
        validate: urlProblem,
      },
      { title, step: 1, totalSteps: 3 },
    ))
  ).trim();
  const problem = urlProblem(url);
  if (problem) fail(problem);
  const password =
    stringArg(args, 'password') ??
    (await ask(
      {
        prompt: vscode.l10n.t('Its password (kept in VS Code’s secret storage; empty if it has none)'),
        validate: () => undefined,
        password: true,
      },
      { title, step: 2, totalSteps: 3 },
    ));
  const defaultName = `${os.userInfo().username}@${os.hostname()}`;
  const name =
    stringArg(args, 'machineName') ??
    (await ask(
      {
        prompt: vscode.l10n.t("This machine's name in the team's views"),
        value: ctx.settings.get<string>(SETTING.teamMachineName, '') || defaultName,
        validate: (s) => (s.trim().length <= 64 ? undefined : vscode.l10n.t('At most 64 characters.')),
      },
      { title, step: 3, totalSteps: 3 },
    ));
  await ctx.teamPassword.set(password.trim() || undefined);
  await ctx.settings.update(SETTING.teamMachineName, name.trim() === defaultName ? undefined : name.trim());
  await ctx.settings.update(SETTING.teamRedisUrl, url);
  const status = await ctx.host.applyTeam();
  if (!args?.quiet) void vscode.window.setStatusBarMessage(`$(organization) ${status}`, 8_000);
  return { joined: true, status };
}

async function leaveTeam(ctx: CommandContext, args: Args) {
  await ctx.settings.update(SETTING.teamRedisUrl, undefined);
  await ctx.teamPassword.set(undefined);
  await ctx.host.applyTeam();
  if (!args?.quiet)
    void vscode.window.setStatusBarMessage(
      `$(organization) ${vscode.l10n.t('Left the team: this machine admits alone')}`,
      8_000,
    );
  return { left: true };
}

export const teamCommands: Record<string, Handler> = { joinTeam, leaveTeam };
