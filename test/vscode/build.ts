/** Bundles the in-VS-Code suite to out/vscode-tests/ (CommonJS, vscode and mocha external). */
import * as esbuild from 'esbuild';

export async function buildVsCodeTests(): Promise<string> {
  await esbuild.build({
    entryPoints: { index: 'test/vscode/index.ts', 'extension.test': 'test/vscode/extension.test.ts' },
    outdir: 'out/vscode-tests',
    bundle: true,
    platform: 'node',
    format: 'cjs',
    target: 'node20',
    external: ['vscode', 'mocha'],
    sourcemap: 'inline',
    logLevel: 'warning',
  });
  return 'out/vscode-tests/index.js';
}
