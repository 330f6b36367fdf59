/**
 * Who spends the quota: per caller (`source`) and model, minute counts of calls, tokens,
 * provider 429s and local refusals, so the Overview can say which tool uses what share of the
 * window. Kept apart from the per-model buckets (src/core/metrics.ts), whose peaks are per
 * (model, workspace). The number of sources kept is capped: a caller inventing a new label per
 * request ends up in one "(other sources)" row rather than in memory.
 */
import { costOf, type Cost, type Pricing } from './cost';
import { MINUTE_MS } from './metrics';
import type { AttemptRecord } from './types';

export const MAX_SOURCES = 200;
export const OTHER_SOURCES = '(other sources)';

interface Counts {
  calls: number;
  promptTokens: number;
  completionTokens: number;
  cachedTokens: number;
  providerLimited: number;
  localRejections: number;
}

export interface SourceRow {
  source: string;
  calls: number;
  tokens: number;
  /** Provider 429s of this source's calls, apart from local refusals. */
  providerLimited: number;
  localRejections: number;
  /** This source's share of all tokens in the window (0–1). */
  share: number;
  /** Its calls' estimated cost, when given prices; null when one of its models has none. */
  cost?: Cost | null;
}

const empty = (): Counts => ({
  calls: 0,
  promptTokens: 0,
  completionTokens: 0,
  cachedTokens: 0,
  providerLimited: 0,
  localRejections: 0,
});

export class SourceStore {
  /** source → model → minute → counts */
  private readonly bySource = new Map<string, Map<string, Map<number, Counts>>>();

  add(r: AttemptRecord): void {
    const source = this.bySource.has(r.source) || this.bySource.size < MAX_SOURCES ? r.source : OTHER_SOURCES;
    let models = this.bySource.get(source);
    if (!models) this.bySource.set(source, (models = new Map()));
    let minutes = models.get(r.model);
    if (!minutes) models.set(r.model, (minutes = new Map()));
    const minute = Math.floor(r.startedAt / MINUTE_MS) * MINUTE_MS;
    let c = minutes.get(minute);
    if (!c) minutes.set(minute, (c = empty()));
    c.calls++;
    c.promptTokens += r.promptTokens;
    c.completionTokens += r.completionTokens;
    c.cachedTokens += r.cachedTokens ?? 0;
    if (r.outcome === 'rejected') c.localRejections++;
    else if (r.status === 429) c.providerLimited++;
  }

  /** Forget minutes older than `before` (history retention), as the per-model buckets do. */
  dropBefore(before: number): void {
    const first = Math.floor(before / MINUTE_MS) * MINUTE_MS;
    for (const [source, models] of this.bySource) {
      for (const [model, minutes] of models) {
        for (const minute of minutes.keys()) if (minute < first) minutes.delete(minute);
        if (minutes.size === 0) models.delete(model);
      }
      if (models.size === 0) this.bySource.delete(source);
    }
  }

  clear(): void {
    this.bySource.clear();
  }

  /** One row per source with calls starting in [from, to), the busiest first. */
  report(from: number, to: number, pricing?: Pricing, model?: string): SourceRow[] {
    const start = Math.floor(from / MINUTE_MS) * MINUTE_MS;
    const rows: SourceRow[] = [];
    for (const [source, models] of this.bySource) {
      const row: SourceRow = { source, calls: 0, tokens: 0, providerLimited: 0, localRejections: 0, share: 0 };
      let amount = 0;
      let unknown = false;
      for (const [m, minutes] of models) {
        if (model !== undefined && m !== model) continue;
        const sum = empty();
        for (const [minute, c] of minutes) {
          if (minute < start || minute >= to) continue;
          for (const k of Object.keys(sum) as (keyof Counts)[]) sum[k] += c[k];
        }
        if (sum.calls === 0) continue;
        row.calls += sum.calls;
        row.tokens += sum.promptTokens + sum.completionTokens;
        row.providerLimited += sum.providerLimited;
        row.localRejections += sum.localRejections;
        const cost = pricing ? costOf(pricing, m, sum) : null;
        if (cost) amount += cost.amount;
        else unknown = true;
      }
      if (row.calls === 0) continue;
      if (pricing) row.cost = unknown ? null : { amount, currency: pricing.currency };
      rows.push(row);
    }
    const total = rows.reduce((n, r) => n + r.tokens, 0);
    for (const r of rows) r.share = total > 0 ? r.tokens / total : 0;
    return rows.sort((a, b) => b.tokens - a.tokens || b.calls - a.calls || a.source.localeCompare(b.source));
  }
}
