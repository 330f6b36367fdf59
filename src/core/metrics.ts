/**
 * Minute buckets per (model, workspace), built from attempt records; every dashboard
 * query is answered from them, never by rescanning records.
 *
 * Definitions (also in the README):
 * - Calls: attempts in the window, local refusals included (the caller saw a 429).
 * - Failures: calls whose outcome is neither `ok` nor `cancelled` (a caller hanging up is not a failure).
 * - Failure rate: failures ÷ calls.
 * - Avg RPM: calls ÷ active minutes, where an active minute is a calendar minute of the
 *   window in which that model (in that workspace) had at least one call. Idle minutes do
 *   not dilute it, so it compares directly with the RPM limit. Avg TPM likewise with total tokens.
 * - Peak RPM / TPM: the busiest calendar minute. Peak RPS / TPS: the busiest calendar second
 *   (kept for the last SECOND_DETAIL_MINUTES minutes of each series at full detail, as a peak afterwards).
 * - Avg TTFT: mean time to the first content chunk over streamed successful calls.
 * - Avg latency: mean arrival-to-last-byte time over successful calls.
 * - p50 / p95: from log-scale histograms (bins 25 % wide), so within ±12 %.
 */
import type { Cost } from './cost';
import { HIST_BINS, histBin, percentile } from './histogram';
import { ERROR_KINDS, type AttemptRecord, type ErrorKind } from './types';

export const MINUTE_MS = 60_000;
/** How long per-second detail stays before a bucket keeps only its peaks. */
export const SECOND_DETAIL_MINUTES = 15;

const KIND_INDEX: Record<ErrorKind, number> = Object.fromEntries(ERROR_KINDS.map((k, i) => [k, i])) as Record<
  ErrorKind,
  number
>;

/** The counters a minute bucket and a report's accumulator share, and how they add up. */
class Totals {
  calls = 0;
  failures = 0;
  cancelled = 0;
  localRejections = 0;
  tokens = 0;
  promptTokens = 0;
  completionTokens = 0;
  cachedTokens = 0;
  ttftSum = 0;
  ttftCount = 0;
  latencySum = 0;
  latencyCount = 0;
  readonly kinds = new Uint32Array(ERROR_KINDS.length);
  readonly latencyHist = new Uint32Array(HIST_BINS);
  readonly ttftHist = new Uint32Array(HIST_BINS);

  protected addTotals(o: Totals): void {
    this.calls += o.calls;
    this.failures += o.failures;
    this.cancelled += o.cancelled;
    this.localRejections += o.localRejections;
    this.tokens += o.tokens;
    this.promptTokens += o.promptTokens;
    this.completionTokens += o.completionTokens;
    this.cachedTokens += o.cachedTokens;
    this.ttftSum += o.ttftSum;
    this.ttftCount += o.ttftCount;
    this.latencySum += o.latencySum;
    this.latencyCount += o.latencyCount;
    for (let i = 0; i < this.kinds.length; i++) this.kinds[i]! += o.kinds[i]!;
    for (let i = 0; i < HIST_BINS; i++) {
      this.latencyHist[i]! += o.latencyHist[i]!;
      this.ttftHist[i]! += o.ttftHist[i]!;
    }
  }
}

class Bucket extends Totals {
  secondCalls: Uint32Array | undefined = new Uint32Array(60);
  secondTokens: Float64Array | undefined = new Float64Array(60);
  peakSecondCalls = 0;
  peakSecondTokens = 0;

  constructor(readonly minute: number) {
    super();
  }

  add(r: AttemptRecord): void {
    this.calls++;
    if (r.outcome === 'cancelled') this.cancelled++;
    else if (r.outcome !== 'ok') this.failures++;
    // A local refusal carries the kind of limit that refused it (rpm/tpm) but is not a
    // provider 429: it is counted apart, so "429s" always means what the provider answered.
    if (r.outcome === 'rejected') this.localRejections++;
    else if (r.errorKind) this.kinds[KIND_INDEX[r.errorKind]]!++;
    this.tokens += r.totalTokens;
    this.promptTokens += r.promptTokens;
    this.completionTokens += r.completionTokens;
    this.cachedTokens += r.cachedTokens ?? 0;
    if (r.outcome === 'ok') {
      this.latencySum += r.latencyMs;
      this.latencyCount++;
      this.latencyHist[histBin(r.latencyMs)]!++;
      if (r.ttftMs !== undefined) {
        this.ttftSum += r.ttftMs;
        this.ttftCount++;
        this.ttftHist[histBin(r.ttftMs)]!++;
      }
    }
    const sec = Math.floor((r.startedAt - this.minute) / 1000);
    if (this.secondCalls && this.secondTokens) {
      const c = ++this.secondCalls[sec]!;
      const t = (this.secondTokens[sec] = this.secondTokens[sec]! + r.totalTokens);
      if (c > this.peakSecondCalls) this.peakSecondCalls = c;
      if (t > this.peakSecondTokens) this.peakSecondTokens = t;
    }
  }

  /** Drop per-second detail, keep the peaks. */
  seal(): void {
    this.secondCalls = undefined;
    this.secondTokens = undefined;
  }
}

class Series {
  readonly buckets: Bucket[] = [];
  private sealedUpTo = 0;

  constructor(
    readonly model: string,
    readonly workspace: string,
  ) {}

  bucketFor(minute: number): Bucket {
    const b = this.buckets;
    const last = b[b.length - 1];
    if (last && last.minute === minute) return last;
    if (!last || last.minute < minute) {
      const fresh = new Bucket(minute);
      b.push(fresh);
      return fresh;
    }
    const i = lowerBound(b, minute);
    if (b[i]?.minute === minute) return b[i]!;
    const fresh = new Bucket(minute);
    b.splice(i, 0, fresh);
    return fresh;
  }

  sealBefore(minute: number): void {
    const b = this.buckets;
    while (this.sealedUpTo < b.length && b[this.sealedUpTo]!.minute < minute) b[this.sealedUpTo++]!.seal();
  }

  dropBefore(minute: number): void {
    const i = lowerBound(this.buckets, minute);
    if (i > 0) {
      this.buckets.splice(0, i);
      this.sealedUpTo = Math.max(0, this.sealedUpTo - i);
    }
  }

  range(from: number, to: number): Bucket[] {
    const b = this.buckets;
    const out: Bucket[] = [];
    for (let i = lowerBound(b, from); i < b.length && b[i]!.minute < to; i++) out.push(b[i]!);
    return out;
  }
}

function lowerBound(buckets: Bucket[], minute: number): number {
  let lo = 0;
  let hi = buckets.length;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (buckets[mid]!.minute < minute) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

export interface ModelRow {
  model: string;
  workspace: string;
  totalCalls: number;
  failedCalls: number;
  cancelledCalls: number;
  localRejections: number;
  failureRate: number;
  activeMinutes: number;
  avgRpm: number;
  avgTpm: number;
  peakRpm: number;
  peakTpm: number;
  peakRps: number;
  peakTps: number;
  totalTokens: number;
  promptTokens: number;
  completionTokens: number;
  /** Prompt tokens the provider served from its cache (billed at the cached price). */
  cachedTokens: number;
  /** Estimated cost (src/core/cost.ts): null when the model has no price. */
  cost?: Cost | null;
  avgTtftMs?: number;
  avgLatencyMs?: number;
  p50LatencyMs?: number;
  p95LatencyMs?: number;
  p50TtftMs?: number;
  p95TtftMs?: number;
  rateLimited: { rpm: number; tpm: number; burst: number };
  errorsByKind: Partial<Record<ErrorKind, number>>;
}

export interface MetricsSummary {
  totalModels: number;
  totalCalls: number;
  failures: number;
  failureRate: number;
  avgTtftMs?: number;
  avgLatencyMs?: number;
  /** Provider 429s by kind. */
  rateLimited: { rpm: number; tpm: number; burst: number };
  /** Requests the gateway itself refused (local 429s): their wait would have been too long. */
  localRejections: number;
  /** The rows' estimated costs added up; `unpricedCalls` were left out (no price); null when none had one. */
  cost?: (Cost & { unpricedCalls: number }) | null;
}

export interface MetricsReport {
  from: number;
  to: number;
  summary: MetricsSummary;
  rows: ModelRow[];
}

export interface SeriesPoint {
  t: number;
  calls: number;
  failures: number;
  tokens: number;
  /** The tokens' split, so a step can be priced (src/core/cost.ts). */
  promptTokens: number;
  completionTokens: number;
  cachedTokens: number;
  /** Calls per minute over the step. */
  rpm: number;
  tpm: number;
  p50LatencyMs?: number;
  p95LatencyMs?: number;
  p50TtftMs?: number;
  p95TtftMs?: number;
  rateLimited: { rpm: number; tpm: number; burst: number };
  localRejections: number;
}

export interface SecondPoint {
  t: number;
  calls: number;
  tokens: number;
}

export interface SeriesFilter {
  model?: string;
  workspace?: string;
}

class Accumulator extends Totals {
  activeMinutes = 0;
  peakRpm = 0;
  peakTpm = 0;
  peakRps = 0;
  peakTps = 0;

  add(b: Bucket): void {
    this.addTotals(b);
    if (b.calls > 0) this.activeMinutes++;
    if (b.calls > this.peakRpm) this.peakRpm = b.calls;
    if (b.tokens > this.peakTpm) this.peakTpm = b.tokens;
    if (b.peakSecondCalls > this.peakRps) this.peakRps = b.peakSecondCalls;
    if (b.peakSecondTokens > this.peakTps) this.peakTps = b.peakSecondTokens;
  }

  /** Fold another series' totals in (peaks are per series, so they take the max). */
  merge(o: Accumulator): void {
    this.addTotals(o);
    this.activeMinutes = Math.max(this.activeMinutes, o.activeMinutes);
    this.peakRpm = Math.max(this.peakRpm, o.peakRpm);
    this.peakTpm = Math.max(this.peakTpm, o.peakTpm);
    this.peakRps = Math.max(this.peakRps, o.peakRps);
    this.peakTps = Math.max(this.peakTps, o.peakTps);
  }

  kind(k: ErrorKind): number {
    return this.kinds[KIND_INDEX[k]]!;
  }

  rateLimited() {
    return { rpm: this.kind('rpm'), tpm: this.kind('tpm'), burst: this.kind('burst') };
  }
}

const round1 = (n: number) => Math.round(n * 10) / 10;
const mean = (sum: number, n: number) => (n > 0 ? round1(sum / n) : undefined);

export class MetricsStore {
  private readonly series = new Map<string, Series>();
  private newestMinute = 0;

  add(record: AttemptRecord): void {
    const minute = Math.floor(record.startedAt / MINUTE_MS) * MINUTE_MS;
    const key = `${record.model}\u0000${record.workspace}`;
    let s = this.series.get(key);
    if (!s) this.series.set(key, (s = new Series(record.model, record.workspace)));
    s.bucketFor(minute).add(record);
    if (minute > this.newestMinute) {
      this.newestMinute = minute;
      const sealBefore = minute - SECOND_DETAIL_MINUTES * MINUTE_MS;
      for (const each of this.series.values()) each.sealBefore(sealBefore);
    }
  }

  /** Forget buckets older than `before` (history retention). */
  dropBefore(before: number): void {
    for (const [key, s] of this.series) {
      s.dropBefore(Math.floor(before / MINUTE_MS) * MINUTE_MS);
      if (s.buckets.length === 0) this.series.delete(key);
    }
  }

  clear(): void {
    this.series.clear();
    this.newestMinute = 0;
  }

  private matching(filter: SeriesFilter): Series[] {
    return [...this.series.values()].filter(
      (s) =>
        (filter.model === undefined || s.model === filter.model) &&
        (filter.workspace === undefined || s.workspace === filter.workspace),
    );
  }

  /** Summary cards and one row per (model, workspace) for calls starting in [from, to). */
  report(from: number, to: number, filter: SeriesFilter = {}): MetricsReport {
    const start = Math.floor(from / MINUTE_MS) * MINUTE_MS;
    const total = new Accumulator();
    const rows: ModelRow[] = [];
    const models = new Set<string>();
    for (const s of this.matching(filter)) {
      const acc = new Accumulator();
      for (const b of s.range(start, to)) acc.add(b);
      if (acc.calls === 0) continue;
      total.merge(acc);
      models.add(s.model);
      rows.push(toRow(s.model, s.workspace, acc));
    }
    rows.sort((a, b) => a.model.localeCompare(b.model) || a.workspace.localeCompare(b.workspace));
    const summary: MetricsSummary = {
      totalModels: models.size,
      totalCalls: total.calls,
      failures: total.failures,
      failureRate: total.calls > 0 ? total.failures / total.calls : 0,
      rateLimited: total.rateLimited(),
      localRejections: total.localRejections,
    };
    const ttft = mean(total.ttftSum, total.ttftCount);
    const latency = mean(total.latencySum, total.latencyCount);
    if (ttft !== undefined) summary.avgTtftMs = ttft;
    if (latency !== undefined) summary.avgLatencyMs = latency;
    return { from, to, summary, rows };
  }

  /** Per-step points (step a multiple of a minute) for charts. */
  timeSeries(from: number, to: number, stepMs: number, filter: SeriesFilter = {}): SeriesPoint[] {
    const step = Math.max(MINUTE_MS, Math.round(stepMs / MINUTE_MS) * MINUTE_MS);
    const start = Math.floor(from / step) * step;
    const count = Math.max(0, Math.ceil((to - start) / step));
    const accs = Array.from({ length: count }, () => new Accumulator());
    for (const s of this.matching(filter)) {
      for (const b of s.range(start, to)) accs[Math.floor((b.minute - start) / step)]?.add(b);
    }
    const minutes = step / MINUTE_MS;
    return accs.map((acc, i) => {
      const p: SeriesPoint = {
        t: start + i * step,
        calls: acc.calls,
        failures: acc.failures,
        tokens: acc.tokens,
        promptTokens: acc.promptTokens,
        completionTokens: acc.completionTokens,
        cachedTokens: acc.cachedTokens,
        rpm: round1(acc.calls / minutes),
        tpm: round1(acc.tokens / minutes),
        rateLimited: acc.rateLimited(),
        localRejections: acc.localRejections,
      };
      assignPercentiles(p, acc);
      return p;
    });
  }

  /** Calls and tokens per calendar second, for the recent minutes that keep that detail. */
  secondSeries(from: number, to: number, filter: SeriesFilter = {}): SecondPoint[] {
    const start = Math.floor(from / 1000) * 1000;
    const n = Math.max(0, Math.ceil((to - start) / 1000));
    const points = Array.from({ length: n }, (_, i) => ({ t: start + i * 1000, calls: 0, tokens: 0 }));
    for (const s of this.matching(filter)) {
      for (const b of s.range(Math.floor(start / MINUTE_MS) * MINUTE_MS, to)) {
        if (!b.secondCalls || !b.secondTokens) continue;
        for (let sec = 0; sec < 60; sec++) {
          const i = (b.minute + sec * 1000 - start) / 1000;
          if (i < 0 || i >= n) continue;
          points[i]!.calls += b.secondCalls[sec]!;
          points[i]!.tokens += b.secondTokens[sec]!;
        }
      }
    }
    return points;
  }
}

function assignPercentiles(
  target: { p50LatencyMs?: number; p95LatencyMs?: number; p50TtftMs?: number; p95TtftMs?: number },
  acc: Accumulator,
): void {
  const put = (k: keyof typeof target, v: number | undefined) => {
    if (v !== undefined) target[k] = v;
  };
  put('p50LatencyMs', percentile(acc.latencyHist, acc.latencyCount, 0.5));
  put('p95LatencyMs', percentile(acc.latencyHist, acc.latencyCount, 0.95));
  put('p50TtftMs', percentile(acc.ttftHist, acc.ttftCount, 0.5));
  put('p95TtftMs', percentile(acc.ttftHist, acc.ttftCount, 0.95));
}

function toRow(model: string, workspace: string, acc: Accumulator): ModelRow {
  const errorsByKind: Partial<Record<ErrorKind, number>> = {};
  ERROR_KINDS.forEach((k) => {
    const n = acc.kind(k);
    if (n > 0) errorsByKind[k] = n;
  });
  const row: ModelRow = {
    model,
    workspace,
    totalCalls: acc.calls,
    failedCalls: acc.failures,
    cancelledCalls: acc.cancelled,
    localRejections: acc.localRejections,
    failureRate: acc.calls > 0 ? acc.failures / acc.calls : 0,
    activeMinutes: acc.activeMinutes,
    avgRpm: acc.activeMinutes > 0 ? round1(acc.calls / acc.activeMinutes) : 0,
    avgTpm: acc.activeMinutes > 0 ? round1(acc.tokens / acc.activeMinutes) : 0,
    peakRpm: acc.peakRpm,
    peakTpm: acc.peakTpm,
    peakRps: acc.peakRps,
    peakTps: acc.peakTps,
    totalTokens: acc.tokens,
    promptTokens: acc.promptTokens,
    completionTokens: acc.completionTokens,
    cachedTokens: acc.cachedTokens,
    rateLimited: acc.rateLimited(),
    errorsByKind,
  };
  const ttft = mean(acc.ttftSum, acc.ttftCount);
  const latency = mean(acc.latencySum, acc.latencyCount);
  if (ttft !== undefined) row.avgTtftMs = ttft;
  if (latency !== undefined) row.avgLatencyMs = latency;
  assignPercentiles(row, acc);
  return row;
}
