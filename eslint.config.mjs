// Lint, plus the layer boundaries of DESIGN.md ("The import rules are enforced by a lint rule").
import tseslint from 'typescript-eslint';
import { builtinModules } from 'node:module';

const nodeBuiltins = [...builtinModules, ...builtinModules.map((m) => `node:${m}`)];

export default tseslint.config(
  { ignores: ['dist/**', 'out/**', 'node_modules/**', '.vscode-test/**', 'test-results/**', '**/*.mjs', '**/*.js'] },
  ...tseslint.configs.recommended,
  {
    rules: {
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
    },
  },
  {
    // src/core: pure. Imports only itself — no vscode, no Node built-ins, no npm packages.
    files: ['src/core/**/*.ts'],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          paths: [
            { name: 'vscode', message: 'src/core is pure: only src/extension may import vscode.' },
            ...nodeBuiltins.map((name) => ({
              name,
              message: 'src/core is pure: no Node built-ins (time and I/O are parameters).',
            })),
          ],
          patterns: [
            {
              regex: '^(?!\\./)',
              message: 'src/core imports only src/core (relative ./ paths); inject anything else.',
            },
          ],
        },
      ],
    },
  },
  {
    // src/gateway and webview never import vscode; webview also stays off Node.
    files: ['src/gateway/**/*.ts'],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          paths: [{ name: 'vscode', message: 'src/gateway runs headless: only src/extension may import vscode.' }],
          patterns: [
            {
              group: ['**/extension/**', '**/webview/**'],
              message: 'src/gateway may import src/core, Node and npm libraries only.',
            },
          ],
        },
      ],
    },
  },
  {
    // src/extension/logic: the extension's decisions, tested in plain Node; the host/ wrappers talk to vscode.
    files: ['src/extension/logic/**/*.ts'],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          paths: [
            { name: 'vscode', message: 'src/extension/logic is plain Node: put vscode calls in src/extension/host.' },
          ],
        },
      ],
    },
  },
  {
    files: ['webview/**/*.ts'],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          paths: [
            { name: 'vscode', message: 'webview runs in a browser: talk to the host through the protocol.' },
            ...nodeBuiltins.map((name) => ({ name, message: 'webview runs in a browser: no Node built-ins.' })),
          ],
          patterns: [
            {
              group: ['**/src/extension/**', '**/src/gateway/**'],
              message: 'webview may import src/core and UI libraries only.',
            },
          ],
        },
      ],
    },
  },
);
