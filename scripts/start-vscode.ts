/**
 * npm run start:vscode — the extension in a real VS Code (code-server) on 127.0.0.1, with
 * the fake provider upstream and gentle demo traffic, for a user without desktop VS Code.
 * Prints the URL to open in a browser; Ctrl-C stops everything.
 */
import fs from 'node:fs';
import path from 'node:path';
import OpenAI from 'openai';
import { prepareSuite } from '../test/vscode/environment';
import { startCodeServer } from '../test/vscode/runServer';

async function main() {
  const suite = await prepareSuite();
  const server = await startCodeServer(suite, ['--vscode-option', 'enable-smoke-test-driver']);
  const payload = [['extensionDevelopmentPath', `vscode-remote://remote${path.resolve('.')}`]];
  const url = `http://127.0.0.1:${server.port}/?folder=${encodeURIComponent(suite.workspaceFolder)}&payload=${encodeURIComponent(JSON.stringify(payload))}`;
  console.log(
    `\nLLM Rate Limit Monitor in VS Code (code-server):\n  ${url}\n\nThe gateway starts when the window opens; demo traffic follows. Ctrl-C stops.\n`,
  );
  const stop = () => {
    server.child.kill('SIGTERM');
    suite.dispose();
    process.exit(0);
  };
  process.on('SIGINT', stop);
  process.on('SIGTERM', stop);
  const tokenFile = path.join(suite.env.RLM_STATE_DIR!, 'token');
  const gateway = `http://127.0.0.1:${suite.gatewayPort}`;
  for (;;) {
    if (fs.existsSync(tokenFile)) {
      const token = fs.readFileSync(tokenFile, 'utf8').trim();
      if (
        await fetch(`${gateway}/_rlm/health`, { headers: { authorization: `Bearer ${token}` } }).then(
          (r) => r.ok,
          () => false,
        )
      )
        break;
    }
    await new Promise((r) => setTimeout(r, 500));
  }
  const client = new OpenAI({
    baseURL: `${gateway}/v1`,
    apiKey: fs.readFileSync(tokenFile, 'utf8').trim(),
    maxRetries: 0,
  });
  console.log(`gateway up at ${gateway}: sending demo traffic`);
  let i = 0;
  setInterval(() => {
    const model = ['qwen-plus', 'qwen-turbo', 'qwen-max'][i % 3]!;
    const n = i++;
    void client.chat.completions
      .create({
        model,
        stream: n % 2 === 0,
        messages: [{ role: 'user', content: `demo ${n}: ${'explain rate limits '.repeat(1 + (n % 15))}` }],
        max_tokens: 120,
      })
      .then(async (r) => {
        if (Symbol.asyncIterator in Object(r)) for await (const _ of r as AsyncIterable<unknown>) void _;
      })
      .catch((e: unknown) => console.log(`demo ${n}: ${e instanceof Error ? e.message : String(e)}`));
  }, 700);
}

void main();
