/**
 * "Waiting now" on the Requests tab in real headless Chromium: a request queued behind a 2 RPM
 * limit is listed with its source, lane and expected start, and leaves the list, in place, once
 * its caller gives up; screenshots in dark and light.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import type { Browser, Page } from 'playwright-core';
import { launchChromium, openDashboardTab } from '../support/browser';
import { runSetupScript } from '../support/setupScript';
import { startStack, type Stack } from '../support/stack';

const RESULTS = path.resolve('test-results');

describe('the queue on the Requests tab', { timeout: 60_000 }, () => {
  let s: Stack;
  let browser: Browser;
  let page: Page;

  before(async () => {
    runSetupScript('scripts/setup-chromium.sh');
    fs.mkdirSync(RESULTS, { recursive: true });
    const models = { 'qwen-max': { rpm: 2, tpm: 100_000 } };
    s = await startStack({ fake: { models: { 'qwen-max': { rpm: 600, tpm: 1_000_000 } } }, config: { models } });
    await s.client.chat.completions.create({ model: 'qwen-max', messages: [{ role: 'user', content: 'first' }] });
    browser = await launchChromium();
    page = await browser.newPage({ viewport: { width: 1300, height: 600 } });
  });
  after(async () => {
    await browser?.close();
    await s?.close();
  });

  it('lists a queued request with its source and expected start, and drops it when its caller leaves', async () => {
    const ac = new AbortController();
    const queued = s.client.chat.completions
      .create(
        { model: 'qwen-max', messages: [{ role: 'user', content: 'second' }] },
        { signal: ac.signal, headers: { 'x-rlm-max-wait-ms': '60000', 'x-rlm-source': 'nightly-eval' } },
      )
      .catch(() => undefined);
    for (const theme of ['dark', 'light']) {
      await openDashboardTab(page, s.url, theme, 'Requests');
      const row = page.locator('section[data-waiting] tbody tr');
      await row.waitFor({ timeout: 10_000 });
      assert.equal(await row.locator('[data-cell="model"]').innerText(), 'qwen-max');
      assert.equal(await row.locator('[data-cell="source"]').innerText(), 'nightly-eval');
      // about 30 s at 2 RPM, counting down with the state ticks
      assert.match(await row.locator('[data-cell="expected"]').innerText(), /^in (2\d|30|31)\.\d s$/);
      await page.screenshot({ path: path.join(RESULTS, `dashboard-waiting-${theme}.png`) });
    }
    ac.abort();
    await queued;
    // the next state tick takes it off, without a reload
    await page.locator('section[data-waiting] tbody tr').waitFor({ state: 'detached', timeout: 10_000 });
    assert.equal(await page.locator('section[data-waiting]').count(), 1, 'the section stays, empty');
  });
});
