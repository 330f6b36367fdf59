/** The fake provider in a child process of its own (its arrival clock is not the caller's event loop). */
import type { ChildProcess } from 'node:child_process';
import os from 'node:os';
import type { FakeCounters, FakeOptions } from '../fixtures/fakeProvider';
import { spawnListening } from './listeningChild';

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
  const { child, url } = await spawnListening([
    '--import',
    'tsx',
    'test/fixtures/fakeProviderMain.ts',
    JSON.stringify(options),
  ]);
  // The fake stands in for a provider on machines of its own, whose arrival clock our load
  // does not delay. Here it shares two cores with the gateway, the load generator and whatever
  // else runs: ask for a higher priority so it stamps arrivals when they come (best effort;
  // without the right to raise it, it runs at normal priority).
  try {
    os.setPriority(child.pid!, -10);
  } catch {
    /* not permitted: keep the default priority */
  }
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
