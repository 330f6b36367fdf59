/**
 * The extension's side of a dashboard webview (the panel or the sidebar view): strict CSP
 * with a nonce, resources only from dist/ and media/, a "ready" handshake before the first
 * snapshot, every incoming message validated against the protocol (anything else is
 * ignored and logged), and nothing sent while the view is hidden.
 */
import { randomBytes } from 'node:crypto';
import * as vscode from 'vscode';
import { escapeAttribute } from '../../gateway/dashboardPage';
import { loadSnapshot } from '../../core/dashboard';
import {
  dispatchAction,
  parseWebviewMessage,
  type ActionHandlers,
  type HostToWebview,
  type TimeWindow,
  type WebviewToHost,
} from '../../core/protocol';
import type { TemporaryIncrease } from '../../core/types';
import type { GatewayHost } from './gatewayHost';
import { errorMessage } from '../../core/values';

export interface DashboardDeps {
  host: GatewayHost;
  log: vscode.LogOutputChannel;
  workspace: () => string;
  increases: () => TemporaryIncrease[];
  /** Open the full panel on a model (from the sidebar). */
  openPanel: (model: string) => void;
  /** No provider key for this window's workspace, in SecretStorage or the environment. */
  apiKeyMissing: () => boolean;
  /** The account limits are still the published defaults (no user value, never synced). */
  usingDefaultLimits: () => boolean;
  /** What the dashboard's requests do (src/extension/host/commands/index.ts). */
  actions: ActionHandlers;
}

export class DashboardConnection implements vscode.Disposable {
  ready = false;
  /** Messages that failed validation (for tests and the log). */
  rejected = 0;
  window: TimeWindow = '1h';
  focusModel: string | undefined;
  private timer: NodeJS.Timeout | undefined;
  private readonly disposables: vscode.Disposable[] = [];

  constructor(
    private readonly webview: vscode.Webview,
    private readonly deps: DashboardDeps,
    private readonly visible: () => boolean,
    private readonly kind: 'panel' | 'sidebar',
  ) {
    this.disposables.push(
      webview.onDidReceiveMessage((raw: unknown) => this.receive(raw)),
      deps.host.onDidRecord(() => this.scheduleRefresh()),
      deps.host.onDidChangeState((state) => {
        if (this.ready && this.visible()) void this.post({ type: 'state', state });
      }),
    );
  }

  /** Coalesce bursts of records into one refresh (40 ms), well inside the 250 ms budget. */
  scheduleRefresh(): void {
    if (!this.ready || !this.visible() || this.timer) return;
    this.timer = setTimeout(() => {
      this.timer = undefined;
      void this.sendSnapshot();
    }, 40);
  }

  private post(m: HostToWebview): Thenable<boolean> {
    return this.webview.postMessage(m);
  }

  receive(raw: unknown): void {
    const msg = parseWebviewMessage(raw);
    if (!msg) {
      this.rejected++;
      this.deps.log.warn(
        `${this.kind}: ignored a malformed message from the webview: ${JSON.stringify(raw)?.slice(0, 200)}`,
      );
      return;
    }
    void this.handle(msg);
  }

  private async handle(msg: WebviewToHost): Promise<void> {
    switch (msg.type) {
      case 'ready':
        this.ready = true;
        return this.sendSnapshot();
      case 'setWindow':
        this.window = msg.window;
        return this.sendSnapshot();
      case 'focusModel':
        if (this.kind === 'sidebar') return this.deps.openPanel(msg.model);
        this.focusModel = msg.model;
        return this.sendSnapshot();
      case 'request': {
        const reply = await dispatchAction(this.deps.actions, msg.request);
        await this.post({ type: 'reply', id: msg.id, reply });
        // the gateway applies new settings a moment later
        if (reply.ok && ['setLimit', 'recordIncrease', 'endIncrease'].includes(msg.request.action))
          setTimeout(() => void this.sendSnapshot(), 300);
        return;
      }
    }
  }

  async sendSnapshot(): Promise<void> {
    if (!this.ready || !this.visible()) return;
    try {
      const snapshot = await loadSnapshot(this.deps.host.client, {
        window: this.window,
        workspace: this.deps.workspace(),
        increases: this.deps.increases(),
        canRunCommands: true,
        ...(this.focusModel ? { focusModel: this.focusModel } : {}),
      });
      if (this.deps.apiKeyMissing()) snapshot.apiKeyMissing = true;
      if (this.deps.usingDefaultLimits()) snapshot.defaultLimits = true;
      await this.post({ type: 'snapshot', snapshot });
    } catch (e) {
      await this.post({ type: 'error', message: `The gateway did not answer: ${errorMessage(e)}` });
    }
  }

  dispose(): void {
    if (this.timer) clearTimeout(this.timer);
    for (const d of this.disposables) d.dispose();
  }
}

export function dashboardHtml(webview: vscode.Webview, extensionUri: vscode.Uri, view: 'panel' | 'sidebar'): string {
  const nonce = randomBytes(16).toString('base64');
  const script = webview.asWebviewUri(vscode.Uri.joinPath(extensionUri, 'dist', 'webview.js'));
  const style = webview.asWebviewUri(vscode.Uri.joinPath(extensionUri, 'media', 'monitor.css'));
  const csp = [
    `default-src 'none'`,
    `script-src 'nonce-${nonce}'`,
    `style-src ${webview.cspSource}`,
    `font-src ${webview.cspSource}`,
    `img-src ${webview.cspSource} data:`,
  ].join('; ');
  // the app translates with VS Code's bundle for the display language (none for English)
  const bundle = vscode.l10n.bundle ? ` data-l10n="${escapeAttribute(JSON.stringify(vscode.l10n.bundle))}"` : '';
  return `<!DOCTYPE html>
<html lang="${escapeAttribute(vscode.env.language)}"><head><meta charset="UTF-8">
<meta http-equiv="Content-Security-Policy" content="${csp}">
<meta name="viewport" content="width=device-width, initial-scale=1.0">
<link rel="stylesheet" href="${style}">
<title>LLM Rate Limit Monitor</title></head>
<body data-view="${view}" data-host="vscode"${bundle}><main id="app" aria-live="polite"></main>
<script nonce="${nonce}" src="${script}"></script></body></html>`;
}

export function webviewOptions(extensionUri: vscode.Uri): vscode.WebviewOptions {
  return {
    enableScripts: true,
    localResourceRoots: [vscode.Uri.joinPath(extensionUri, 'dist'), vscode.Uri.joinPath(extensionUri, 'media')],
  };
}
