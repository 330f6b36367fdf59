/**
 * Runner A: the same suite in desktop VS Code through @vscode/test-electron. It downloads
 * VS Code where the internet allows, or uses VSCODE_EXECUTABLE_PATH. On machines that can
 * do neither (like this project's CI machines) it says so and fails — it never passes
 * silently; `npm test` uses Runner B (code-server) instead.
 *
 *   npm run test:vscode
 */
import path from 'node:path';
import { runTests } from '@vscode/test-electron';
import { buildVsCodeTests } from './build';
import { prepareSuite } from './environment';

async function main(): Promise<number> {
  const testsEntry = path.resolve(await buildVsCodeTests());
  const suite = await prepareSuite();
  try {
    const executable = process.env.VSCODE_EXECUTABLE_PATH;
    await runTests({
      extensionDevelopmentPath: path.resolve('.'),
      extensionTestsPath: testsEntry,
      ...(executable ? { vscodeExecutablePath: executable } : {}),
      launchArgs: [
        suite.workspaceFolder,
        '--user-data-dir',
        suite.userDataDir,
        '--extensions-dir',
        suite.extensionsDir,
        '--disable-workspace-trust',
        '--disable-extensions',
      ],
      extensionTestsEnv: suite.env,
    });
    return 0;
  } catch (e) {
    const message = e instanceof Error ? e.message : String(e);
    console.error(`[test:vscode] desktop VS Code could not run the suite: ${message}`);
    if (!process.env.VSCODE_EXECUTABLE_PATH)
      console.error(
        '[test:vscode] no VSCODE_EXECUTABLE_PATH was given and the download failed (no internet?). Use `npm run test:vscode-server` (code-server), or set VSCODE_EXECUTABLE_PATH.',
      );
    return 1;
  } finally {
    suite.dispose();
  }
}

void main().then((code) => process.exit(code));
