/**
 * Every command of the "Rate Limit Monitor" category, by area (one file each), registered
 * under `rateLimitMonitor.<name>`. A handler's refusal is shown as an error and returned as
 * `{ error }`; a closed prompt (`Cancelled`) stops quietly.
 */
import * as vscode from 'vscode';
import { Cancelled } from '../prompts';
import { runBatchFile, showBatchJobs, submitBatchJob } from './batch';
import type { CommandContext, Handler } from './common';
import { diagnosticCommands } from './diagnostics';
import { historyCommands } from './history';
import { keyCommands } from './keys';
import { limitCommands } from './limits';
import { workspaceCommands } from './workspaces';

export type { CommandContext } from './common';

const handlers: Record<string, Handler> = {
  ...limitCommands,
  ...workspaceCommands,
  ...keyCommands,
  ...historyCommands,
  ...diagnosticCommands,
  runBatchFile,
  submitBatchJob,
  showBatchJobs,
};

export function registerCommands(ctx: CommandContext): vscode.Disposable[] {
  return Object.entries(handlers).map(([name, handler]) =>
    vscode.commands.registerCommand(`rateLimitMonitor.${name}`, async (args?: Record<string, unknown>) => {
      try {
        return await handler(ctx, args && typeof args === 'object' ? args : undefined);
      } catch (e) {
        if (e instanceof Cancelled) return { error: 'cancelled' };
        const message = e instanceof Error ? e.message : String(e);
        ctx.log.warn(`${name}: ${message}`);
        void vscode.window.showErrorMessage(`Rate Limit Monitor: ${message}`);
        // Tests and callers see the refusal as a value, not as an unhandled rejection.
        return { error: message };
      }
    }),
  );
}
