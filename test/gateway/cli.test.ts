import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import readline from 'node:readline';
import OpenAI from 'openai';
import { FakeProvider } from '../fixtures/fakeProvider';
import { PROVIDER_KEY } from '../support/stack';

const GATEWAY = path.resolve('dist/gateway.js');

function run(args: string[], env: NodeJS.ProcessEnv = {}): ChildProcess {
  return spawn(process.execPath, [GATEWAY, ...args], {
    env: { PATH: process.env.PATH, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
}

function exit(child: ChildProcess): Promise<{ code: number | null; stderr: string; stdout: string }> {
  let stderr = '';
  let stdout = '';
  child.stderr!.on('data', (c) => (stderr += c));
  child.stdout!.on('data', (c) => (stdout += c));
  return new Promise((resolve) => child.on('exit', (code) => resolve({ code, stderr, stdout })));
}

function firstLine(child: ChildProcess): Promise<string> {
  return new Promise((resolve, reject) => {
    const rl = readline.createInterface({ input: child.stdout! });
    rl.once('line', (l) => resolve(l));
    child.once('exit', (code) => reject(new Error(`exited ${code} before printing`)));
  });
}

describe('headless CLI (dist/gateway.js)', () => {
  let fake: FakeProvider;
  let dir: string;
  before(async () => {
    assert.ok(fs.existsSync(GATEWAY), 'dist/gateway.js is missing: run `npm run build` first');
    fake = new FakeProvider({
      apiKey: PROVIDER_KEY,
      models: { 'qwen-plus': { rpm: 600, tpm: 1_000_000 } },
      ttftMs: 400,
      chunkIntervalMs: 100,
    });
    await fake.listen();
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'rlm-cli-'));
    fs.writeFileSync(
      path.join(dir, 'config.json'),
      JSON.stringify({
        provider: 'dashscope',
        models: { 'qwen-plus': { rpm: 600, tpm: 1_000_000 } },
        maxQueueMs: 30000,
      }),
    );
  });
  after(async () => {
    await fake.close();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it('exits non-zero listing every bad flag', async () => {
    const r = await exit(
      run(['--port', 'abc', '--frobnicate', '--upstream', 'ftp://x', '--token', 'abc+def/ghi=jklmnop']),
    );
    assert.equal(r.code, 2);
    assert.match(
      r.stderr,
      /--token: use at least 16 letters, digits, "-" or "_"/,
      'a token the page could not carry is refused',
    );
    assert.match(r.stderr, /--port: "abc" is not a port number/);
    assert.match(r.stderr, /--frobnicate: unknown option/);
    assert.match(r.stderr, /--upstream: "ftp:\/\/x" is not an http\(s\) URL/);
  });

  it('exits non-zero listing every config problem', async () => {
    const bad = path.join(dir, 'bad.json');
    fs.writeFileSync(
      bad,
      JSON.stringify({ models: { m: { rpm: 0, tpm: 10 } }, fallbacks: { m: ['m'] }, maxQueueMs: -5 }),
    );
    const r = await exit(run(['--config', bad, '--port', '0']));
    assert.equal(r.code, 2);
    assert.match(r.stderr, /models\.m\.rpm: 0 is not a positive whole number/);
    assert.match(r.stderr, /fallbacks\.m\[0\]: 'm' falls back to itself/);
    assert.match(r.stderr, /maxQueueMs: -5 is not between 0 and 600000/);
  });

  it("saves a limit edited on its page back to the --config file, keeping the file's baseUrl; limits pushed by VS Code are not saved", async () => {
    const file = path.join(dir, 'editable.json');
    fs.writeFileSync(
      file,
      JSON.stringify({ provider: 'dashscope', models: { 'qwen-plus': { rpm: 600, tpm: 1_000_000 } } }),
    );
    const child = run(
      [
        '--config',
        file,
        '--upstream',
        fake.url,
        '--port',
        '0',
        '--token',
        'cli-token-0123456789',
        '--admin-token',
        'cli-admin-token-0123456789',
      ],
      { RLM_API_KEY: PROVIDER_KEY },
    );
    const done = exit(child);
    const { url } = JSON.parse(await firstLine(child)) as { url: string };
    const put = (config: unknown, source: string, token = 'cli-admin-token-0123456789') =>
      fetch(`${url}/_rlm/config`, {
        method: 'PUT',
        headers: {
          authorization: `Bearer ${token}`,
          'content-type': 'application/json',
          'x-rlm-config-source': source,
        },
        body: JSON.stringify(config),
      });
    const live = (await (
      await fetch(`${url}/_rlm/config`, { headers: { authorization: 'Bearer cli-token-0123456789' } })
    ).json()) as { models: Record<string, { rpm: number; tpm: number }> };
    const asCaller = await put({ ...live, models: { 'qwen-plus': { rpm: 1, tpm: 1 } } }, 'api', 'cli-token-0123456789');
    assert.equal(asCaller.status, 403, 'the caller token may read the config, not change it');
    assert.equal((await put({ ...live, models: { 'qwen-plus': { rpm: 450, tpm: 900_000 } } }, 'page')).status, 200);
    const saved = JSON.parse(fs.readFileSync(file, 'utf8')) as Record<string, unknown>;
    assert.deepEqual(saved.models, { 'qwen-plus': { rpm: 450, tpm: 900_000 } });
    assert.equal(saved.baseUrl, undefined, 'the --upstream override is not written into the file');
    assert.equal((await put({ ...live, models: { 'qwen-plus': { rpm: 10, tpm: 1000 } } }, 'vscode')).status, 200);
    assert.deepEqual(
      (JSON.parse(fs.readFileSync(file, 'utf8')) as Record<string, unknown>).models,
      { 'qwen-plus': { rpm: 450, tpm: 900_000 } },
      'VS Code pushes its own settings; the file keeps its own',
    );
    child.kill('SIGTERM');
    assert.match((await done).stderr, /saved the new limits \(page\) to .*editable\.json/);
  });

  it('prints one listening line, creates a 0600 token file, serves, and drains on SIGTERM', async () => {
    const tokenFile = path.join(dir, 'sub', 'token');
    const child = run(
      ['--config', path.join(dir, 'config.json'), '--upstream', fake.url, '--port', '0', '--token-file', tokenFile],
      { RLM_API_KEY: PROVIDER_KEY },
    );
    const done = exit(child);
    const line = JSON.parse(await firstLine(child)) as { event: string; url: string };
    assert.equal(line.event, 'listening');
    assert.match(line.url, /^http:\/\/127\.0\.0\.1:\d+$/);
    const token = fs.readFileSync(tokenFile, 'utf8').trim();
    if (process.platform !== 'win32') assert.equal(fs.statSync(tokenFile).mode & 0o777, 0o600);
    const client = new OpenAI({ baseURL: `${line.url}/v1`, apiKey: token, maxRetries: 0 });
    // a slow stream is in flight when SIGTERM arrives: it must finish
    const stream = await client.chat.completions.create({
      model: 'qwen-plus',
      messages: [{ role: 'user', content: 'slow' }],
      stream: true,
    });
    child.kill('SIGTERM');
    let text = '';
    for await (const c of stream) text += c.choices[0]?.delta.content ?? '';
    assert.match(text, /lorem/);
    const r = await done;
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stdout.trim().split('\n').length, 1, 'exactly one line on stdout');
    assert.ok(!r.stderr.includes(PROVIDER_KEY));
  });

  it('names the port when a program that is not our gateway holds it', async () => {
    const squatter = http.createServer((_req, res) => res.end('not a gateway'));
    await new Promise<void>((r) => squatter.listen(0, '127.0.0.1', r));
    const port = String((squatter.address() as import('node:net').AddressInfo).port);
    const r = await exit(
      run(['--config', path.join(dir, 'config.json'), '--port', port, '--state-dir', path.join(dir, 'state')]),
    );
    squatter.close();
    assert.equal(r.code, 1);
    assert.match(
      r.stderr,
      new RegExp(`port ${port} on 127.0.0.1 is held by a program that is not this gateway; choose another port`),
    );
  });
});
