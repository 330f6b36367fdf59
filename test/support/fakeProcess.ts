/** The fake provider in a child process of its own (its arrival clock is not the caller's event loop). */
import { spawn, type ChildProcess } from 'node:child_process';
import readline from 'node:readline';
import type { FakeCounters, FakeOptions } from '../fixtures/fakeProvider';

export interface FakeProcess {
  child: ChildProcess;
  /** The OpenAI-compatible base URL, ending in /v1. */
  url: string;
  /** The origin, for /_fake/* and /api/v1/*. */
  origin: string;
  counters(): Promise<FakeCounters & { batches?: number }>;
  arrivals(model: string): Promise<{ at: number; tokens: number }[]>;
  stop(): void;
}

export async function startFakeProcess(options: FakeOptions): Promise<FakeProcess> {
  const child = spawn(process.execPath, ['--import', 'tsx', 'test/fixtures/fakeProviderMain.ts', JSON.stringify(options)], { stdio: ['ignore', 'pipe', 'inherit'] });
  const line = await new Promise<string>((resolve, reject) => {
    readline.createInterface({ input: child.stdout! }).once('line', resolve);
    child.once('exit', (code) => reject(new Error(`the fake provider exited with ${code}`)));
  });
  const url = (JSON.parse(line) as { url: string }).url;
  const origin = url.replace(/\/v1$/, '');
  const get = async <T>(path: string) => (await (await fetch(`${origin}${path}`)).json()) as T;
  return {
    child,
    url,
    origin,
    counters: () => get('/_fake/counters'),
    arrivals: (model) => get(`/_fake/arrivals?model=${encodeURIComponent(model)}`),
    stop: () => child.kill('SIGTERM'),
  };
}
