/**
 * The notifications: a model near its limit (at the warning threshold), a 429 (from the
 * provider, or a local refusal after the maximum wait), and a refused API key (401) — each at
 * most once per model and reason every few minutes, with the action that helps.
 */
import * as vscode from 'vscode';
import type { GatewayState } from '../../core/protocol';
import { isRateLimitKind } from '../../core/retry';
import type { AttemptRecord } from '../../core/types';
import { NotificationThrottle } from '../logic/notifications';

/** Just after the user changed the limits the picture is settling: no threshold warning for a minute. */
const SETTLING_MS = 60_000;

export class Alerts {
  private readonly throttle = new NotificationThrottle();
  private limitsChangedAt = -Infinity;

  constructor(
    private readonly o: {
      threshold: () => number;
      openMonitor: (model: string) => void;
      /** Each warning shown, for the tests (dev-host windows show no toasts). */
      shown?: { model: string; reason: 'threshold' | '429'; text: string }[];
    },
  ) {}

  limitsChanged(): void {
    this.limitsChangedAt = Date.now();
  }

  onState(state: GatewayState): void {
    const threshold = this.o.threshold();
    for (const k of state.keys) {
      if (k.scope !== 'account') continue;
      const fill = Math.max(k.minute.requests / k.minute.requestLimit, k.minute.tokens / k.minute.tokenLimit);
      if (fill >= threshold && Date.now() - this.limitsChangedAt >= SETTLING_MS)
        this.warn(k.model, 'threshold', `${k.model} is at ${Math.round(fill * 100)} % of its rate limit.`);
    }
  }

  onRecord(r: AttemptRecord): void {
    if (r.status === 401 && r.errorKind === 'auth' && this.throttle.allow(r.model, 'auth', Date.now())) {
      const text = `The provider refused the API key (401) for ${r.model} in workspace ${r.workspace}.`;
      void vscode.window.showErrorMessage(text, 'Set API Key').then((choice) => {
        if (choice === 'Set API Key')
          void vscode.commands.executeCommand('rateLimitMonitor.setApiKey', { workspace: r.workspace });
      });
    }
    if (isRateLimitKind(r.errorKind)) {
      const where = r.outcome === 'rejected' ? ' (refused locally after the maximum wait)' : ' at the provider';
      this.warn(r.model, '429', `${r.model} hit its ${r.errorKind.toUpperCase()} limit${where}.`);
    }
  }

  private warn(model: string, reason: 'threshold' | '429', text: string): void {
    if (!this.throttle.allow(model, reason, Date.now())) return;
    this.o.shown?.push({ model, reason, text });
    void vscode.window.showWarningMessage(text, 'Open Monitor', 'Configure Fallback').then((choice) => {
      if (choice === 'Open Monitor') this.o.openMonitor(model);
      if (choice === 'Configure Fallback')
        void vscode.commands.executeCommand('rateLimitMonitor.configureFallbacks', { model });
    });
  }
}
