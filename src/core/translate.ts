/**
 * What translates a message, and how durations read, for the pure parts (core stays free of
 * packages): the extension passes @vscode/l10n or vscode.l10n, the webview @vscode/l10n with
 * the bundle its host handed it. The parameter is named `l10n` at every call so that
 * npm run l10n:export finds the strings.
 */
export interface Translator {
  t(message: string, ...args: (string | number)[]): string;
}

/** English, with {0}-style placeholders filled in. */
export const ENGLISH: Translator = {
  t: (message, ...args) => message.replace(/\{(\d+)\}/g, (_, i: string) => String(args[Number(i)])),
};
