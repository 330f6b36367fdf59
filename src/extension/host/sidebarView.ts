/** The "Monitor" view in the "Rate Limits" activity-bar container. */
import * as vscode from 'vscode';
import { DashboardConnection, dashboardHtml, webviewOptions, type DashboardDeps } from './dashboardConnection';

export const SIDEBAR_VIEW_ID = 'rateLimitMonitor.sidebar';

export class SidebarViewProvider implements vscode.WebviewViewProvider, vscode.Disposable {
  connection: DashboardConnection | undefined;

  constructor(
    private readonly extensionUri: vscode.Uri,
    private readonly deps: DashboardDeps,
  ) {}

  resolveWebviewView(view: vscode.WebviewView): void {
    view.webview.options = webviewOptions(this.extensionUri);
    this.connection?.dispose();
    const connection = new DashboardConnection(view.webview, this.deps, () => view.visible, 'sidebar');
    this.connection = connection;
    view.webview.html = dashboardHtml(view.webview, this.extensionUri, 'sidebar');
    view.onDidChangeVisibility(() => {
      if (view.visible) void connection.sendSnapshot();
    });
    view.onDidDispose(() => connection.dispose());
  }

  dispose(): void {
    this.connection?.dispose();
  }
}
