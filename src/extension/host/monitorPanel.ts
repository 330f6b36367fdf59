/** The full "LLM Rate Limit Monitor" panel (no retainContextWhenHidden: the app restores itself). */
import * as vscode from 'vscode';
import { DashboardConnection, dashboardHtml, webviewOptions, type DashboardDeps } from './dashboardConnection';

export class MonitorPanel implements vscode.Disposable {
  static current: MonitorPanel | undefined;
  readonly connection: DashboardConnection;
  private readonly disposables: vscode.Disposable[] = [];

  static show(extensionUri: vscode.Uri, deps: DashboardDeps, focusModel?: string): MonitorPanel {
    if (MonitorPanel.current) {
      MonitorPanel.current.panel.reveal();
      if (focusModel) MonitorPanel.current.connection.focusModel = focusModel;
      void MonitorPanel.current.connection.sendSnapshot();
      return MonitorPanel.current;
    }
    const panel = vscode.window.createWebviewPanel(
      'rateLimitMonitor.monitor',
      vscode.l10n.t('LLM Rate Limit Monitor'),
      vscode.ViewColumn.Active,
      webviewOptions(extensionUri),
    );
    panel.iconPath = vscode.Uri.joinPath(extensionUri, 'media', 'icon.svg');
    MonitorPanel.current = new MonitorPanel(panel, extensionUri, deps, focusModel);
    return MonitorPanel.current;
  }

  private constructor(
    readonly panel: vscode.WebviewPanel,
    extensionUri: vscode.Uri,
    deps: DashboardDeps,
    focusModel: string | undefined,
  ) {
    this.connection = new DashboardConnection(panel.webview, deps, () => panel.visible, 'panel');
    this.connection.focusModel = focusModel;
    panel.webview.html = dashboardHtml(panel.webview, extensionUri, 'panel');
    this.disposables.push(
      this.connection,
      panel.onDidDispose(() => this.dispose()),
      panel.onDidChangeViewState(() => {
        if (panel.visible) void this.connection.sendSnapshot();
      }),
    );
  }

  get ready(): boolean {
    return this.connection.ready;
  }

  get rejected(): number {
    return this.connection.rejected;
  }

  receive(raw: unknown): void {
    this.connection.receive(raw);
  }

  dispose(): void {
    MonitorPanel.current = undefined;
    for (const d of this.disposables) d.dispose();
    this.panel.dispose();
  }
}
