// npm run test:package — builds the .vsix and checks what it holds: the bundles, media, the
// manifest, README and LICENSE; no sources, tests or source maps.
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

const vsce = path.resolve('node_modules/.bin/vsce');
execFileSync(process.execPath, ['esbuild.mjs', '--production'], { stdio: 'inherit' });
const files = execFileSync(vsce, ['ls', '--no-dependencies'], { encoding: 'utf8' }).trim().split('\n').map((f) => f.trim()).sort();
const allowed = /^(dist\/(extension|gateway|webview)\.js|media\/[\w.-]+\.(css|svg)|package\.json|README\.md|LICENSE)$/;
const bad = files.filter((f) => !allowed.test(f));
const out = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'rlm-vsix-')), 'llm-rate-limit-monitor.vsix');
execFileSync(vsce, ['package', '--no-dependencies', '--no-rewrite-relative-links', '--skip-license', '-o', out], { stdio: ['ignore', 'ignore', 'inherit'] });
execFileSync(process.execPath, ['esbuild.mjs'], { stdio: 'ignore' }); // back to the development build
const size = fs.statSync(out).size;
console.log(`vsix: ${files.length} files (${files.join(', ')}), ${(size / 1024 / 1024).toFixed(2)} MB`);
if (bad.length) {
  console.error(`the .vsix would hold files it must not: ${bad.join(', ')}`);
  process.exit(1);
}
console.log('ok: only bundles, media, manifest, README and LICENSE');
