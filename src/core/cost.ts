/**
 * What requests cost, estimated from their tokens and a price table (src/core/prices.ts, with
 * the user's `prices` setting over it). Cached prompt tokens are billed at the cached price,
 * the rest of the prompt at the input price, completions at the output price; the Batch API
 * at the table's batch factor. A model without a price has an unknown cost — `null` — which
 * the views show as unknown and never add as 0.
 */
import type { MetricsReport, ModelRow } from './metrics';
import { PRICE_TABLES, priceRegionOf, type ModelPrice } from './prices';
import type { AttemptRecord, RateLimitConfig } from './types';

export interface Cost {
  amount: number;
  currency: string;
}

/** The prices in force: the provider region's table with the user's prices over it. */
export interface Pricing {
  currency: string;
  batchFactor: number;
  models: Record<string, ModelPrice>;
}

/** The tokens a cost is computed from (a record, a row of the per-model table). */
export interface BilledTokens {
  promptTokens: number;
  completionTokens: number;
  cachedTokens?: number;
}

export function pricingFor(config: Pick<RateLimitConfig, 'baseUrl' | 'prices'>): Pricing {
  const region = priceRegionOf(config.baseUrl);
  const table = region ? PRICE_TABLES[region] : undefined;
  return {
    // a custom endpoint has no table: the user's prices are in the currency they bill in
    currency: config.prices?.currency ?? table?.currency ?? 'USD',
    batchFactor: config.prices?.batchFactor ?? table?.batchFactor ?? 1,
    models: { ...table?.models, ...config.prices?.models },
  };
}

/** Per-1M prices × tokens, or null when the model has no price. */
export function costOf(pricing: Pricing, model: string, t: BilledTokens, batch = false): Cost | null {
  const price = pricing.models[model];
  if (!price) return null;
  const cached = Math.min(t.cachedTokens ?? 0, t.promptTokens);
  const amount =
    ((t.promptTokens - cached) * price.input +
      cached * (price.cachedInput ?? price.input) +
      t.completionTokens * price.output) /
    1_000_000;
  return { amount: batch ? amount * pricing.batchFactor : amount, currency: pricing.currency };
}

/** What cache hits saved: the cached prompt tokens at the input price less the cached price. */
export function cacheSavings(pricing: Pricing, model: string, cachedTokens: number): Cost | null {
  const price = pricing.models[model];
  if (!price) return null;
  const amount = (cachedTokens * (price.input - (price.cachedInput ?? price.input))) / 1_000_000;
  return { amount, currency: pricing.currency };
}

export const recordCost = (pricing: Pricing, r: AttemptRecord): Cost | null => costOf(pricing, r.model, r);

/** A report's rows and summary with their costs; the summary adds the rows it can price and counts the calls it cannot. */
export function priceReport<R extends MetricsReport>(report: R, pricing: Pricing): R {
  let amount = 0;
  let unpricedCalls = 0;
  let priced = false;
  const rows: ModelRow[] = report.rows.map((row) => {
    const cost = costOf(pricing, row.model, row);
    if (cost) {
      amount += cost.amount;
      priced = true;
    } else unpricedCalls += row.totalCalls;
    return { ...row, cost };
  });
  const cost = priced ? { amount, currency: pricing.currency, unpricedCalls } : null;
  return { ...report, rows, summary: { ...report.summary, cost } };
}

/** "$0.0123", "¥1.20", "0.50 EUR"; "unknown" when there is no price. Small amounts keep 3 significant digits. */
export function formatCost(cost: Cost | null | undefined, unknown = 'unknown'): string {
  if (!cost) return unknown;
  const a = cost.amount;
  const digits = a === 0 ? 2 : a < 0.01 ? Math.min(8, 2 - Math.floor(Math.log10(a))) : 2;
  const n = a.toFixed(digits);
  if (cost.currency === 'USD') return `$${n}`;
  if (cost.currency === 'CNY') return `¥${n}`;
  return `${n} ${cost.currency}`;
}
