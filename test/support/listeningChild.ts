/** Spawn a Node program that prints one JSON line with its `url` once it listens. */
import { spawn, type ChildProcess, type SpawnOptions } from 'node:child_process';
import readline from 'node:readline';

export async function spawnListening(
  args: string[],
  options: SpawnOptions = {},
): Promise<{ child: ChildProcess; url: string }> {
  const child = spawn(process.execPath, args, { ...options, stdio: ['ignore', 'pipe', 'inherit'] });
  const line = await new Promise<string>((resolve, reject) => {
    readline.createInterface({ input: child.stdout! }).once('line', resolve);
    child.once('exit', (code) => reject(new Error(`${args.join(' ')} exited with ${code} before listening`)));
  });
  return { child, url: (JSON.parse(line) as { url: string }).url };
}
