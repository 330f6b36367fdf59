/**
 * The Overview's Team section in real headless Chromium: a gateway in a team (a real Redis)
 * with a second machine beside it, traffic through both, and the page showing the team's
 * use against the account's limits and both machines; then the store gone, and the warning.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import type { Browser, Page } from 'playwright-core';
import { launchChromium } from '../support/browser';
import { Gateway } from '../../src/gateway/server';
import { startRedis, type RedisProcess } from '../support/redisProcess';
import { runSetupScript } from '../support/setupScript';
import { GATEWAY_TOKEN, PROVIDER_KEY, startStack, type Stack } from '../support/stack';

const RESULTS = path.resolve('test-results');

describe('the team on the dashboard page', { timeout: 90_000 }, () => {
  let s: Stack;
  let bob: Gateway;
  let redis: RedisProcess;
  let browser: Browser;
  let page: Page;

  before(async () => {
    runSetupScript('scripts/setup-chromium.sh');
    fs.mkdirSync(RESULTS, { recursive: true });
    redis = await startRedis();
    s = await startStack();
    const team = { url: redis.url, version: 'test' };
    await s.gateway.setTeam({ ...team, nodeName: 'alice' });
    bob = new Gateway({
      config: s.gateway.config,
      token: GATEWAY_TOKEN,
      apiKey: () => PROVIDER_KEY,
      port: 0,
      team: { ...team, nodeName: 'bob' },
    });
    const bobUrl = await bob.start();
    const OpenAI = (await import('openai')).default;
    const bobClient = new OpenAI({ baseURL: `${bobUrl}/v1`, apiKey: GATEWAY_TOKEN, maxRetries: 0 });
    for (let i = 0; i < 4; i++) {
      await s.client.chat.completions.create({
        model: 'qwen-plus',
        messages: [{ role: 'user', content: `alice ${i}` }],
      });
      if (i % 2)
        await bobClient.chat.completions.create({
          model: 'qwen-plus',
          messages: [{ role: 'user', content: `bob ${i}` }],
        });
    }
    browser = await launchChromium();
    page = await browser.newPage({ viewport: { width: 1300, height: 900 } });
  });
  after(async () => {
    await browser?.close();
    await bob?.close(1_000);
    await s?.close();
    await redis?.stop();
  });

  it("shows the team's use against the account's limits and both machines, dark and light", async () => {
    for (const theme of ['dark', 'light']) {
      await page.goto(`${s.url}/?token=${GATEWAY_TOKEN}&theme=${theme}`);
      // the machines' counters are read every few seconds: wait for bob's two requests to show
      await page
        .locator('tr[data-machine="bob"] td[data-cell="hourRequests"]', { hasText: '2' })
        .waitFor({ timeout: 15_000 });
      assert.equal(await page.locator('tr[data-machine="alice"] td[data-cell="name"]').innerText(), 'alice (this one)');
      assert.equal(await page.locator('tr[data-machine="alice"] td[data-cell="hourRequests"]').innerText(), '4');
      assert.equal(await page.locator('tr[data-team-model="qwen-plus"] td[data-cell="rpm"]').innerText(), '6 / 600');
      assert.match(await page.locator('.team-head').innerText(), /Team · 2 machines · this one: alice/);
      await page.locator('section.team').screenshot({ path: path.join(RESULTS, `dashboard-team-${theme}.png`) });
    }
  });

  it('speaks Chinese on the page with ?lang=zh-cn (the frame, the Overview, the team section)', async () => {
    await page.goto(`${s.url}/?token=${GATEWAY_TOKEN}&theme=light&lang=zh-cn`);
    await page.locator('.team-head', { hasText: '团队' }).waitFor({ timeout: 15_000 });
    assert.equal(await page.locator('html').getAttribute('lang'), 'zh-cn');
    assert.match(await page.locator('.team-head').innerText(), /团队 · 2 台机器 · 本机：alice/);
    assert.equal(await page.locator('section.team th[data-key="rpm"]').first().innerText(), '团队 RPM');
    assert.equal(await page.locator('tr[data-machine="alice"] td[data-cell="name"]').innerText(), 'alice（本机）');
    await page.locator('section.team').screenshot({ path: path.join(RESULTS, 'dashboard-team-zh-light.png') });
    // the frame and the Overview too: tabs, buttons, cards (their data-* names stay English)
    assert.deepEqual(await page.locator('[role="tab"]').allInnerTexts(), [
      '概览',
      '图表',
      '限流',
      '请求',
      '批量推理任务',
    ]);
    assert.equal(await page.locator('[data-pause]').innerText(), '暂停实时更新');
    assert.equal(await page.locator('.card:has([data-card="Total Calls"]) .label').innerText(), '总调用次数');
    await page.screenshot({ path: path.join(RESULTS, 'dashboard-overview-zh-light.png'), fullPage: true });
    await page.locator('[data-tab="Requests"]').click();
    await page.locator('[data-panel="Requests"] th[data-key="outcome"]', { hasText: '结果' }).waitFor();
    assert.equal(await page.locator('[data-panel="Requests"] td[data-cell="outcome"]').first().innerText(), 'ok');
    await page.locator('[data-tab="Overview"]').click(); // the page keeps the tab for the next visit
  });

  it('says so when the store is gone: the local share, in the team line', async () => {
    await redis.kill();
    await page.goto(`${s.url}/?token=${GATEWAY_TOKEN}&theme=dark`);
    await page.locator('.team-head', { hasText: 'team store offline — local share 1/2' }).waitFor({ timeout: 15_000 });
    assert.equal(await page.locator('[data-team-state="offline"]').count(), 1);
  });
});
