/**
 * The Chinese bundle against the code: every string the code translates (vscode.l10n.t and
 * @vscode/l10n's t, as @vscode/l10n-dev extracts them) has a translation, none is left over,
 * and each keeps the placeholders of its English text. The manifest's own translations
 * (package.nls.*.json) are checked by npm run test:package.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import * as l10n from '@vscode/l10n';
// @ts-expect-error: a plain-JS script, shared with npm run l10n:export
import { usedStrings } from '../../scripts/l10n-export.mjs';
import { statusView } from '../../src/extension/logic/statusView';
import { formatCount, formatDuration, setFormatLocale } from '../../src/core/format';
import { waitText } from '../../src/core/protocol';
import { teamWarning, type TeamStatus } from '../../src/core/team';

const read = (file: string) => JSON.parse(fs.readFileSync(file, 'utf8')) as Record<string, string>;

const placeholders = (s: string) => [...s.matchAll(/\{\d+\}/g)].map((m) => m[0]).sort();

describe('translations', () => {
  it('the bundles hold exactly the strings the code translates, with their placeholders', async () => {
    const used = Object.keys(await usedStrings()).sort();
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

  it('explains a wait in Chinese, with numbers and durations in the Chinese locale', () => {
    const wait = {
      waiting: 3,
      oldestMs: 2_100,
      nextInMs: 400,
      binds: 'tps' as const,
      onKey: 'workspace:ws-a:m',
      cost: 1,
    };
    const withFallback = { ...wait, fallback: { model: 'qwen-turbo', startInMs: 0 } };
    try {
      l10n.config({ contents: read('l10n/bundle.l10n.zh-cn.json') });
      setFormatLocale('zh-CN');
      assert.equal(
        waitText(withFallback, 'account:m', l10n),
        '3 个在等待；第一个已等 2.1秒，0.4秒后轮到它；限制因素：TPS（每秒 Token 数）（在工作空间 ws-a）。' +
          '超过最长排队时间后将转到 qwen-turbo（现在空闲）。',
      );
      assert.equal(formatCount(1_000_000), '100万');
      assert.equal(formatDuration(12 * 60_000), '12分钟');
      assert.match(
        teamWarning({ state: 'offline', share: { of: 3 } } as TeamStatus, l10n)!,
        /^团队存储离线 — 本机份额 1\/3$/,
      );
    } finally {
      l10n.config({ contents: {} });
      setFormatLocale('en');
    }
    // and English stays in the house style
    assert.equal(
      waitText(wait, 'account:m', l10n),
      '3 waiting; the first for 2.1 s, its turn in 0.4 s: TPS, tokens per second binds on workspace ws-a',
    );
    assert.equal(formatDuration(12 * 60_000), '12 min');
  });
});
