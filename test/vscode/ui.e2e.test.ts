/**
 * UI end to end: the extension in code-server, driven through the real workbench with
 * Playwright and Debian Chromium. Traffic goes through the gateway to the fake provider;
 * the status bar and the monitor are checked against the gateway's own numbers, commands
 * run from the command palette, and screenshots land in test-results/ (light and dark).
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import OpenAI from 'openai';
import type { Browser, Page } from 'playwright-core';
import type { GatewayState, MetricsResponse } from '../../src/core/protocol';
import { listBatchJobs, submitBatchFile } from '../../src/gateway/batchApi';
import { prepareSuite, type SuiteEnvironment } from './environment';
import type { startCodeServer } from './runServer';
import { colorTheme, frameWith, openWorkbench, palette, RESULTS, STATUS_ID } from './workbench';

let page: Page;

describe('UI end to end in code-server (Playwright + Chromium)', { timeout: 240_000 }, () => {
  let suite: SuiteEnvironment;
  let server: Awaited<ReturnType<typeof startCodeServer>>;
  let browser: Browser;
  let token: string;
  let gateway: string;
  const control = async <T>(p: string) =>
    (await (await fetch(`${gateway}${p}`, { headers: { authorization: `Bearer ${token}` } })).json()) as T;

  before(async () => {
    fs.mkdirSync(RESULTS, { recursive: true });
    suite = await prepareSuite();
    if (!fs.existsSync('dist/extension.js')) throw new Error('dist/extension.js is missing: run `npm run build` first');
    ({ server, browser, page } = await openWorkbench(suite));
    gateway = `http://127.0.0.1:${suite.gatewayPort}`;
    const tokenFile = path.join(suite.env.RLM_STATE_DIR!, 'token');
    for (let i = 0; i < 200 && !fs.existsSync(tokenFile); i++) await new Promise((r) => setTimeout(r, 50));
    token = fs.readFileSync(tokenFile, 'utf8').trim();
    // the status bar appears at activation; the gateway binds a moment later, in the background
    for (let i = 0; i < 200; i++) {
      const ok = await fetch(`${gateway}/_rlm/health`, { headers: { authorization: `Bearer ${token}` } }).then(
        (r) => r.ok,
        () => false,
      );
      if (ok) break;
      await new Promise((r) => setTimeout(r, 50));
    }
  });

  after(async () => {
    await browser?.close().catch(() => undefined);
    server?.child.kill('SIGTERM');
    suite?.dispose();
  });

  it("shows the gateway's numbers in the status bar after traffic", async () => {
    const client = new OpenAI({ baseURL: `${gateway}/v1`, apiKey: token, maxRetries: 0 });
    for (let i = 0; i < 5; i++)
      await client.chat.completions.create({
        model: 'qwen-plus',
        messages: [{ role: 'user', content: `ui traffic ${i}` }],
      });
    const state = await control<GatewayState>('/_rlm/state');
    const key = state.keys.find((k) => k.key === 'account:qwen-plus')!;
    const expected = `qwen-plus ${key.minute.requests}/${key.minute.requestLimit} RPM`;
    await page.waitForFunction(
      ([id, text]) => document.getElementById(id!)?.innerText.includes(text!),
      [STATUS_ID, expected],
      { timeout: 10_000 },
    );
    assert.match(await page.locator(`[id="${STATUS_ID}"]`).innerText(), /qwen-plus 5\/600 RPM/);
  });

  it('runs Set Account Limits from the command palette: an invalid limit is refused with its message, a valid one applied', async () => {
    await page
      .locator('.monaco-workbench .part.editor')
      .click({ position: { x: 300, y: 300 } })
      .catch(() => undefined);
    await palette('Rate Limit Monitor: Set Account Limits for a Model', 'rateLimitMonitor.setAccountLimits');
    await page
      .locator('.quick-input-widget .monaco-list-row', { hasText: 'qwen-plus' })
      .first()
      .waitFor({ timeout: 10_000 });
    await page.locator('.quick-input-widget input.input').fill('qwen-plus');
    await page.keyboard.press('Enter');
    // the same widget turns into step 2's input box: wait for it, titled with the command and its step
    await page.waitForFunction(
      () =>
        /Requests per minute/.test(
          (document.querySelector('.quick-input-widget') as HTMLElement | null)?.innerText ?? '',
        ),
      undefined,
      { timeout: 10_000 },
    );
    assert.match(
      await page.locator('.quick-input-widget .quick-input-title').innerText(),
      /Set Account Limits: qwen-plus[\s\S]*2\/3/,
    );
    const input = page.locator('.quick-input-widget input.input');
    await input.fill('lots');
    const message = page.locator('.quick-input-widget .quick-input-message');
    await page.waitForFunction(
      () =>
        /is not a whole number above 0/.test(
          document.querySelector('.quick-input-widget .quick-input-message')?.textContent ?? '',
        ),
      undefined,
      { timeout: 5_000 },
    );
    assert.match(await message.innerText(), /"lots" is not a whole number above 0/);
    await page.screenshot({ path: path.join(RESULTS, 'palette-invalid-limit.png') });
    await page.keyboard.press('Enter'); // refused: the box stays open
    assert.ok(await input.isVisible(), 'an invalid value does not close the input box');
    await input.fill('6');
    await page.keyboard.press('Enter');
    await page.waitForFunction(
      () =>
        /Tokens per minute/.test(
          document.querySelector(
            '.quick-input-widget .quick-input-message, .quick-input-widget .quick-input-title, .quick-input-widget',
          )?.textContent ?? '',
        ),
      undefined,
      { timeout: 5_000 },
    );
    await page.keyboard.press('Enter'); // keep the TPM
    const deadline = Date.now() + 10_000;
    let rpm = 0;
    while (Date.now() < deadline && rpm !== 6) {
      rpm = (await control<GatewayState>('/_rlm/state')).keys.find((k) => k.key === 'account:qwen-plus')!.configured
        .rpm;
      await new Promise((r) => setTimeout(r, 100));
    }
    assert.equal(rpm, 6, 'the gateway applied the new limit');
    await page.waitForFunction(
      (id) => /qwen-plus \d+\/6 RPM/.test(document.getElementById(id)?.innerText ?? ''),
      STATUS_ID,
      { timeout: 10_000 },
    );
  });

  it('turns the status bar to the warning colour near the limit', async () => {
    // 5 requests in the last minute against 6 RPM: 83 %, over the default 80 % threshold
    await page.waitForFunction((id) => document.getElementById(id)?.classList.contains('warning-kind'), STATUS_ID, {
      timeout: 15_000,
    });
    const colours = await page.evaluate((id) => {
      const plain = [...document.querySelectorAll('.statusbar-item')].find(
        (e) => e.id !== id && !e.classList.contains('has-background-color'),
      );
      return {
        item: getComputedStyle(document.getElementById(id)!).backgroundColor,
        plain: plain ? getComputedStyle(plain).backgroundColor : 'none',
      };
    }, STATUS_ID);
    assert.notEqual(colours.item, colours.plain, 'the item stands out from the plain ones');
    assert.notEqual(colours.item, 'rgba(0, 0, 0, 0)');
    await page.locator(`[id="${STATUS_ID}"]`).screenshot({ path: path.join(RESULTS, 'status-bar-warning.png') });
  });

  it('opens the "Rate Limits" container: the sidebar\'s numbers match the gateway', async () => {
    await palette('View: Show Rate Limits', 'workbench.view.extension.rateLimits');
    const side = await frameWith('[data-side="calls"]');
    const metrics = await control<MetricsResponse>('/_rlm/metrics?window=1h');
    await side
      .locator('[data-side="calls"]', { hasText: String(metrics.summary.totalCalls) })
      .waitFor({ timeout: 5_000 });
    const state = await control<GatewayState>('/_rlm/state');
    const plus = state.keys.find((k) => k.key === 'account:qwen-plus')!;
    const rpm = side.locator('li[data-model="qwen-plus"] [role="meter"]').first();
    assert.equal(await rpm.getAttribute('aria-valuemax'), String(plus.minute.requestLimit));
    assert.equal(await rpm.getAttribute('aria-valuenow'), String(plus.minute.requests));
    await page.screenshot({ path: path.join(RESULTS, 'sidebar.png') });
  });

  it('opens the monitor from the status bar; its numbers match the gateway; every tab in dark and light', async () => {
    await page.locator(`[id="${STATUS_ID}"]`).click();
    const frame = await frameWith('[data-card="Total Calls"]');
    const metrics = await control<MetricsResponse>('/_rlm/metrics?window=1h');
    assert.equal(await frame.locator('[data-card="Total Calls"]').innerText(), String(metrics.summary.totalCalls));
    assert.equal(await frame.locator('[data-card="Total Models"]').innerText(), String(metrics.summary.totalModels));
    assert.equal(
      await frame.locator('tr[data-model="qwen-plus"] td').nth(4).innerText(),
      String(metrics.rows.find((r) => r.model === 'qwen-plus')!.totalCalls),
    );
    // a finished Batch API job, so the Batch Jobs tab has something to show
    const batchClient = new OpenAI({ baseURL: `${gateway}/v1`, apiKey: token, maxRetries: 0 });
    const batchFile = path.join(RESULTS, 'ui-batch.jsonl');
    fs.writeFileSync(
      batchFile,
      ['a', 'b']
        .map((id) =>
          JSON.stringify({
            custom_id: id,
            method: 'POST',
            url: '/v1/chat/completions',
            body: { model: 'qwen-plus', messages: [{ role: 'user', content: id }] },
          }),
        )
        .join('\n'),
    );
    const job = await submitBatchFile(batchClient, batchFile);
    for (
      let i = 0;
      i < 50 && (await listBatchJobs(batchClient)).find((j) => j.id === job.id)?.status !== 'completed';
      i++
    )
      await new Promise((r) => setTimeout(r, 100));
    // a night's evaluation on the background lane: the Rate Limit tab advises the Batch API
    await Promise.all(
      Array.from({ length: 20 }, (_, i) =>
        batchClient.chat.completions.create(
          { model: 'qwen-turbo', messages: [{ role: 'user', content: `eval ${i}` }] },
          { headers: { 'x-rlm-priority': 'background', 'x-rlm-source': 'nightly-eval' } },
        ),
      ),
    );
    // costs from the suite's prices: the card says what the gateway's summary says
    const priced = await control<MetricsResponse>('/_rlm/metrics?window=1h');
    assert.ok(priced.summary.cost && priced.summary.cost.amount > 0, JSON.stringify(priced.summary.cost));
    await frame.locator('[data-card="Est. Cost"]', { hasText: '$' }).waitFor({ timeout: 10_000 });
    for (const [theme, cls] of [
      ['Dark Modern', 'vs-dark'],
      ['Light Modern', 'vs'],
    ] as const) {
      await colorTheme(theme, cls);
      for (const tab of ['Overview', 'Charts', 'Rate Limit', 'Requests', 'Batch Jobs']) {
        await frame.locator(`[data-tab="${tab}"]`).click();
        await frame.locator(`[data-panel="${tab}"]`).waitFor({ timeout: 5_000 });
        if (tab === 'Rate Limit')
          await frame
            .locator('[data-advice] li[data-advice-kind="use-batch"][data-model="qwen-turbo"]', {
              hasText: 'Batch API',
            })
            .waitFor({ timeout: 10_000 });
        if (tab === 'Batch Jobs')
          await frame
            .locator(`tr[data-job="${job.id}"][data-status="completed"] [data-download]`)
            .waitFor({ timeout: 5_000 });
        await new Promise((r) => setTimeout(r, 200));
        await page.screenshot({
          path: path.join(
            RESULTS,
            `vscode-${tab.replace(' ', '-').toLowerCase()}-${cls === 'vs' ? 'light' : 'dark'}.png`,
          ),
        });
      }
    }
    // high contrast: the views draw their borders from the theme's contrast colours
    await colorTheme('Dark High Contrast', 'hc-black');
    await frame.locator('[data-tab="Overview"]').click();
    await frame.locator('[data-panel="Overview"]').waitFor({ timeout: 5_000 });
    await new Promise((r) => setTimeout(r, 200));
    const cardBorder = await frame
      .locator('.card')
      .first()
      .evaluate((e) => getComputedStyle(e).borderTopColor);
    assert.notEqual(cardBorder, 'rgba(0, 0, 0, 0)', 'cards have a visible border in high contrast');
    await page.screenshot({ path: path.join(RESULTS, 'vscode-overview-hc.png') });
    // live: a new record shows without a reload
    const before = Number(await frame.locator('[data-card="Total Calls"]').innerText());
    const client = new OpenAI({ baseURL: `${gateway}/v1`, apiKey: token, maxRetries: 0 });
    await client.chat.completions.create({ model: 'qwen-turbo', messages: [{ role: 'user', content: 'live update' }] });
    await frame.locator('[data-card="Total Calls"]', { hasText: String(before + 1) }).waitFor({ timeout: 5_000 });
  });

  it('Rate Limit tab in VS Code: saving a row during an increase keeps the account limit; End ends the increase', async () => {
    // The edit box had been filled from the effective limit, so a Save made the increase permanent.
    const frame = await frameWith('[data-tab="Rate Limit"]'); // the monitor, whichever tab it shows
    const settingsFile = path.join(suite.userDataDir, 'User', 'settings.json');
    // VS Code rewrites settings.json in place: a read in the middle of that sees a cut file.
    // Such a read counts as "not yet" (undefined), and the assertions below poll.
    const userModels = () => {
      try {
        return (
          JSON.parse(fs.readFileSync(settingsFile, 'utf8')) as {
            'rateLimitMonitor.models'?: Record<string, { rpm: number; tpm: number }>;
          }
        )['rateLimitMonitor.models'];
      } catch (e) {
        if (e instanceof SyntaxError) return undefined;
        throw e;
      }
    };
    const turbo = async () =>
      (await control<GatewayState>('/_rlm/state')).keys.find((k) => k.key === 'account:qwen-turbo')!;
    const accountTpm = (await turbo()).configured.tpm;
    await frame.locator('[data-tab="Rate Limit"]').click();
    await frame.locator('details.increase summary').click();
    await frame.locator('[data-increase="model"]').selectOption('qwen-turbo');
    await frame.locator('[data-increase="tpm"]').fill(String(accountTpm * 2));
    await frame.locator('[data-increase="apply"]').click();
    const row = frame.locator('tr[data-key="account:qwen-turbo"]');
    await row.locator('[data-increase-badge="qwen-turbo"]').waitFor({ timeout: 10_000 });
    assert.equal(
      await row.locator('[data-edit="tpm"]').inputValue(),
      String(accountTpm),
      'the edit box holds the account limit',
    );
    await row.locator('[data-edit="rpm"]').fill('555');
    await row.locator('[data-save]').click();
    let saved: { rpm: number; tpm: number } | undefined;
    await eventually(() => (saved = userModels()?.['qwen-turbo'])?.rpm === 555, 'the user settings hold the new RPM');
    assert.equal(saved!.tpm, accountTpm, 'the settings keep the account TPM, not the increase');
    await eventually(async () => (await turbo()).configured.tpm === accountTpm * 2, 'the increase is still in force');
    await frame.locator('[data-end-increase="qwen-turbo"]').click();
    await frame.locator('[data-increase-badge="qwen-turbo"]').waitFor({ state: 'detached', timeout: 10_000 });
    await eventually(async () => (await turbo()).configured.tpm === accountTpm, 'back to the account limit');
  });

  it('Charts tab in VS Code: one named model, chosen with a picker', async () => {
    const frame = await frameWith('[data-tab="Rate Limit"]'); // the monitor, whichever tab it shows
    await frame.locator('[data-tab="Charts"]').click();
    const picker = frame.locator('[data-chart-model]');
    await picker.waitFor({ timeout: 5_000 });
    const shown = await picker.inputValue();
    assert.match(
      await frame.locator('[data-panel="Charts"] figcaption').first().innerText(),
      new RegExp(`Requests per minute — ${shown}`),
    );
    const other = shown === 'qwen-turbo' ? 'qwen-plus' : 'qwen-turbo';
    await picker.selectOption(other);
    await frame
      .locator('[data-panel="Charts"] figcaption', { hasText: `Requests per minute — ${other}` })
      .waitFor({ timeout: 5_000 });
  });

  it('counts local refusals apart from provider 429s; explains a wait, with screenshots; keeps focus under traffic', async () => {
    const frame = await frameWith('[data-tab="Rate Limit"]'); // the monitor, whichever tab it shows
    await frame.locator('[data-tab="Overview"]').click();
    // qwen-plus is at 6 RPM since the palette test: a request that may not wait is refused here, not by the provider
    const plus = (await control<GatewayState>('/_rlm/state')).keys.find((k) => k.key === 'account:qwen-plus')!;
    assert.equal(plus.configured.rpm, 6, 'the palette test left qwen-plus at 6 RPM');
    const refuse = () =>
      fetch(`${gateway}/v1/chat/completions`, {
        method: 'POST',
        headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json', 'x-rlm-max-wait-ms': '0' },
        body: JSON.stringify({ model: 'qwen-plus', messages: [{ role: 'user', content: 'no wait' }] }),
      });
    for (let i = 0; i < 6; i++) await refuse();
    const metrics = await control<MetricsResponse>('/_rlm/metrics?window=1h');
    assert.ok(metrics.summary.localRejections >= 1, `local refusals: ${metrics.summary.localRejections}`);
    await frame
      .locator('[data-card="Local refusals"]', { hasText: String(metrics.summary.localRejections) })
      .waitFor({ timeout: 10_000 });
    assert.equal(
      await frame.locator('[data-card="Provider 429s rpm / tpm / burst"]').innerText(),
      '0 / 0 / 0',
      'the provider refused nothing',
    );

    // requests that may wait: the Rate Limit tab and the sidebar say why they wait
    const abort = new AbortController();
    const waiting = Array.from({ length: 3 }, (_, i) =>
      fetch(`${gateway}/v1/chat/completions`, {
        method: 'POST',
        signal: abort.signal,
        headers: {
          authorization: `Bearer ${token}`,
          'content-type': 'application/json',
          'x-rlm-max-wait-ms': '120000',
        },
        body: JSON.stringify({ model: 'qwen-plus', messages: [{ role: 'user', content: `waits ${i}` }] }),
      }).catch(() => undefined),
    );
    try {
      await frame.locator('[data-tab="Rate Limit"]').click();
      const cell = frame.locator('tr[data-key="account:qwen-plus"] [data-cell="waiting"]');
      await cell.filter({ hasText: /waiting; the first for/ }).waitFor({ timeout: 10_000 });
      assert.match(await cell.innerText(), /binds\. No fallback model is configured for it\.$/);
      for (const [theme, cls] of [
        ['Dark Modern', 'vs-dark'],
        ['Light Modern', 'vs'],
      ] as const) {
        await colorTheme(theme, cls);
        await page.screenshot({
          path: path.join(RESULTS, `vscode-why-waiting-${cls === 'vs' ? 'light' : 'dark'}.png`),
        });
      }
      const side = await frameWith('[data-side="calls"]');
      assert.match(await side.locator('[data-wait="qwen-plus"]').innerText(), /waiting; the first for/);

      // focus stays on a sort header while records arrive
      await frame.locator('[data-tab="Overview"]').click();
      const header = frame.locator('[data-panel="Overview"] th[data-key="model"]');
      await header.focus();
      const before = Number(await frame.locator('[data-card="Total Calls"]').innerText());
      const client = new OpenAI({ baseURL: `${gateway}/v1`, apiKey: token, maxRetries: 0 });
      for (let i = 0; i < 3; i++)
        await client.chat.completions.create({
          model: 'qwen-turbo',
          messages: [{ role: 'user', content: `focus ${i}` }],
        });
      await frame
        .locator('[data-card="Total Calls"]', {
          hasText: new RegExp(`^(${before + 3}|${before + 4}|${before + 5}|${before + 6})$`),
        })
        .waitFor({ timeout: 10_000 });
      assert.equal(
        await frame.evaluate(() => document.activeElement?.getAttribute('data-key')),
        'model',
        'the sort header keeps the focus',
      );
    } finally {
      abort.abort();
      await Promise.all(waiting);
    }
  });
});

describe('UI in code-server without an API key', { timeout: 180_000 }, () => {
  let suite: SuiteEnvironment;
  let server: Awaited<ReturnType<typeof startCodeServer>>;
  let browser: Browser;

  before(async () => {
    suite = await prepareSuite();
    // no key anywhere: not in SecretStorage (a fresh profile), not in the environment
    suite.env = { ...suite.env, RLM_API_KEY: '', DASHSCOPE_API_KEY: '', OPENAI_API_KEY: '' };
    ({ server, browser, page } = await openWorkbench(suite));
  });

  after(async () => {
    await browser?.close().catch(() => undefined);
    server?.child.kill('SIGTERM');
    suite?.dispose();
  });

  it('says "no API key" in the status bar and the sidebar before anything fails; Set API Key clears it', async () => {
    const status = page.locator(`[id="${STATUS_ID}"]`);
    await page.waitForFunction((id) => /no API key/.test(document.getElementById(id)?.innerText ?? ''), STATUS_ID, {
      timeout: 20_000,
    });
    await palette('View: Show Rate Limits', 'workbench.view.extension.rateLimits');
    const side = await frameWith('[data-no-key]');
    assert.match(await side.locator('[data-no-key]').innerText(), /No API key: requests will be refused/);
    for (const [theme, cls] of [
      ['Dark Modern', 'vs-dark'],
      ['Light Modern', 'vs'],
    ] as const) {
      await colorTheme(theme, cls);
      await page.screenshot({ path: path.join(RESULTS, `vscode-no-key-${cls === 'vs' ? 'light' : 'dark'}.png`) });
    }
    await palette('Rate Limit Monitor: Set API Key', 'rateLimitMonitor.setApiKey');
    const input = page.locator('.quick-input-widget input.input');
    await input.waitFor({ state: 'visible', timeout: 10_000 });
    // the input box, titled with its command, says no key is in use
    await page.waitForFunction(
      () =>
        /no key is set/.test((document.querySelector('.quick-input-widget') as HTMLElement | null)?.innerText ?? ''),
      undefined,
      { timeout: 10_000 },
    );
    assert.match(await page.locator('.quick-input-widget .quick-input-title').innerText(), /Set API Key/);
    await input.fill('sk-ui-suite-key-0123456789');
    await page.keyboard.press('Enter');
    await page.waitForFunction((id) => !/no API key/.test(document.getElementById(id)?.innerText ?? ''), STATUS_ID, {
      timeout: 20_000,
    });
    await side.locator('[data-no-key]').waitFor({ state: 'detached', timeout: 20_000 });
    assert.doesNotMatch(await status.innerText(), /no API key/);
  });
});

/** Polls until `check` holds, or fails naming what did not happen. */
async function eventually(check: () => boolean | Promise<boolean>, what: string, ms = 10_000): Promise<void> {
  const end = Date.now() + ms;
  while (Date.now() < end) {
    if (await check()) return;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`timed out waiting for ${what}`);
}
