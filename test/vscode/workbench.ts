/**
 * The workbench as the UI tests drive it: code-server with the extension in development, opened
 * in Debian Chromium, and what a user does in it (the command palette, the colour theme picker)
 * and where the webviews are (their frames).
 */
import path from 'node:path';
import type { Frame, Page } from 'playwright-core';
import type { SuiteEnvironment } from './environment';
import { launchChromium, startCodeServer } from './runServer';

export const STATUS_ID = 'rate-limit-monitor.llm-rate-limit-monitor.rateLimitMonitor.quota';
export const RESULTS = path.resolve('test-results');

let page: Page;

/** Run a command from the palette as a user does: type its title, choose its row (by command id). */
export async function palette(title: string, commandId: string): Promise<void> {
  await page.keyboard.press('F1');
  const input = page.locator('.quick-input-widget input.input');
  await input.waitFor({ state: 'visible', timeout: 10_000 });
  await input.fill(`>${title}`);
  const row = page.locator(`.quick-input-widget [data-quick-input-id="${commandId}"]`).first();
  await row.waitFor({ timeout: 10_000 });
  await row.click();
}

/** Webviews live in overlay iframes, not inside their parts: find the frame that shows `selector`. */
export async function frameWith(selector: string, ms = 20_000): Promise<Frame> {
  const end = Date.now() + ms;
  while (Date.now() < end) {
    for (const f of page.frames()) {
      if (await f.$(selector).catch(() => null)) return f;
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`no webview frame shows ${selector}`);
}

/** Switch the colour theme through its own quick pick, as a user does. */
export async function colorTheme(label: string, bodyClass: string): Promise<void> {
  await palette('Preferences: Color Theme', 'workbench.action.selectTheme');
  const input = page.locator('.quick-input-widget input.input');
  await input.fill(label);
  await page
    .locator('.quick-input-widget .monaco-list-row', { hasText: label })
    .first()
    .waitFor({ timeout: 10_000 })
    .catch(async (e: unknown) => {
      console.log('theme rows:', await page.locator('.quick-input-widget .monaco-list-row').allInnerTexts());
      await page.screenshot({ path: path.join(RESULTS, 'theme-picker-failure.png') });
      throw e;
    });
  await page.keyboard.press('Enter');
  await page
    .waitForFunction((cls) => document.querySelector('.monaco-workbench')?.classList.contains(cls), bodyClass, {
      timeout: 15_000,
    })
    .catch(async (e: unknown) => {
      await page.screenshot({ path: path.join(RESULTS, `theme-failure-${bodyClass}.png`) });
      console.log(
        'workbench classes:',
        await page.evaluate(() => document.querySelector('.monaco-workbench')?.className),
      );
      throw e;
    });
  await new Promise((r) => setTimeout(r, 700)); // the webview re-themes from the new --vscode-* variables
}

/** code-server with the extension in development, the workbench open on the suite's folder. */
export async function openWorkbench(suite: SuiteEnvironment, extraArgs: string[] = []) {
  const server = await startCodeServer(suite, ['--vscode-option', 'enable-smoke-test-driver', ...extraArgs]);
  const browser = await launchChromium();
  page = await (await browser.newContext({ viewport: { width: 1400, height: 900 } })).newPage();
  const payload = [['extensionDevelopmentPath', `vscode-remote://remote${path.resolve('.')}`]];
  await page.goto(
    `http://127.0.0.1:${server.port}/?folder=${encodeURIComponent(suite.workspaceFolder)}&payload=${encodeURIComponent(JSON.stringify(payload))}`,
  );
  await page.waitForSelector('.monaco-workbench', { timeout: 90_000 });
  await page.locator(`[id="${STATUS_ID}"]`).waitFor({ state: 'visible', timeout: 90_000 });
  return { server, browser, page };
}
