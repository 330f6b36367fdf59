/**
 * The commands' quick picks and input boxes, as VS Code's multi-step flows show them: a title
 * naming the command and "2/3" for the step. A user closing one throws `Cancelled`, which the
 * command runner takes as a quiet stop, not an error.
 */
import * as vscode from 'vscode';

/** The user closed a prompt: the command stops without an error message. */
export class Cancelled extends Error {
  constructor() {
    super('cancelled');
    this.name = 'Cancelled';
  }
}

/** Where a prompt sits in its command: the title, and the step when there are several. */
export interface Step {
  title: string;
  step?: number;
  totalSteps?: number;
}

function place(input: vscode.QuickInput, s: Step): void {
  input.title = s.title;
  if (s.totalSteps && s.totalSteps > 1) {
    input.step = s.step;
    input.totalSteps = s.totalSteps;
  }
  input.ignoreFocusOut = true;
}

export function pick<T extends vscode.QuickPickItem>(items: T[], placeholder: string, s: Step): Promise<T> {
  const qp = vscode.window.createQuickPick<T>();
  place(qp, s);
  qp.placeholder = placeholder;
  qp.items = items;
  const preset = items.filter((i) => i.picked);
  if (preset.length) qp.activeItems = preset;
  return new Promise<T>((resolve, reject) => {
    let chosen: T | undefined;
    qp.onDidAccept(() => {
      chosen = qp.selectedItems[0] ?? qp.activeItems[0];
      if (chosen) qp.hide();
    });
    qp.onDidHide(() => {
      qp.dispose();
      if (chosen) resolve(chosen);
      else reject(new Cancelled());
    });
    qp.show();
  });
}

export interface AskOptions {
  prompt: string;
  value?: string;
  validate: (text: string) => string | undefined;
  password?: boolean;
}

/** An input box that checks as the user types and will not accept what fails the check. */
export function ask(o: AskOptions, s: Step): Promise<string> {
  const box = vscode.window.createInputBox();
  place(box, s);
  box.prompt = o.prompt;
  box.value = o.value ?? '';
  box.password = o.password === true;
  const check = () => {
    const problem = o.validate(box.value);
    box.validationMessage = problem
      ? { message: problem, severity: vscode.InputBoxValidationSeverity.Error }
      : undefined;
    return problem;
  };
  return new Promise<string>((resolve, reject) => {
    let accepted: string | undefined;
    box.onDidChangeValue(() => void check());
    box.onDidAccept(() => {
      if (check() !== undefined) return;
      accepted = box.value;
      box.hide();
    });
    box.onDidHide(() => {
      box.dispose();
      if (accepted !== undefined) resolve(accepted);
      else reject(new Cancelled());
    });
    box.show();
  });
}
