/** The fake provider in a child process of its own (its arrival clock is not the caller's event loop). */
import type { ChildProcess } from 'node:child_process';
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
  const { child, url } = await spawnListening(['--import', 'tsx', 'test/fixtures/fakeProviderMain.ts', JSON.stringify(options)]);
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
