/**
 * Advice on the dashboard page in real headless Chromium: a dated snapshot in use whose alias
 * has higher limits is advised at the top of the Rate Limit tab, with its action, which puts the
 * alias first in the snapshot's fallback chain; background work is pointed at the Batch API
 * (no Run Batch File button on the gateway's own page, which cannot run VS Code commands);
 * screenshots in dark and light.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import type { Browser, Page } from 'playwright-core';
import { BATCH_MIN_CALLS } from '../../src/core/advice';
import type { RateLimitConfig } from '../../src/core/types';
import { launchChromium, openDashboardTab } from '../support/browser';
import { runSetupScript } from '../support/setupScript';
import { startStack, type Stack } from '../support/stack';

const RESULTS = path.resolve('test-results');
const SNAPSHOT = 'qwen-plus-2025-07-28';

describe('advice on the dashboard page', { timeout: 60_000 }, () => {
  let s: Stack;
  let browser: Browser;
  let page: Page;

  before(async () => {
    runSetupScript('scripts/setup-chromium.sh');
    fs.mkdirSync(RESULTS, { recursive: true });
    const models = {
      'qwen-plus': { rpm: 15_000, tpm: 5_000_000 },
      'qwen-turbo': { rpm: 600, tpm: 5_000_000 },
      [SNAPSHOT]: { rpm: 600, tpm: 1_000_000 },
    };
    // the fake is a custom endpoint: its prices, and its Batch API's half price, come from the config
    const prices = { currency: 'USD', batchFactor: 0.5, models: { 'qwen-turbo': { input: 0.05, output: 0.2 } } };
    s = await startStack({ fake: { models }, config: { models, fallbacks: { [SNAPSHOT]: ['qwen-turbo'] }, prices } });
    await s.client.chat.completions.create({ model: SNAPSHOT, messages: [{ role: 'user', content: 'old snapshot' }] });
    // a night's evaluation on the background lane: the Batch API would take it at half the price
    await Promise.all(
      Array.from({ length: BATCH_MIN_CALLS }, (_, i) =>
        s.client.chat.completions.create(
          { model: 'qwen-turbo', messages: [{ role: 'user', content: `eval case ${i}` }] },
          { headers: { 'x-rlm-priority': 'background', 'x-rlm-source': 'nightly-eval' } },
        ),
      ),
    );
    browser = await launchChromium();
    page = await browser.newPage({ viewport: { width: 1300, height: 700 } });
  });
  after(async () => {
    await browser?.close();
    await s?.close();
  });

  it('advises the higher-limit alias, and its action puts the alias first in the chain', async () => {
    for (const theme of ['dark', 'light']) {
      await openDashboardTab(page, s.url, theme, 'Rate Limit');
      const item = page.locator(`[data-advice] li[data-advice-kind="higher-limit-model"][data-model="${SNAPSHOT}"]`);
      await item.waitFor({ timeout: 10_000 });
      assert.match(await item.innerText(), /is a dated snapshot; its alias qwen-plus allows 15000 RPM, 5000000 TPM/);
      const batch = page.locator('[data-advice] li[data-advice-kind="use-batch"][data-model="qwen-turbo"]');
      assert.match(
        await batch.innerText(),
        /qwen-turbo: 20 calls on the background lane in the last hour, 100 % of its tokens\. .*Batch API.* It would have saved about \$0\.0/,
      );
      assert.equal(await batch.locator('[data-run-batch]').count(), 0, 'no VS Code command to run on this page');
      assert.equal(await page.locator('[data-tab="Rate Limit"] [data-advice-count]').innerText(), '2');
      await page.screenshot({ path: path.join(RESULTS, `dashboard-advice-${theme}.png`) });
    }
    await page.locator(`[data-prefer-fallback="${SNAPSHOT}"]`).click();
    const done = page.locator('[data-notice]', { hasText: `${SNAPSHOT} now falls back to qwen-plus → qwen-turbo` });
    await done.waitFor({ timeout: 10_000 });
    assert.equal(await done.getAttribute('data-notice'), 'ok');
    const config = (await (await s.call('/_rlm/config')).json()) as RateLimitConfig;
    assert.deepEqual(config.fallbacks[SNAPSHOT], ['qwen-plus', 'qwen-turbo']);
  });
});
