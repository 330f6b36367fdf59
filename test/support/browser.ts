/**
 * Debian's Chromium, headless, for the page tests (installed by scripts/setup-chromium.sh):
 * quiet (no background networking, updates or sync) and fit for containers (no sandbox, no /dev/shm).
 */
import { chromium, type Browser, type Page } from 'playwright-core';
import { GATEWAY_TOKEN } from './stack';

export function launchChromium(): Promise<Browser> {
  return chromium.launch({
    executablePath: '/usr/bin/chromium',
    headless: true,
    args: [
      '--no-sandbox',
      '--disable-gpu',
      '--disable-quic',
      '--no-first-run',
      '--disable-dev-shm-usage',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
    ],
  });
}

/** The gateway's dashboard page in a theme, on one tab. */
export async function openDashboardTab(page: Page, gatewayUrl: string, theme: string, tab: string): Promise<void> {
  await page.goto(`${gatewayUrl}/?token=${GATEWAY_TOKEN}&theme=${theme}`);
  await page.locator(`[data-tab="${tab}"]`).click();
}
