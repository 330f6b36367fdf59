/**
 * Extension entry: wiring only. The gateway, status bar, views and commands arrive with
 * their issues; until then the extension offers its log.
 */
import * as vscode from 'vscode';

export function activate(context: vscode.ExtensionContext): void {
  const log = vscode.window.createOutputChannel('LLM Rate Limit Monitor', { log: true });
  context.subscriptions.push(log, vscode.commands.registerCommand('rateLimitMonitor.showLog', () => log.show()));
  log.info('LLM Rate Limit Monitor activated');
}

export function deactivate(): void {}
