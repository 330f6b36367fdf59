/**
 * The Chinese bundle against the code: every string the code translates (vscode.l10n.t and
 * @vscode/l10n's t, as @vscode/l10n-dev extracts them) has a translation, none is left over,
 * and each keeps the placeholders of its English text. The manifest's own translations
 * (package.nls.*.json) are checked by npm run test:package.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import * as l10n from '@vscode/l10n';
import { getL10nJson } from '@vscode/l10n-dev';
import { statusView } from '../../src/extension/logic/statusView';

const read = (file: string) => JSON.parse(fs.readFileSync(file, 'utf8')) as Record<string, string>;

function sources(dir: string): string[] {
  return fs
    .readdirSync(dir, { withFileTypes: true })
    .flatMap((e) =>
      e.isDirectory() ? sources(path.join(dir, e.name)) : e.name.endsWith('.ts') ? [path.join(dir, e.name)] : [],
    );
}

const placeholders = (s: string) => [...s.matchAll(/\{\d+\}/g)].map((m) => m[0]).sort();

describe('translations', () => {
  it('the bundles hold exactly the strings the code translates, with their placeholders', async () => {
    const files = [...sources('src'), ...sources('webview')].map((f) => ({
      extension: '.ts',
      contents: fs.readFileSync(f, 'utf8'),
    }));
    const used = Object.keys(await getL10nJson(files)).sort();
    assert.ok(used.length > 20, `only ${used.length} strings found: is the extraction broken?`);
    assert.deepEqual(
      Object.keys(read('l10n/bundle.l10n.json')).sort(),
      used,
      'l10n/bundle.l10n.json is stale: run npm run l10n:export',
    );
    const zh = read('l10n/bundle.l10n.zh-cn.json');
    assert.deepEqual(
      used.filter((k) => !(k in zh)),
      [],
      'strings without a Chinese translation',
    );
    assert.deepEqual(
      Object.keys(zh).filter((k) => !used.includes(k)),
      [],
      'translations no code uses',
    );
    for (const k of used) assert.deepEqual(placeholders(zh[k]!), placeholders(k), `placeholders of "${k}"`);
  });

  it('the status bar speaks Chinese with the Chinese bundle', () => {
    l10n.config({ contents: read('l10n/bundle.l10n.zh-cn.json') });
    const v = statusView(undefined, 'qwen-plus', 'default', 0.8, 0, true);
    assert.equal(v.text, '$(key) 限流：未设置 API Key');
    assert.match(v.tooltip, /工作空间 `default` 没有服务商 API Key/);
    l10n.config({ contents: {} });
    assert.equal(statusView(undefined, 'qwen-plus', 'default', 0.8, 0, true).text, '$(key) Rate limits: no API key');
  });
});
