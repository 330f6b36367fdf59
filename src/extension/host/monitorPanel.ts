/**
 * The "LLM Rate Limit Monitor" panel host: strict CSP with a nonce, resources only from
 * dist/ and media/, every message from the webview validated against the protocol, no
 * retainContextWhenHidden (the app restores itself with getState), nothing polled while hidden.
 */
import { randomBytes } from 'node:crypto';
import * as vscode from 'vscode';
import { parseWebviewMessage, type HostToWebview, type TimeWindow } from '../../core/protocol';
import type { GatewayHost } from './gatewayHost';

export class MonitorPanel implements vscode.Disposable {
  static current: MonitorPanel | undefined;
  private window: TimeWindow = '1h';
  private readonly disposables: vscode.Disposable[] = [];
  private refreshTimer: NodeJS.Timeout | undefined;
  /** Messages the webview sent that failed validation (for tests and the log). */
  rejected = 0;
  ready = false;

  static show(extensionUri: vscode.Uri, host: GatewayHost, log: vscode.LogOutputChannel, workspace: () => string, focusModel?: string): MonitorPanel {
    if (MonitorPanel.current) {
      MonitorPanel.current.panel.reveal();
      MonitorPanel.current.focusModel = focusModel;
      void MonitorPanel.current.sendSnapshot();
      return MonitorPanel.current;
    }
    const panel = vscode.window.createWebviewPanel('rateLimitMonitor.monitor', 'LLM Rate Limit Monitor', vscode.ViewColumn.Active, {
      enableScripts: true,
      localResourceRoots: [vscode.Uri.joinPath(extensionUri, 'dist'), vscode.Uri.joinPath(extensionUri, 'media')],
    });
    MonitorPanel.current = new MonitorPanel(panel, extensionUri, host, log, workspace, focusModel);
    return MonitorPanel.current;
  }

  private constructor(
    readonly panel: vscode.WebviewPanel,
    extensionUri: vscode.Uri,
    private readonly host: GatewayHost,
    private readonly log: vscode.LogOutputChannel,
    private readonly workspace: () => string,
    private focusModel: string | undefined,
  ) {
    panel.webview.html = html(panel.webview, extensionUri);
    this.disposables.push(
      panel.onDidDispose(() => this.dispose()),
      panel.webview.onDidReceiveMessage((raw: unknown) => this.receive(raw)),
      host.onDidRecord(() => this.scheduleRefresh()),
      panel.onDidChangeViewState(() => {
        if (panel.visible) void this.sendSnapshot();
      }),
    );
  }

  /** Coalesce bursts of records into one refresh, well inside the 250 ms budget. */
  private scheduleRefresh(): void {
    if (!this.ready || !this.panel.visible || this.refreshTimer) return;
    this.refreshTimer = setTimeout(() => {
      this.refreshTimer = undefined;
      void this.sendSnapshot();
    }, 100);
  }

  /** Every message from the webview comes through here (public for the real-VS-Code tests). */
  receive(raw: unknown): void {
    const msg = parseWebviewMessage(raw);
    if (!msg) {
      this.rejected++;
      this.log.warn(`monitor: ignored a malformed message from the webview: ${JSON.stringify(raw)?.slice(0, 200)}`);
      return;
    }
    switch (msg.type) {
      case 'ready':
        this.ready = true;
        void this.sendSnapshot();
        break;
      case 'setWindow':
        this.window = msg.window;
        void this.sendSnapshot();
        break;
      case 'runCommand':
        void vscode.commands.executeCommand(`rateLimitMonitor.${msg.command}`);
        break;
    }
  }

  async sendSnapshot(): Promise<void> {
    if (!this.ready) return;
    try {
      const metrics = await this.host.client.metrics(this.window);
      const message: HostToWebview = { type: 'snapshot', window: this.window, metrics, workspace: this.workspace(), ...(this.host.state ? { state: this.host.state } : {}), ...(this.focusModel ? { focusModel: this.focusModel } : {}) };
      await this.panel.webview.postMessage(message);
    } catch (e) {
      await this.panel.webview.postMessage({ type: 'error', message: `The gateway did not answer: ${e instanceof Error ? e.message : String(e)}` } satisfies HostToWebview);
    }
  }

  dispose(): void {
    MonitorPanel.current = undefined;
    if (this.refreshTimer) clearTimeout(this.refreshTimer);
    for (const d of this.disposables) d.dispose();
    this.panel.dispose();
  }
}

function html(webview: vscode.Webview, extensionUri: vscode.Uri): string {
  const nonce = randomBytes(16).toString('base64');
  const script = webview.asWebviewUri(vscode.Uri.joinPath(extensionUri, 'dist', 'webview.js'));
  const style = webview.asWebviewUri(vscode.Uri.joinPath(extensionUri, 'media', 'monitor.css'));
  const csp = [`default-src 'none'`, `script-src 'nonce-${nonce}'`, `style-src ${webview.cspSource}`, `font-src ${webview.cspSource}`, `img-src ${webview.cspSource}`].join('; ');
  return `<!DOCTYPE html>
<html lang="en"><head><meta charset="UTF-8">
<meta http-equiv="Content-Security-Policy" content="${csp}">
<meta name="viewport" content="width=device-width, initial-scale=1.0">
<link rel="stylesheet" href="${style}">
<title>LLM Rate Limit Monitor</title></head>
<body><main id="app" aria-live="polite"></main><script nonce="${nonce}" src="${script}"></script></body></html>`;
}
