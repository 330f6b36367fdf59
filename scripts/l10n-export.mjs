// npm run l10n:export — every string the code translates, into l10n/bundle.l10n.json (the
// English bundle; translators work from it, test/unit/l10n.test.ts checks the Chinese one
// against it). @vscode/l10n-dev finds `l10n.t(…)` only in a file that imports @vscode/l10n or
// vscode; src/core takes its translator as a parameter named `l10n` (it imports no package),
// so its files are read as if they imported @vscode/l10n.
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { getL10nJson } from '@vscode/l10n-dev';

const SOURCES = ['src', 'webview'];
const AS_IF_IMPORTED = "import * as l10n from '@vscode/l10n';\n";

/** The translated strings of the code under `root`, as @vscode/l10n-dev extracts them. */
export async function usedStrings(root = '.') {
  const files = SOURCES.flatMap((dir) =>
    fs
      .readdirSync(path.join(root, dir), { recursive: true })
      .filter((f) => f.endsWith('.ts'))
      .map((f) => path.join(dir, f)),
  ).sort();
  return getL10nJson(
    files.map((f) => {
      const text = fs.readFileSync(path.join(root, f), 'utf8');
      const core = f.split(path.sep).slice(0, 2).join('/') === 'src/core';
      return { extension: '.ts', contents: core && !text.includes('@vscode/l10n') ? AS_IF_IMPORTED + text : text };
    }),
  );
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  // no top-level await: the tests load this file through a CommonJS transform
  void usedStrings().then((strings) => {
    fs.writeFileSync('l10n/bundle.l10n.json', `${JSON.stringify(strings, null, 2)}\n`);
    console.log(`${Object.keys(strings).length} strings → l10n/bundle.l10n.json`);
  });
}
