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
        this.warn(
          k.model,
          'threshold',
          vscode.l10n.t('{0} is at {1} % of its rate limit.', k.model, Math.round(fill * 100)),
        );
    }
  }

  onRecord(r: AttemptRecord): void {
    if (r.status === 401 && r.errorKind === 'auth' && this.throttle.allow(r.model, 'auth', Date.now())) {
      const text = vscode.l10n.t(
        'The provider refused the API key (401) for {0} in workspace {1}.',
        r.model,
        r.workspace,
      );
      const setKey = vscode.l10n.t('Set API Key');
      void vscode.window.showErrorMessage(text, setKey).then((choice) => {
        if (choice === setKey)
          void vscode.commands.executeCommand('rateLimitMonitor.setApiKey', { workspace: r.workspace });
      });
    }
    if (isRateLimitKind(r.errorKind)) {
      const kind = r.errorKind.toUpperCase();
      this.warn(
        r.model,
        '429',
        r.outcome === 'rejected'
          ? vscode.l10n.t('{0} hit its {1} limit (refused locally after the maximum wait).', r.model, kind)
          : vscode.l10n.t('{0} hit its {1} limit at the provider.', r.model, kind),
      );
    }
  }

  private warn(model: string, reason: 'threshold' | '429', text: string): void {
    if (!this.throttle.allow(model, reason, Date.now())) return;
    this.o.shown?.push({ model, reason, text });
    const open = vscode.l10n.t('Open Monitor');
    const fallback = vscode.l10n.t('Configure Fallback');
    void vscode.window.showWarningMessage(text, open, fallback).then((choice) => {
      if (choice === open) this.o.openMonitor(model);
      if (choice === fallback) void vscode.commands.executeCommand('rateLimitMonitor.configureFallbacks', { model });
    });
  }
}
