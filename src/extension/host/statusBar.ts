/** The status-bar quota item: an id, a name, theme colours only; a click opens the monitor. */
import * as vscode from 'vscode';
import type { GatewayState } from '../../core/protocol';
import { statusView, type StatusView } from '../logic/statusView';

export const STATUS_ITEM_ID = 'rateLimitMonitor.quota';

export class QuotaStatusBar implements vscode.Disposable {
  readonly item: vscode.StatusBarItem;
  view: StatusView | undefined;

  constructor(
    private readonly settings: {
      model: () => string;
      workspace: () => string;
      threshold: () => number;
      apiKeyMissing: () => boolean;
    },
  ) {
    this.item = vscode.window.createStatusBarItem(STATUS_ITEM_ID, vscode.StatusBarAlignment.Right, 100);
    this.item.name = vscode.l10n.t('LLM Rate Limits');
    this.item.command = 'rateLimitMonitor.openMonitor';
    this.update(undefined);
    this.item.show();
  }

  private last: GatewayState | undefined;

  /** Redraw from the last state (a key was set or cleared). */
  refresh(): void {
    this.update(this.last);
  }

  update(state: GatewayState | undefined): void {
    this.last = state;
    const v = statusView(
      state,
      this.settings.model(),
      this.settings.workspace(),
      this.settings.threshold(),
      Date.now(),
      this.settings.apiKeyMissing(),
    );
    this.view = v;
    this.item.text = v.text;
    const tooltip = new vscode.MarkdownString(v.tooltip, true);
    tooltip.isTrusted = {
      enabledCommands: [
        'rateLimitMonitor.openMonitor',
        'rateLimitMonitor.setAccountLimits',
        'rateLimitMonitor.selectStatusBarModel',
        'rateLimitMonitor.setApiKey',
      ],
    };
    this.item.tooltip = tooltip;
    this.item.backgroundColor =
      v.level === 'error'
        ? new vscode.ThemeColor('statusBarItem.errorBackground')
        : v.level === 'warning'
          ? new vscode.ThemeColor('statusBarItem.warningBackground')
          : undefined;
    this.item.accessibilityInformation = { label: v.text.replace(/\$\([^)]+\)\s*/g, ''), role: 'button' };
  }

  dispose(): void {
    this.item.dispose();
  }
}
