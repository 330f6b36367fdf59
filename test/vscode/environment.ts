/**
 * What both runners give the suite: a fake provider in its own process and user settings
 * that point the extension at it, on a free gateway port, with a throw-away state directory.
 */
import type { ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { startFakeProcess } from '../support/fakeProcess';
import { startRedis } from '../support/redisProcess';

export const TEST_PROVIDER_KEY = 'sk-vscode-suite-provider-key-0123456789';
/** The team store's password in the Join Team test (the suite reads it from RLM_TEST_REDIS_PASSWORD). */
const TEST_REDIS_PASSWORD = 'team-suite-password-0123';

export interface SuiteEnvironment {
  tmp: string;
  userDataDir: string;
  extensionsDir: string;
  workspaceFolder: string;
  env: NodeJS.ProcessEnv;
  fake: ChildProcess;
  fakeUrl: string;
  gatewayPort: number;
  dispose(): void;
}

export function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const s = net.createServer().listen(0, '127.0.0.1', () => {
      const port = (s.address() as net.AddressInfo).port;
      s.close(() => resolve(port));
    });
  });
}

/** The suites' prices per 1M tokens (the fake is a custom endpoint, which has no built-in table). */
export const SUITE_PRICES = {
  currency: 'USD',
  batchFactor: 0.5,
  models: {
    'qwen-plus': { input: 0.4, output: 1.2, cachedInput: 0.08 },
    'qwen-turbo': { input: 0.05, output: 0.2, cachedInput: 0.01 },
    'qwen-max': { input: 1.6, output: 6.4, cachedInput: 0.32 },
    'qwen-flash': { input: 0.05, output: 0.4, cachedInput: 0.01 },
  },
};

export async function prepareSuite(): Promise<SuiteEnvironment> {
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'rlm-vscode-'));
  const models = {
    'qwen-plus': { rpm: 6000, tpm: 10_000_000 },
    'qwen-turbo': { rpm: 6000, tpm: 50_000_000 },
    'qwen-max': { rpm: 6000, tpm: 10_000_000 },
    'qwen-flash': { rpm: 6000, tpm: 10_000_000 },
  };
  const fakeProcess = await startFakeProcess({ apiKey: TEST_PROVIDER_KEY, models, ttftMs: 20, chunkIntervalMs: 5 });
  const fake = fakeProcess.child;
  const fakeUrl = fakeProcess.url;
  const gatewayPort = await freePort();
  // a real Redis for Join Team, with a password (given to the suite, never to the extension's settings)
  const redis = await startRedis({ password: TEST_REDIS_PASSWORD });
  const userDataDir = path.join(tmp, 'user-data');
  fs.mkdirSync(path.join(userDataDir, 'User'), { recursive: true });
  fs.writeFileSync(
    path.join(userDataDir, 'User', 'settings.json'),
    JSON.stringify(
      {
        'telemetry.telemetryLevel': 'off',
        'extensions.autoCheckUpdates': false,
        'extensions.autoUpdate': false,
        'workbench.startupEditor': 'none',
        'chat.disableAIFeatures': true,
        'update.mode': 'none',
        'security.workspace.trust.enabled': false,
        'rateLimitMonitor.provider': 'custom',
        'rateLimitMonitor.customBaseUrl': fakeUrl,
        'rateLimitMonitor.gateway.port': gatewayPort,
        // a custom endpoint has no price table: the user's prices (and its Batch API's half price)
        'rateLimitMonitor.prices': SUITE_PRICES,
      },
      null,
      2,
    ),
  );
  // Machine-scoped settings (the gateway port) come from Machine/settings.json in a remote window such as code-server's.
  fs.mkdirSync(path.join(userDataDir, 'Machine'), { recursive: true });
  fs.writeFileSync(
    path.join(userDataDir, 'Machine', 'settings.json'),
    JSON.stringify({ 'rateLimitMonitor.gateway.port': gatewayPort }, null, 2),
  );
  const workspaceFolder = path.join(tmp, 'workspace');
  fs.mkdirSync(workspaceFolder);
  const extensionsDir = path.join(tmp, 'extensions');
  fs.mkdirSync(extensionsDir);
  return {
    tmp,
    userDataDir,
    extensionsDir,
    workspaceFolder,
    fake,
    fakeUrl,
    gatewayPort,
    env: {
      RLM_API_KEY: TEST_PROVIDER_KEY,
      RLM_STATE_DIR: path.join(tmp, 'state'),
      RLM_TEST_REDIS_URL: redis.url,
      RLM_TEST_REDIS_PASSWORD: TEST_REDIS_PASSWORD,
    },
    dispose() {
      fake.kill('SIGTERM');
      void redis.stop();
    },
  };
}

/**
 * Make `locale` a display language this code-server has, as installing its language pack
 * would (the real packs come from the marketplace, which cannot be reached here). The stand-in
 * translates nothing of VS Code's own: VS Code stays English, but it runs in `locale`
 * (vscode.env.language), reads the extension's package.nls.<locale>.json and hands the
 * extension l10n/bundle.l10n.<locale>.json, which is what the suite checks. Start code-server
 * with `--locale <locale>` after this.
 */
export function standInLanguagePack(suite: SuiteEnvironment, locale: string): void {
  const translations = path.join(suite.tmp, `language-pack-${locale}`, 'main.i18n.json');
  fs.mkdirSync(path.dirname(translations), { recursive: true });
  fs.writeFileSync(translations, JSON.stringify({ version: '1.0.0', contents: {} }));
  fs.writeFileSync(
    path.join(suite.userDataDir, 'languagepacks.json'),
    JSON.stringify({
      [locale]: {
        hash: `rlm-stand-in-${locale}`,
        extensions: [{ extensionIdentifier: { id: `rlm-test.stand-in-${locale}` }, version: '1.0.0' }],
        translations: { vscode: translations },
        label: locale,
      },
    }),
  );
}
