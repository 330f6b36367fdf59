/**
 * The headline's load: callers through the real openai SDK, far more than the limits allow,
 * mixed prompt sizes, one in three streamed, alternating between two workspaces. Shared by
 * the quiet headline and the contention test so both offer exactly the same traffic.
 */
import OpenAI from 'openai';
import { GATEWAY_TOKEN, PROVIDER_KEY, sleep } from './stack';

const WORDS = 'the quick brown fox jumps over a lazy dog while 模型 限流 tokens flow per minute and second'.split(' ');

export function prompt(words: number): string {
  let s = '';
  for (let i = 0; i < words; i++) s += WORDS[(i * 7 + words) % WORDS.length] + ' ';
  return s;
}

export interface OverloadResult {
  offered: number;
  startedAt: number;
  endedAt: number;
  /** ok: answered; local429: refused by the gateway (x-rlm-local); other: anything else a caller saw. */
  outcomes: { ok: number; local429: number; other: number };
  otherErrors: string[];
}

export interface OverloadOptions {
  gatewayUrl: string;
  model: string;
  workspace: string;
  runMs: number;
  offeredPerSecond: number;
  /** Words in request i's prompt, and its max_tokens (defaults: the headline's mix). */
  words?: (i: number) => number;
  maxTokens?: (i: number) => number;
}

export async function runOverload(o: OverloadOptions): Promise<OverloadResult> {
  const words = o.words ?? ((i: number) => 10 + ((i * 37) % 300));
  const maxTokens = o.maxTokens ?? ((i: number) => 60 + ((i * 13) % 100));
  const clients = [
    new OpenAI({ baseURL: `${o.gatewayUrl}/v1`, apiKey: GATEWAY_TOKEN, maxRetries: 0 }),
    new OpenAI({
      baseURL: `${o.gatewayUrl}/v1`,
      apiKey: GATEWAY_TOKEN,
      maxRetries: 0,
      defaultHeaders: { 'x-rlm-workspace': o.workspace },
    }),
  ];
  const outcomes = { ok: 0, local429: 0, other: 0 };
  const otherErrors: string[] = [];
  const inFlight = new Set<Promise<void>>();
  const startedAt = Date.now();
  let n = 0;
  while (Date.now() - startedAt < o.runMs) {
    const i = n++;
    const client = clients[i % 2]!;
    const body = {
      model: o.model,
      messages: [{ role: 'user' as const, content: prompt(words(i)) }],
      max_tokens: maxTokens(i),
    };
    const p = (async () => {
      try {
        if (i % 3 === 0) {
          const stream = await client.chat.completions.create({ ...body, stream: true });
          for await (const _ of stream) void _;
        } else await client.chat.completions.create(body);
        outcomes.ok++;
      } catch (e) {
        if (e instanceof OpenAI.RateLimitError && e.headers?.get('x-rlm-local') === 'true') outcomes.local429++;
        else {
          outcomes.other++;
          if (otherErrors.length < 5) otherErrors.push(e instanceof Error ? e.message : String(e));
        }
      }
    })();
    inFlight.add(p);
    void p.finally(() => inFlight.delete(p));
    const nextAt = startedAt + ((i + 1) * 1000) / o.offeredPerSecond;
    await sleep(Math.max(0, nextAt - Date.now()));
  }
  const endedAt = Date.now();
  await Promise.all(inFlight);
  return { offered: n, startedAt, endedAt, outcomes, otherErrors };
}

const RPM = 600;
// Tokens per second (4,000) stay above ten average requests, so RPM is the binding limit.
const TPM = 240_000;
const WS_RPM = 200;
const WS_TPM = 80_000;

/** The headline's limits, gateway configuration and fake provider, shared with the contention test. */
export const HEADLINE = {
  RPM,
  TPM,
  WS_RPM,
  WS_TPM,
  OFFERED_PER_SECOND: (RPM / 60) * 10,
  GATEWAY_CONFIG: {
    models: { 'qwen-plus': { rpm: RPM, tpm: TPM } },
    workspaces: { 'ws-a': { name: 'Team A', models: { 'qwen-plus': { rpm: WS_RPM, tpm: WS_TPM } } } },
    maxQueueMs: 4_000,
  },
  FAKE_OPTIONS: {
    apiKey: PROVIDER_KEY,
    models: { 'qwen-plus': { rpm: RPM, tpm: TPM } },
    ttftMs: 30,
    chunkIntervalMs: 10,
    completionTokens: [20, 120] as [number, number],
  },
};
