/**
 * Log-scale latency histograms: bins 25 % wide, so a percentile read from one is within ±12 %
 * (src/core/metrics.ts keeps one per minute bucket for latency and for time to first token).
 */
const HIST_BASE = 1.25;
export const HIST_BINS = 64;
const LOG_BASE = Math.log(HIST_BASE);

export function histBin(ms: number): number {
  if (!(ms >= 1)) return 0;
  return Math.min(HIST_BINS - 1, 1 + Math.floor(Math.log(ms) / LOG_BASE));
}

function histValue(bin: number): number {
  if (bin === 0) return 0.5;
  // geometric middle of [base^(bin-1), base^bin)
  return Math.pow(HIST_BASE, bin - 0.5);
}

export function percentile(hist: Uint32Array, count: number, p: number): number | undefined {
  if (count === 0) return undefined;
  const rank = Math.max(1, Math.ceil(p * count));
  let seen = 0;
  for (let i = 0; i < hist.length; i++) {
    seen += hist[i]!;
    if (seen >= rank) return Math.round(histValue(i) * 10) / 10;
  }
  return undefined;
}
