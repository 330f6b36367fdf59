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
