/**
 * Export of attempt records. The CSV columns are fixed and documented in the README; a
 * field a record lacks is an empty cell.
 */
import { recordCost, type Cost, type Pricing } from './cost';
import type { AttemptRecord } from './types';

export const CSV_COLUMNS: (keyof AttemptRecord)[] = [
  'id',
  'startedAt',
  'model',
  'requestedModel',
  'workspace',
  'source',
  'endpoint',
  'stream',
  'status',
  'outcome',
  'errorKind',
  'errorCode',
  'promptTokens',
  'completionTokens',
  'totalTokens',
  'cachedTokens',
  'estimatedTokens',
  'queuedMs',
  'ttftMs',
  'latencyMs',
  'attempt',
  'fallbackFrom',
  'lane',
  'expectedWaitMs',
];

/**
 * One CSV cell (RFC 4180 quoting). Text that a spreadsheet would run as a formula (a caller's
 * `x-rlm-source` header or a provider's error code could start with "=") gets a leading
 * apostrophe, as OWASP's CSV-injection advice says; numbers stay numbers.
 */
export function csvCell(v: unknown): string {
  if (v === undefined || v === null) return '';
  const s = typeof v === 'string' && /^[=+\-@\t\r]/.test(v) ? `'${v}` : String(v);
  return /[",\n\r]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s;
}

/** RFC 4180 CSV: a header row of `columns`, then one row per item, each cell from `cell`. */
export function toCsv<T, C extends string>(
  columns: readonly C[],
  rows: readonly T[],
  cell: (row: T, column: C) => unknown,
): string {
  const lines = [columns.join(',')];
  for (const r of rows) lines.push(columns.map((c) => csvCell(cell(r, c))).join(','));
  return lines.join('\r\n') + '\r\n';
}

/** Each record with its estimated cost (null: no price for its model). */
export function withCosts(
  records: readonly AttemptRecord[],
  pricing: Pricing,
): (AttemptRecord & { cost: Cost | null })[] {
  return records.map((r) => ({ ...r, cost: recordCost(pricing, r) }));
}

/**
 * The records as CSV with the documented columns; `startedAt` as ISO 8601 UTC. With prices, two
 * more columns: `cost` (empty when the model has no price: unknown, not 0) and `currency`.
 */
export function recordsToCsv(records: readonly AttemptRecord[], pricing?: Pricing): string {
  const cell = (r: AttemptRecord, c: keyof AttemptRecord) =>
    c === 'startedAt' ? new Date(r.startedAt).toISOString() : r[c];
  if (!pricing) return toCsv(CSV_COLUMNS, records, cell);
  const columns = [...CSV_COLUMNS, 'cost', 'currency'] as const;
  return toCsv(columns, withCosts(records, pricing), (r, c) =>
    c === 'cost' ? r.cost?.amount : c === 'currency' ? r.cost?.currency : cell(r, c),
  );
}

/** Is this parsed JSON line a record we can use? (History files may hold damaged lines.) */
export function isAttemptRecord(v: unknown): v is AttemptRecord {
  if (typeof v !== 'object' || v === null) return false;
  const r = v as Record<string, unknown>;
  return (
    typeof r.id === 'string' &&
    typeof r.startedAt === 'number' &&
    typeof r.model === 'string' &&
    typeof r.outcome === 'string' &&
    typeof r.totalTokens === 'number' &&
    typeof r.latencyMs === 'number'
  );
}
