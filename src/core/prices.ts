/**
 * List prices per 1M tokens, by provider region: data, not logic (src/core/cost.ts uses them).
 *
 * Source and date: Model Studio's international (Singapore) prices as published in LiteLLM's
 * `model_prices_and_context_window.json` (`dashscope/*` entries), read on 2026-12-02; mainland
 * (Beijing) prices in CNY for the stable aliases, non-thinking mode, as Model Studio's Chinese
 * price page lists them and several public price tables repeat them, read on 2026-12-02; OpenAI's
 * list prices (standard tier) from its pricing page. Cached input for Model Studio
 * is its implicit-cache rate (a hit billed at 20 % of the input price); its Batch API and
 * OpenAI's bill half the real-time price. Prices change and some models are tiered by prompt
 * length (the first tier is listed): they are estimates to verify against the provider's
 * console, and the `rateLimitMonitor.prices` setting overrides or adds any model's. A model
 * listed nowhere has an unknown price, which the views show as unknown, never as 0.
 * Virginia (US) prices are not listed: add them through the setting.
 */
export interface ModelPrice {
  /** Per 1M prompt tokens that were not cache hits. */
  input: number;
  /** Per 1M completion tokens. */
  output: number;
  /** Per 1M prompt tokens served from the cache; the input price when absent. */
  cachedInput?: number;
}

export type PriceRegion = 'dashscope-intl' | 'dashscope-cn' | 'dashscope-us' | 'openai';

export interface PriceTable {
  currency: string;
  /** The Batch API's price as a share of the real-time one. */
  batchFactor: number;
  models: Record<string, ModelPrice>;
}

const dashscope = (input: number, output: number): ModelPrice => ({ input, output, cachedInput: input * 0.2 });

export const PRICE_TABLES: Record<PriceRegion, PriceTable> = {
  'dashscope-intl': {
    currency: 'USD',
    batchFactor: 0.5,
    models: {
      'qwen-max': dashscope(1.6, 6.4),
      'qwen-plus': dashscope(0.4, 1.2),
      'qwen-plus-2025-01-25': dashscope(0.4, 1.2),
      'qwen-plus-2025-04-28': dashscope(0.4, 1.2),
      'qwen-plus-2025-07-14': dashscope(0.4, 1.2),
      'qwen-turbo': dashscope(0.05, 0.2),
      'qwen-turbo-2024-11-01': dashscope(0.05, 0.2),
      'qwen-turbo-2025-04-28': dashscope(0.05, 0.2),
      'qwen-coder': dashscope(0.3, 1.5),
      'qwen-flash': dashscope(0.05, 0.4),
    },
  },
  'dashscope-cn': {
    currency: 'CNY',
    batchFactor: 0.5,
    models: {
      'qwen-max': dashscope(2.4, 9.6),
      'qwen-plus': dashscope(0.8, 2),
      'qwen-turbo': dashscope(0.3, 0.6),
      'qwen-flash': dashscope(0.15, 1.5),
    },
  },
  'dashscope-us': { currency: 'USD', batchFactor: 0.5, models: {} },
  openai: {
    currency: 'USD',
    batchFactor: 0.5,
    models: {
      'gpt-4o': { input: 2.5, output: 10, cachedInput: 1.25 },
      'gpt-4o-mini': { input: 0.15, output: 0.6, cachedInput: 0.075 },
      'gpt-4.1': { input: 2, output: 8, cachedInput: 0.5 },
      'gpt-4.1-mini': { input: 0.4, output: 1.6, cachedInput: 0.1 },
      'gpt-4.1-nano': { input: 0.1, output: 0.4, cachedInput: 0.025 },
    },
  },
};

/** Which table a provider's base URL bills by; undefined for a custom endpoint. */
export function priceRegionOf(baseUrl: string): PriceRegion | undefined {
  let host: string;
  try {
    host = new URL(baseUrl).hostname;
  } catch {
    return undefined;
  }
  if (host === 'dashscope-intl.aliyuncs.com') return 'dashscope-intl';
  if (host === 'dashscope.aliyuncs.com') return 'dashscope-cn';
  if (host === 'dashscope-us.aliyuncs.com') return 'dashscope-us';
  if (host === 'api.openai.com') return 'openai';
  return undefined;
}
