/**
 * Advice as notifications (src/extension/logic/adviceNotices.ts decides which and how often):
 * the window that runs the gateway asks it for advice a minute after it starts and every ten
 * minutes, and shows each new item once a week at most, with the action that carries it out.
 */
import * as vscode from 'vscode';
import { adviceAction, adviceMessage, type Advice, type AdviceAction } from '../../core/advice';
import { errorMessage } from '../../core/values';
import { adviceToNotify, readShownAdvice } from '../logic/adviceNotices';

const SHOWN_KEY = 'rateLimitMonitor.adviceShown';
export const FIRST_CHECK_MS = 60_000;
export const CHECK_EVERY_MS = 10 * 60_000;

export interface AdviceAlertDeps {
  state: vscode.Memento;
  /** The gateway's advice; undefined when this window does not run the gateway. */
  advice: () => Promise<Advice[] | undefined>;
  openMonitor: (model: string) => void;
  preferFallback: (model: string, alias: string) => Promise<string>;
  /** Each advice shown, for the tests (dev-host windows show no toasts). */
  shown?: { kind: string; model: string; text: string }[];
}

export class AdviceAlerts implements vscode.Disposable {
  private timer: NodeJS.Timeout | undefined;

  constructor(private readonly o: AdviceAlertDeps) {}

  /** Check a minute from now, then every ten minutes. */
  schedule(): void {
    this.timer = setTimeout(() => {
      void this.check();
      this.timer = setInterval(() => void this.check(), CHECK_EVERY_MS);
    }, FIRST_CHECK_MS);
  }

  /** Ask for advice and show what is due; resolves to the items shown. */
  async check(now = Date.now()): Promise<Advice[]> {
    const items = await this.o.advice().catch(() => undefined);
    if (!items) return [];
    const { due, shown } = adviceToNotify(items, readShownAdvice(this.o.state.get(SHOWN_KEY)), now);
    if (due.length === 0) return [];
    await this.o.state.update(SHOWN_KEY, shown);
    for (const a of due) this.show(a);
    return due;
  }

  private show(a: Advice): void {
    const text = adviceMessage(a, vscode.l10n);
    this.o.shown?.push({ kind: a.kind, model: a.model, text });
    const open = vscode.l10n.t('Open Monitor');
    const action = adviceAction(a, vscode.l10n);
    const choices = action ? [action.label, open] : [open];
    void vscode.window.showInformationMessage(text, ...choices).then(async (choice) => {
      if (choice === open) this.o.openMonitor(a.model);
      else if (choice !== undefined && action) await this.carryOut(a.model, action);
    });
  }

  private async carryOut(model: string, action: AdviceAction): Promise<void> {
    if (action.kind === 'runBatchFile') {
      await vscode.commands.executeCommand('rateLimitMonitor.runBatchFile');
      return;
    }
    await this.o.preferFallback(model, action.fallback).then(
      (done) => vscode.window.showInformationMessage(done),
      (e: unknown) => vscode.window.showErrorMessage(errorMessage(e)),
    );
  }

  dispose(): void {
    clearTimeout(this.timer);
    clearInterval(this.timer);
  }
}
