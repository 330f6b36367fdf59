/**
 * One number format everywhere: compact where space is short ("16.7K", "1M"; in the user's
 * locale, so 中文 reads "100万"), grouped and whole below ten thousand ("1,234"), and the
 * compact forms read back from what a user types ("500k", "1M", "1,000,000").
 */
const compact = new Intl.NumberFormat(undefined, { notation: 'compact', maximumFractionDigits: 1 });
const grouped = new Intl.NumberFormat(undefined, { maximumFractionDigits: 1 });

export function formatCount(n: number): string {
  if (!Number.isFinite(n)) return '—';
  return Math.abs(n) >= 10_000 ? compact.format(n) : grouped.format(Math.round(n * 10) / 10);
}

/** "500k" → 500000, "1.5M" → 1500000, "1,000,000" / "1_000_000" → 1000000; NaN when it is none of these. */
export function parseCount(text: string): number {
  const m = /^(\d+(?:\.\d+)?)([kKmM]?)$/.exec(text.trim().replace(/[_,\s]/g, ''));
  if (!m) return NaN;
  const unit = m[2]!.toLowerCase() === 'k' ? 1_000 : m[2]!.toLowerCase() === 'm' ? 1_000_000 : 1;
  // 1.5M is whole; 12.5 is not (and stays 12.5, so a check for whole numbers refuses it)
  return Math.round(Number(m[1]) * unit * 1e6) / 1e6;
}
