/**
 * The request history: export it to a file (CSV or JSON) and clear it.
 */
import * as vscode from 'vscode';
import { TIME_WINDOWS } from '../../../core/protocol';
import { Cancelled, pick } from '../prompts';
import { fail, stringArg, type Args, type CommandContext, type Handler } from './common';

async function exportHistory(ctx: CommandContext, args: Args) {
  const title = vscode.l10n.t('Export History');
  const format =
    stringArg(args, 'format') ??
    (await pick([{ label: 'csv' }, { label: 'json' }], vscode.l10n.t('Export as…'), { title, step: 1, totalSteps: 2 }))
      .label;
  if (format !== 'csv' && format !== 'json') fail(vscode.l10n.t("Format '{0}': use csv or json.", format));
  const window =
    stringArg(args, 'window') ??
    (
      await pick(
        Object.keys(TIME_WINDOWS).map((label) => ({ label })),
        vscode.l10n.t('Export which time range?'),
        { title, step: 2, totalSteps: 2 },
      )
    ).label;
  const text = await ctx.host.client.exportHistory(window, format);
  const given = stringArg(args, 'path');
  // propose a name that says what it holds, in the workspace folder when there is one
  const name = `rlm-history-${window}-${new Date().toISOString().slice(0, 10)}.${format}`;
  const folder = vscode.workspace.workspaceFolders?.[0]?.uri;
  const target = given
    ? vscode.Uri.file(given)
    : await vscode.window.showSaveDialog({
        ...(folder ? { defaultUri: vscode.Uri.joinPath(folder, name) } : {}),
        filters: format === 'csv' ? { CSV: ['csv'] } : { JSON: ['json'] },
        saveLabel: title,
      });
  if (!target) throw new Cancelled();
  await vscode.workspace.fs.writeFile(target, Buffer.from(text, 'utf8'));
  const open = vscode.l10n.t('Open File');
  void vscode.window
    .showInformationMessage(
      vscode.l10n.t('History ({0}) exported to {1}.', window, vscode.workspace.asRelativePath(target)),
      open,
    )
    .then((choice) => {
      if (choice === open) void vscode.window.showTextDocument(target);
    });
  return { path: target.fsPath, bytes: Buffer.byteLength(text) };
}

async function clearHistory(ctx: CommandContext, args: Args) {
  if (args?.confirm !== true) {
    const remove = vscode.l10n.t('Delete');
    const answer = await vscode.window.showWarningMessage(
      vscode.l10n.t('Delete all recorded requests? The dashboards start empty again.'),
      { modal: true },
      remove,
    );
    if (answer !== remove) throw new Cancelled();
  }
  await ctx.host.client.clearHistory();
  void vscode.window.setStatusBarMessage(`$(trash) ${vscode.l10n.t('Request history cleared')}`, 5_000);
  return { cleared: true };
}

export const historyCommands: Record<string, Handler> = { exportHistory, clearHistory };
