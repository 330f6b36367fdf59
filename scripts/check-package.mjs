// npm run test:package — checks that the manifest's settings say what src/core/defaults.ts says
// (defaults, provider presets), then builds the .vsix and checks what it holds: the bundles,
// media, the manifest, README and LICENSE; no sources, tests or source maps.
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

import { PROVIDER_PRESETS, SETTING_DEFAULTS } from '../src/core/defaults.ts';

const manifest = JSON.parse(fs.readFileSync('package.json', 'utf8'));
const settings = Object.assign({}, ...[manifest.contributes.configuration].flat().map((c) => c.properties));
const drift = [];
for (const [name, value] of Object.entries(SETTING_DEFAULTS)) {
  const declared = settings[`rateLimitMonitor.${name}`];
  if (!declared) drift.push(`rateLimitMonitor.${name}: in src/core/defaults.ts, not in package.json`);
  else if (JSON.stringify(declared.default) !== JSON.stringify(value))
    drift.push(
      `rateLimitMonitor.${name}: package.json says ${JSON.stringify(declared.default)}, src/core/defaults.ts ${JSON.stringify(value)}`,
    );
}
const presets = settings['rateLimitMonitor.provider']?.enum ?? [];
if (JSON.stringify(presets) !== JSON.stringify(Object.keys(PROVIDER_PRESETS)))
  drift.push(
    `rateLimitMonitor.provider: package.json offers ${presets.join(', ')}; src/core/defaults.ts ${Object.keys(PROVIDER_PRESETS).join(', ')}`,
  );
// The manifest's words come from package.nls.json (English) and package.nls.<locale>.json: every
// %key% the manifest uses is in each, and each holds no key the manifest does not use.
const used = new Set([...fs.readFileSync('package.json', 'utf8').matchAll(/"%([\w.-]+)%"/g)].map((m) => m[1]));
for (const file of fs.readdirSync('.').filter((f) => /^package\.nls(\.[\w-]+)?\.json$/.test(f))) {
  const keys = new Set(Object.keys(JSON.parse(fs.readFileSync(file, 'utf8'))));
  for (const k of used) if (!keys.has(k)) drift.push(`${file}: no text for %${k}% (package.json uses it)`);
  for (const k of keys) if (!used.has(k)) drift.push(`${file}: '${k}' is used nowhere in package.json`);
}
if (drift.length) {
  console.error(`the manifest, its translations and src/core/defaults.ts disagree:\n  ${drift.join('\n  ')}`);
  process.exit(1);
}
console.log(
  `ok: package.json declares the defaults of ${Object.keys(SETTING_DEFAULTS).length} settings and the ${presets.length} provider presets of src/core/defaults.ts`,
);

const vsce = path.resolve('node_modules/.bin/vsce');
execFileSync(process.execPath, ['esbuild.mjs', '--production'], { stdio: 'inherit' });
const files = execFileSync(vsce, ['ls', '--no-dependencies'], { encoding: 'utf8' })
  .trim()
  .split('\n')
  .map((f) => f.trim())
  .sort();
const allowed =
  /^(dist\/(extension|gateway|webview)\.js|media\/[\w.-]+\.(css|svg)|package\.json|package\.nls(\.[\w-]+)?\.json|l10n\/bundle\.l10n(\.[\w-]+)?\.json|README\.md|LICENSE)$/;
const bad = files.filter((f) => !allowed.test(f));
const out = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'rlm-vsix-')), 'llm-rate-limit-monitor.vsix');
execFileSync(vsce, ['package', '--no-dependencies', '--no-rewrite-relative-links', '--skip-license', '-o', out], {
  stdio: ['ignore', 'ignore', 'inherit'],
});
execFileSync(process.execPath, ['esbuild.mjs'], { stdio: 'ignore' }); // back to the development build
const size = fs.statSync(out).size;
console.log(`vsix: ${files.length} files (${files.join(', ')}), ${(size / 1024 / 1024).toFixed(2)} MB`);
if (bad.length) {
  console.error(`the .vsix would hold files it must not: ${bad.join(', ')}`);
  process.exit(1);
}
console.log('ok: only bundles, media, the manifest and its translations, README and LICENSE');
