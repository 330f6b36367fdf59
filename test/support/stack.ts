/** A fake provider and a gateway on real loopback sockets, with the real openai SDK as caller. */
import OpenAI from 'openai';
import { validateConfig } from '../../src/core/config';
import type { RateLimitConfig } from '../../src/core/types';
import { Gateway, type GatewayOptions } from '../../src/gateway/server';
import { FakeProvider, type FakeOptions } from '../fixtures/fakeProvider';

export const PROVIDER_KEY = 'sk-test-provider-key-0123456789abcdef';
export const GATEWAY_TOKEN = 'local-gateway-token-for-tests-0123';

export interface Stack {
  fake: FakeProvider;
  gateway: Gateway;
  client: OpenAI;
  url: string;
  close(): Promise<void>;
  /** fetch against the gateway with its token */
  call(path: string, init?: RequestInit & { headers?: Record<string, string> }): Promise<Response>;
}

export async function startStack(
  opts: {
    fake?: Partial<FakeOptions>;
    config?: Partial<Record<keyof RateLimitConfig, unknown>>;
    gateway?: Partial<GatewayOptions>;
  } = {},
): Promise<Stack> {
  const fake = new FakeProvider({
    apiKey: PROVIDER_KEY,
    models: { 'qwen-plus': { rpm: 600, tpm: 1_000_000 }, 'qwen-turbo': { rpm: 600, tpm: 1_000_000 } },
    ttftMs: 5,
    chunkIntervalMs: 2,
    ...opts.fake,
  });
  const upstream = await fake.listen();
  const result = validateConfig({
    provider: 'dashscope',
    baseUrl: upstream,
    models: { 'qwen-plus': { rpm: 600, tpm: 1_000_000 }, 'qwen-turbo': { rpm: 600, tpm: 1_000_000 } },
    ...opts.config,
  });
  if (!result.ok) throw new Error(JSON.stringify(result.problems));
  const gateway = new Gateway({
    config: result.config,
    token: GATEWAY_TOKEN,
    apiKey: () => PROVIDER_KEY,
    port: 0,
    retry: { baseDelayMs: 20, maxDelayMs: 200 },
    ...opts.gateway,
  });
  const url = await gateway.start();
  const client = new OpenAI({ baseURL: `${url}/v1`, apiKey: GATEWAY_TOKEN, maxRetries: 0 });
  return {
    fake,
    gateway,
    client,
    url,
    call: (path, init = {}) =>
      fetch(`${url}${path}`, { ...init, headers: { authorization: `Bearer ${GATEWAY_TOKEN}`, ...init.headers } }),
    async close() {
      await gateway.close(1_000);
      await fake.close();
    },
  };
}

export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Wait until `check` holds, polling; fails with `what` after `ms`. */
export async function eventually(check: () => boolean | Promise<boolean>, what: string, ms = 3_000): Promise<void> {
  const end = Date.now() + ms;
  while (Date.now() < end) {
    if (await check()) return;
    await sleep(10);
  }
  throw new Error(`timed out waiting for: ${what}`);
}
