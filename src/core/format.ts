/**
 * One number format everywhere: compact where space is short ("16.7K", "1M"; in the user's
 * locale, so 中文 reads "100万"), grouped and whole below ten thousand ("1,234"), and the
 * compact forms read back from what a user types ("500k", "1M", "1,000,000").
 */
let locale: string | undefined;
let compact = new Intl.NumberFormat(undefined, { notation: 'compact', maximumFractionDigits: 1 });
let grouped = new Intl.NumberFormat(undefined, { maximumFractionDigits: 1 });

/**
 * Write numbers and durations in this locale from now on: VS Code's display language in the
 * extension, the page's language in the webview. Undefined, or one Intl does not know: the runtime's.
 */
export function setFormatLocale(wanted: string | undefined): void {
  try {
    locale = wanted ? Intl.getCanonicalLocales(wanted)[0] : undefined;
  } catch {
    locale = undefined;
  }
  compact = new Intl.NumberFormat(locale, { notation: 'compact', maximumFractionDigits: 1 });
  grouped = new Intl.NumberFormat(locale, { maximumFractionDigits: 1 });
  // English keeps the house style ("2.1 s", "3 min"), which Intl's English units do not write
  native = locale !== undefined && !locale.startsWith('en');
}

let native = false;

/** `value` in `unit` with `digits` decimals: "2.1 s" in English, 中文 "2.1秒" (Intl's short unit). */
function inUnit(value: number, unit: 'second' | 'minute' | 'hour', digits: number, english: string): string {
  if (!native) return `${value.toFixed(digits)} ${english}`;
  return new Intl.NumberFormat(locale, {
    style: 'unit',
    unit,
    unitDisplay: 'short',
    minimumFractionDigits: digits,
    maximumFractionDigits: digits,
  }).format(value);
}

/** A clock time ("12:03:04"), a date, a date with its time, and "12:03", in the same locale. */
export const formatTime = (t: number | string) => new Date(t).toLocaleTimeString(locale);
export const formatDate = (t: number | string) => new Date(t).toLocaleDateString(locale);
export const formatDateTime = (t: number | string) => new Date(t).toLocaleString(locale);
export const formatHourMinute = (t: number) =>
  new Date(t).toLocaleTimeString(locale, { hour: '2-digit', minute: '2-digit' });

/** A wait or an age in seconds with one decimal: "2.1 s"; 中文 "2.1秒". */
export const formatSeconds = (ms: number) => inUnit(ms / 1000, 'second', 1, 's');

/** A longer span, rounded to its unit: "45 s", "12 min", "1.5 h". */
export function formatDuration(ms: number): string {
  if (ms < 60_000) return inUnit(Math.ceil(ms / 1000), 'second', 0, 's');
  if (ms < 3_600_000) return inUnit(Math.round(ms / 60_000), 'minute', 0, 'min');
  return inUnit(ms / 3_600_000, 'hour', 1, 'h');
}

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
