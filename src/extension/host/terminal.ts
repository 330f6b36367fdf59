/** Programs started in VS Code's terminals go through the gateway: OPENAI_BASE_URL and OPENAI_API_KEY (the local token). */
import * as vscode from 'vscode';

export function applyTerminalEnvironment(
  collection: vscode.GlobalEnvironmentVariableCollection,
  enabled: boolean,
  url: string,
  token: string,
): void {
  if (!enabled) {
    collection.clear();
    return;
  }
  collection.description = vscode.l10n.t(
    'Points OpenAI-compatible clients at the LLM Rate Limit Monitor gateway, which meters them against your limits ({0} turns this off).',
    'rateLimitMonitor.terminal.injectEnvironment',
  );
  collection.replace('OPENAI_BASE_URL', `${url}/v1`);
  collection.replace('OPENAI_API_KEY', token);
}
