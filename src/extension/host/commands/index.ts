/**
 * Every command of the "Rate Limit Monitor" category, by area (one file each), registered
 * under `rateLimitMonitor.<name>`. A handler's refusal is shown as an error and returned as
 * `{ error }`; a closed prompt (`Cancelled`) stops quietly.
 */
import * as vscode from 'vscode';
import { actionDone, chainWithFirst } from '../../../core/dashboard';
import type { ActionHandlers } from '../../../core/protocol';
import type { TemporaryIncrease } from '../../../core/types';
import { Cancelled } from '../prompts';
import { runBatchFile, showBatchJobs, submitBatchJob } from './batch';
import type { CommandContext, Handler } from './common';
import { diagnosticCommands } from './diagnostics';
import { historyCommands } from './history';
import { keyCommands } from './keys';
import { limitCommands } from './limits';
import { teamCommands } from './team';
import { workspaceCommands } from './workspaces';
import { errorMessage } from '../../../core/values';

export type { CommandContext } from './common';

const handlers: Record<string, Handler> = {
  ...limitCommands,
  ...workspaceCommands,
  ...keyCommands,
  ...historyCommands,
  ...diagnosticCommands,
  ...teamCommands,
  runBatchFile,
  submitBatchJob,
  showBatchJobs,
};

/** Run a command as the palette does: a refusal is shown and returned as `{ error }`. */
async function run(ctx: CommandContext, name: string, args: unknown): Promise<unknown> {
  try {
    return await handlers[name]!(ctx, args && typeof args === 'object' ? (args as Record<string, unknown>) : undefined);
  } catch (e) {
    if (e instanceof Cancelled) return { error: 'cancelled' };
    const message = errorMessage(e);
    ctx.log.warn(`${name}: ${message}`);
    void vscode.window.showErrorMessage(vscode.l10n.t('Rate Limit Monitor: {0}', message));
    // Tests and callers see the refusal as a value, not as an unhandled rejection.
    return { error: message };
  }
}

export function registerCommands(ctx: CommandContext): vscode.Disposable[] {
  return Object.keys(handlers).map((name) =>
    vscode.commands.registerCommand(`rateLimitMonitor.${name}`, (args?: unknown) => run(ctx, name, args)),
  );
}

/**
 * The dashboard's actions in VS Code: the same handlers as the commands, called directly and
 * quietly (the webview shows the reply), never with a modal — a Save does not ask about Model Studio.
 */
export function dashboardActions(ctx: CommandContext): ActionHandlers {
  return {
    setLimit: async ({ edit: e }) => {
      if (e.scope === 'account')
        await limitCommands.setAccountLimits!(ctx, { model: e.model, rpm: e.rpm, tpm: e.tpm, quiet: true });
      else
        await limitCommands.setWorkspaceLimits!(ctx, {
          workspace: e.workspace,
          model: e.model,
          rpm: e.rpm,
          tpm: e.tpm,
          push: false,
          quiet: true,
        });
      return actionDone.limitApplied(vscode.l10n, e.model, e.rpm, e.tpm);
    },
    recordIncrease: async ({ model, tpm, upperLimit }) => {
      const inc = (await limitCommands.recordTemporaryIncrease!(ctx, {
        model,
        tpm,
        quiet: true,
        ...(upperLimit ? { upperLimit } : {}),
      })) as TemporaryIncrease;
      return actionDone.increaseRecorded(vscode.l10n, model, tpm, inc.expiresAt);
    },
    endIncrease: async ({ model }) => {
      const r = (await limitCommands.endTemporaryIncrease!(ctx, { model, quiet: true })) as { tpm?: number };
      return actionDone.increaseEnded(vscode.l10n, model, r.tpm);
    },
    preferFallback: async ({ model, fallback }) => {
      const chain = chainWithFirst(ctx.settings.config, model, fallback);
      await workspaceCommands.configureFallbacks!(ctx, { model, fallbacks: chain, quiet: true });
      return actionDone.fallbackFirst(vscode.l10n, model, chain);
    },
    downloadBatch: async ({ batchId }) => {
      const r = (await showBatchJobs(ctx, { download: batchId, quiet: true })) as { output?: string; errors?: string };
      return actionDone.saved(
        vscode.l10n,
        [r.output, r.errors].filter((f): f is string => !!f),
      );
    },
    saveFile: async ({ name, content }) => {
      const folder = vscode.workspace.workspaceFolders?.[0]?.uri;
      const target = await vscode.window.showSaveDialog({
        defaultUri: folder ? vscode.Uri.joinPath(folder, name) : vscode.Uri.file(name),
        saveLabel: vscode.l10n.t('Export'),
      });
      if (!target) return '';
      await vscode.workspace.fs.writeFile(target, Buffer.from(content, 'utf8'));
      return actionDone.saved(vscode.l10n, [vscode.workspace.asRelativePath(target)]);
    },
    // a flow shows its own prompts, results and errors, as from the palette
    runFlow: async ({ flow }) => {
      await run(ctx, flow, undefined);
      return '';
    },
  };
}
