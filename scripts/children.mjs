// The demo scripts' child processes: Node programs that print one JSON line with their URL when
// ready, all stopped (and the scratch folder removed) on Ctrl-C.
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import readline from 'node:readline';

const children = [];

/** Start `node ARGS` and resolve with the URL of its first line. */
export function start(args, env = {}) {
  const child = spawn(process.execPath, args, {
    env: { ...process.env, ...env },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  children.push(child);
  return new Promise((resolve, reject) => {
    readline.createInterface({ input: child.stdout }).once('line', (l) => resolve(JSON.parse(l).url));
    child.once('exit', (code) => reject(new Error(`${args.join(' ')} exited with ${code}`)));
  });
}

/** Another child to stop with the rest (a redis-server). */
export function adopt(child) {
  children.push(child);
  return child;
}

/** On Ctrl-C or SIGTERM: stop every child, remove `dir`, exit. */
export function stopAllOnSignal(dir) {
  const stop = () => {
    for (const c of children) c.kill('SIGTERM');
    fs.rmSync(dir, { recursive: true, force: true });
    process.exit(0);
  };
  process.on('SIGINT', stop);
  process.on('SIGTERM', stop);
}

/** Start the built gateway (dist/gateway.js) with a config file, an upstream and a state folder. */
export function startGateway({ configFile, upstream, port = '0', stateDir, args = [], env = {} }) {
  const base = ['dist/gateway.js', '--config', configFile, '--upstream', upstream, '--port', port];
  return start([...base, '--state-dir', stateDir, ...args], env);
}

/** The demo key the fake provider accepts (not a real key), and the fake with the demos' gentle timing. */
export const DEMO_KEY = 'sk-demo-provider-key-not-a-real-key';

export function startDemoProvider(models) {
  const options = { apiKey: DEMO_KEY, models, ttftMs: 150, chunkIntervalMs: 40, completionTokens: [20, 200] };
  return start(['--import', 'tsx', 'test/fixtures/fakeProviderMain.ts', JSON.stringify(options)]);
}
