/**
 * The headless gateway (dist/gateway.js) in a child process of its own, as users run it: the
 * moment it admits a request is then not delayed by the test's own load generator sharing
 * its event loop, which on a busy machine had let two admissions 1,015 ms apart arrive at
 * the provider less than a second apart.
 */
import type { ChildProcess } from 'node:child_process';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { spawnListening } from './listeningChild';
import { GATEWAY_TOKEN, PROVIDER_KEY } from './stack';

export interface GatewayProcess {
  child: ChildProcess;
  url: string;
  /** GET a control route with the gateway token. */
  control<T>(route: string): Promise<T>;
  /** SIGTERM (the gateway drains), then remove its private directory. */
  stop(): Promise<void>;
}

/** Start dist/gateway.js with `config` (the settings object) in front of `upstream`. */
export async function startGatewayProcess(
  config: unknown,
  upstream: string,
  extraArgs: string[] = [],
  process_: { nodeArgs?: string[]; env?: Record<string, string> } = {},
): Promise<GatewayProcess> {
  assert.ok(fs.existsSync('dist/gateway.js'), 'dist/gateway.js is missing: run `npm run build` first');
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'rlm-gateway-'));
  const configFile = path.join(dir, 'config.json');
  fs.writeFileSync(configFile, JSON.stringify(config));
  const { child, url } = await spawnListening(
    [
      ...(process_.nodeArgs ?? []),
      'dist/gateway.js',
      '--config',
      configFile,
      '--upstream',
      upstream,
      '--port',
      '0',
      '--token',
      GATEWAY_TOKEN,
      ...extraArgs,
    ],
    {
      env: {
        PATH: process.env.PATH,
        RLM_API_KEY: PROVIDER_KEY,
        RLM_STATE_DIR: path.join(dir, 'state'),
        ...process_.env,
      },
    },
  );
  return {
    child,
    url,
    control: async <T>(route: string) =>
      (await (await fetch(`${url}${route}`, { headers: { authorization: `Bearer ${GATEWAY_TOKEN}` } })).json()) as T,
    stop: async () => {
      // exitCode stays null after a kill by signal: then it has exited too
      if (child.exitCode === null && child.signalCode === null) {
        const exited = new Promise((r) => child.once('exit', r));
        child.kill('SIGTERM');
        await exited;
      }
      fs.rmSync(dir, { recursive: true, force: true });
    },
  };
}
