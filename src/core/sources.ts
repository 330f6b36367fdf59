/**
 * Who spends the quota: per caller (`source`) and model, minute counts of calls, tokens,
 * provider 429s and local refusals, so the Overview can say which tool uses what share of the
 * window. Kept apart from the per-model buckets (src/core/metrics.ts), whose peaks are per
 * (model, workspace). The number of sources kept is capped: a caller inventing a new label per
 * request ends up in one "(other sources)" row rather than in memory. The background lane's
 * share is kept apart too: work that can wait is what the Batch API is for (src/core/advice.ts).
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

/** A minute's counts: all calls, and those on the background lane among them. */
interface Minute {
  all: Counts;
  background: Counts;
}

/** A model's use in a window, with the background lane's part of it. */
export interface LaneUse {
  calls: number;
  tokens: number;
  backgroundCalls: number;
  backgroundTokens: number;
  /** The background calls' cost in real time, when given prices; null when the model has none. */
  backgroundCost?: Cost | null;
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
  private readonly bySource = new Map<string, Map<string, Map<number, Minute>>>();

  add(r: AttemptRecord): void {
    const source = this.bySource.has(r.source) || this.bySource.size < MAX_SOURCES ? r.source : OTHER_SOURCES;
    let models = this.bySource.get(source);
    if (!models) this.bySource.set(source, (models = new Map()));
    let minutes = models.get(r.model);
    if (!minutes) models.set(r.model, (minutes = new Map()));
    const minute = Math.floor(r.startedAt / MINUTE_MS) * MINUTE_MS;
    let m = minutes.get(minute);
    if (!m) minutes.set(minute, (m = { all: empty(), background: empty() }));
    count(m.all, r);
    if (r.lane === 'background') count(m.background, r);
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
        const sum = sumOf(minutes, start, to, 'all');
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

  /** Per model with calls in [from, to): its calls and tokens, and the background lane's part. */
  laneUse(from: number, to: number, pricing?: Pricing): Record<string, LaneUse> {
    const start = Math.floor(from / MINUTE_MS) * MINUTE_MS;
    // a model's minutes over every source: its price applies to their sum
    const byModel = new Map<string, Minute>();
    for (const models of this.bySource.values())
      for (const [model, minutes] of models) {
        let sum = byModel.get(model);
        if (!sum) byModel.set(model, (sum = { all: empty(), background: empty() }));
        sumOf(minutes, start, to, 'all', sum.all);
        sumOf(minutes, start, to, 'background', sum.background);
      }
    const out: Record<string, LaneUse> = {};
    for (const [model, { all, background: bg }] of byModel) {
      if (all.calls === 0) continue;
      out[model] = {
        calls: all.calls,
        tokens: all.promptTokens + all.completionTokens,
        backgroundCalls: bg.calls,
        backgroundTokens: bg.promptTokens + bg.completionTokens,
        ...(pricing && bg.calls > 0 ? { backgroundCost: costOf(pricing, model, bg) } : {}),
      };
    }
    return out;
  }
}

function count(c: Counts, r: AttemptRecord): void {
  c.calls++;
  c.promptTokens += r.promptTokens;
  c.completionTokens += r.completionTokens;
  c.cachedTokens += r.cachedTokens ?? 0;
  if (r.outcome === 'rejected') c.localRejections++;
  else if (r.status === 429) c.providerLimited++;
}

/** One lane's counts over the minutes in [start, to), added to `sum`. */
function sumOf(minutes: Map<number, Minute>, start: number, to: number, lane: keyof Minute, sum = empty()): Counts {
  for (const [minute, m] of minutes) {
    if (minute < start || minute >= to) continue;
    for (const k of Object.keys(sum) as (keyof Counts)[]) sum[k] += m[lane][k];
  }
  return sum;
}
