/**
 * The same workbench with the display language set to 简体中文 (code-server's --locale zh-cn,
 * with a stand-in language pack so that zh-cn is a language it has): the extension's command
 * titles, a notification, the status-bar tooltip, the monitor's tabs and the sidebar speak
 * Chinese, and the sidebar holds its layout at its default ~300 px. Screenshots, dark and
 * light, land in test-results/.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import OpenAI from 'openai';
import type { Browser, Page } from 'playwright-core';
import { prepareSuite, standInLanguagePack, type SuiteEnvironment } from './environment';
import type { startCodeServer } from './runServer';
import { colorTheme, frameWith, openWorkbench, palette, RESULTS, STATUS_ID } from './workbench';

let page: Page;
const THEMES = [
  ['Dark Modern', 'vs-dark', 'dark'],
  ['Light Modern', 'vs', 'light'],
] as const;

describe('UI in Chinese (code-server --locale zh-cn)', { timeout: 240_000 }, () => {
  let suite: SuiteEnvironment;
  let server: Awaited<ReturnType<typeof startCodeServer>>;
  let browser: Browser;

  before(async () => {
    fs.mkdirSync(RESULTS, { recursive: true });
    suite = await prepareSuite();
    standInLanguagePack(suite, 'zh-cn');
    if (!fs.existsSync('dist/extension.js')) throw new Error('dist/extension.js is missing: run `npm run build` first');
    ({ server, browser, page } = await openWorkbench(suite, ['--locale', 'zh-cn']));
    // traffic, so the views have numbers to show
    const tokenFile = path.join(suite.env.RLM_STATE_DIR!, 'token');
    for (let i = 0; i < 200 && !fs.existsSync(tokenFile); i++) await new Promise((r) => setTimeout(r, 50));
    const gateway = `http://127.0.0.1:${suite.gatewayPort}`;
    const client = new OpenAI({ baseURL: `${gateway}/v1`, apiKey: fs.readFileSync(tokenFile, 'utf8').trim() });
    for (let i = 0; i < 3; i++)
      await client.chat.completions.create({ model: 'qwen-plus', messages: [{ role: 'user', content: `zh ${i}` }] });
  });

  after(async () => {
    await browser?.close().catch(() => undefined);
    server?.child.kill('SIGTERM');
    suite?.dispose();
  });

  it('titles the commands in Chinese in the command palette', async () => {
    await page.keyboard.press('F1');
    await page.locator('.quick-input-widget input.input').fill('>限流监控');
    const row = page.locator('.quick-input-widget [data-quick-input-id="rateLimitMonitor.openMonitor"]').first();
    await row.waitFor({ timeout: 10_000 });
    assert.match(await row.innerText(), /限流监控: 打开监控/);
    const setLimits = page.locator('.quick-input-widget [data-quick-input-id="rateLimitMonitor.sendTestRequest"]');
    assert.match(await setLimits.first().innerText(), /限流监控: 发送测试请求/);
    await page.keyboard.press('Escape');
  });

  it('says what a command did in a Chinese notification', async () => {
    await palette('限流监控: 发送测试请求', 'rateLimitMonitor.sendTestRequest');
    // a development-host window keeps notifications in the notification centre rather than as toasts
    await palette('Notifications: Show Notifications', 'notifications.showList');
    const toast = page.locator('.notification-list-item', { hasText: '测试请求由' });
    await toast
      .first()
      .waitFor({ timeout: 20_000 })
      .catch(async (e: unknown) => {
        console.log(
          'notifications:',
          await page.locator('.notification-toast, .notification-list-item').allInnerTexts(),
        );
        await page.screenshot({ path: path.join(RESULTS, 'vscode-zh-notification-failure.png') });
        throw e;
      });
    assert.match(await toast.first().innerText(), /测试请求由 qwen-plus 应答：\d+ 个 Token，首 Token 延迟/);
    await page.screenshot({ path: path.join(RESULTS, 'vscode-zh-notification.png') });
    await palette('Notifications: Hide Notifications', 'notifications.hideList');
  });

  it('shows the status-bar tooltip in Chinese', async () => {
    await page.locator(`[id="${STATUS_ID}"]`).hover();
    const hover = page.locator('.monaco-hover, .workbench-hover', { hasText: '账号限额' });
    await hover.first().waitFor({ state: 'visible', timeout: 10_000 });
    const text = await hover.first().innerText();
    assert.match(text, /qwen-plus — 账号限额/);
    assert.match(text, /已用/);
    assert.match(text, /打开监控/);
    await page.screenshot({ path: path.join(RESULTS, 'vscode-zh-tooltip.png') });
    await page.mouse.move(700, 400);
  });

  it('shows the monitor and the sidebar in Chinese, dark and light; the ~300 px sidebar does not overflow', async () => {
    await palette('限流监控: 打开监控', 'rateLimitMonitor.openMonitor');
    const monitor = await frameWith('[data-tab="Overview"]');
    await page.locator('.tabs-container .tab', { hasText: 'LLM 限流监控' }).waitFor({ timeout: 5_000 });
    const tabs = await monitor.locator('[data-tab]').allInnerTexts();
    assert.deepEqual(
      tabs.map((t) => t.trim()),
      ['概览', '图表', '限流', '请求', '批量推理任务'],
    );
    await palette('View: Show 限流', 'workbench.view.extension.rateLimits');
    const side = await frameWith('[data-side="calls"]');
    const layout = await side.locator('body').evaluate(() => ({
      width: window.innerWidth,
      overflow: document.documentElement.scrollWidth - document.documentElement.clientWidth,
      clipped: [...document.querySelectorAll('.meter-row, li, h2, button, vscode-button')].filter(
        (e) => e.scrollWidth > e.clientWidth + 1,
      ).length,
    }));
    assert.ok(layout.width >= 240 && layout.width <= 320, `the sidebar is ${layout.width} px wide, not ~300`);
    assert.equal(layout.overflow, 0, 'the sidebar scrolls sideways');
    assert.equal(layout.clipped, 0, 'an element of the sidebar is wider than its box');
    for (const [theme, cls, name] of THEMES) {
      await colorTheme(theme, cls);
      for (const tab of ['Overview', 'Rate Limit']) {
        await monitor.locator(`[data-tab="${tab}"]`).click();
        await monitor.locator(`[data-panel="${tab}"]`).waitFor({ timeout: 5_000 });
        await new Promise((r) => setTimeout(r, 200));
        const file = `vscode-zh-${tab.replace(' ', '-').toLowerCase()}-${name}.png`;
        await page.screenshot({ path: path.join(RESULTS, file) });
      }
    }
    assert.match(await monitor.locator('[data-panel="Rate Limit"] th[data-key="account"]').innerText(), /账号限额/);
  });
});
