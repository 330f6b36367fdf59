// npm run check:size — the sizes a newcomer can live with, in src/ and webview/: files of at
// most ~450 lines, functions of at most ~60, lines of at most 140 characters (Prettier wraps at
// 120; a long message string may run over). Prints what is over and exits 1 when anything is.
import fs from 'node:fs';
import path from 'node:path';
import ts from 'typescript';

const LIMITS = { fileLines: 470, functionLines: 60, lineChars: 140 };
const files = ['src', 'webview']
  .flatMap((dir) => fs.readdirSync(dir, { recursive: true }).map((f) => path.join(dir, f)))
  .filter((f) => f.endsWith('.ts'));
const over = [];
for (const file of files) {
  const text = fs.readFileSync(file, 'utf8');
  const lines = text.split('\n');
  if (lines.length > LIMITS.fileLines) over.push(`${file}: ${lines.length} lines (at most ${LIMITS.fileLines})`);
  lines.forEach((l, i) => {
    if (l.length > LIMITS.lineChars)
      over.push(`${file}:${i + 1}: ${l.length} characters (at most ${LIMITS.lineChars})`);
  });
  const source = ts.createSourceFile(file, text, ts.ScriptTarget.ES2022, true);
  const visit = (node) => {
    if (ts.isFunctionLike(node) && 'body' in node && node.body) {
      const start = source.getLineAndCharacterOfPosition(node.body.getStart()).line;
      const end = source.getLineAndCharacterOfPosition(node.body.getEnd()).line;
      if (end - start + 1 > LIMITS.functionLines) {
        const name =
          node.name?.getText() ?? (ts.isVariableDeclaration(node.parent) ? node.parent.name.getText() : '(anonymous)');
        over.push(
          `${file}:${start + 1}: function ${name} is ${end - start + 1} lines (at most ${LIMITS.functionLines})`,
        );
      }
    }
    ts.forEachChild(node, visit);
  };
  visit(source);
}
if (over.length) {
  console.error(`${over.length} over the limits:\n  ${over.join('\n  ')}`);
  process.exit(1);
}
console.log(
  `ok: ${files.length} files within ${LIMITS.fileLines} lines, functions within ${LIMITS.functionLines}, lines within ${LIMITS.lineChars} characters`,
);
