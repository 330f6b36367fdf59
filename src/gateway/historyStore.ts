/**
 * Durable history: the leading gateway is the single writer. Appends are batched and
 * flushed within `flushIntervalMs` (≤ 100 ms) and on shutdown; retention deletes whole
 * segments older than the setting. On start, every segment inside retention is read back.
 */
import fs from 'node:fs';
import path from 'node:path';
import type { AttemptRecord } from '../core/types';
import { InMemoryHistory, type HistoryStore, type RecordQuery } from './history';
import { endsTorn, HOUR_MS, listSegments, readSegment, segmentName, type ReadStats } from './segments';
import { errorMessage } from '../core/values';

export interface JsonlHistoryOptions {
  dir: string;
  retentionMs?: number;
  flushIntervalMs?: number;
  /** How many recent records to keep in memory for `/_rlm/requests`. */
  recentCapacity?: number;
  now?: () => number;
}

export const DEFAULT_RETENTION_MS = 7 * 24 * HOUR_MS;

export interface HistoryStatus {
  dir: string;
  /** Records written to segment files since this process opened the history. */
  flushedRecords: number;
  pendingRecords: number;
  loaded: ReadStats;
  writeError?: { message: string; at: number };
  droppedRecords: number;
}

/** Records kept waiting while writes fail; past this the oldest are given up (and counted). */
export const MAX_PENDING_RECORDS = 100_000;
const RETRY_MS = { first: 1_000, max: 30_000 };

export class JsonlHistory implements HistoryStore {
  readonly dir: string;
  readonly retentionMs: number;
  private readonly flushIntervalMs: number;
  private readonly now: () => number;
  private pending: AttemptRecord[] = [];
  private timer: NodeJS.Timeout | undefined;
  private writing: Promise<void> = Promise.resolve();
  private readonly recentStore: InMemoryHistory;
  private flushed = 0;
  private dropped = 0;
  /** Segments this process has appended to (their last line is known to be whole). */
  private readonly checked = new Set<string>();
  private writeError: { message: string; at: number } | undefined;
  private retryMs = RETRY_MS.first;
  loaded: ReadStats = { records: 0, malformed: 0, torn: 0 };

  constructor(options: JsonlHistoryOptions) {
    this.dir = options.dir;
    this.retentionMs = options.retentionMs ?? DEFAULT_RETENTION_MS;
    this.flushIntervalMs = Math.min(100, options.flushIntervalMs ?? 50);
    this.now = options.now ?? Date.now;
    this.recentStore = new InMemoryHistory(options.recentCapacity ?? 50_000);
    fs.mkdirSync(this.dir, { recursive: true, mode: 0o700 });
  }

  /** Read every segment inside retention, oldest first, into `onRecord` (and the recent list). */
  load(onRecord: (r: AttemptRecord) => void): ReadStats {
    const stats: ReadStats = { records: 0, malformed: 0, torn: 0 };
    const cutoff = this.now() - this.retentionMs;
    for (const seg of listSegments(this.dir)) {
      if (seg.start + HOUR_MS <= cutoff) continue;
      readSegment(
        seg.file,
        (r) => {
          if (r.startedAt < cutoff) return;
          this.recentStore.append(r);
          onRecord(r);
        },
        stats,
      );
    }
    this.loaded = stats;
    return stats;
  }

  append(record: AttemptRecord): void {
    this.pending.push(record);
    this.recentStore.append(record);
    this.schedule(this.flushIntervalMs);
  }

  private schedule(ms: number): void {
    if (this.timer) return;
    this.timer = setTimeout(() => {
      this.timer = undefined;
      void this.flush();
    }, ms);
    this.timer.unref?.();
  }

  recent(query: RecordQuery): AttemptRecord[] {
    return this.recentStore.recent(query);
  }

  /**
   * Write what is pending; resolves once it is in the segment files, or once the write has
   * failed and its records wait for the retry. Never rejects: a full disk must not stop the
   * gateway (an unhandled rejection ends the CLI) nor history for good.
   */
  flush(): Promise<void> {
    if (this.timer) {
      clearTimeout(this.timer);
      this.timer = undefined;
    }
    const batch = this.pending;
    this.pending = [];
    if (batch.length > 0) {
      this.writing = this.writing.then(() => this.write(batch));
    }
    return this.writing;
  }

  private async write(batch: AttemptRecord[]): Promise<void> {
    const bySegment = new Map<string, string[]>();
    for (const r of batch) {
      const name = segmentName(r.startedAt);
      let lines = bySegment.get(name);
      if (!lines) bySegment.set(name, (lines = []));
      lines.push(JSON.stringify(r));
    }
    const unwritten: AttemptRecord[] = [];
    for (const [name, lines] of bySegment) {
      try {
        const file = path.join(this.dir, name);
        // A segment a crash left without its last newline would glue our first record to the
        // torn line, and both would be lost on reading: end the torn line first.
        const lead = this.checked.has(name) ? '' : endsTorn(file) ? '\n' : '';
        await fs.promises.appendFile(file, lead + lines.join('\n') + '\n', { mode: 0o600 });
        this.checked.add(name);
        this.flushed += lines.length;
      } catch (e) {
        this.writeError = { message: `${name}: ${errorMessage(e)}`, at: this.now() };
        unwritten.push(...batch.filter((r) => segmentName(r.startedAt) === name));
      }
    }
    if (unwritten.length === 0) {
      this.writeError = undefined;
      this.retryMs = RETRY_MS.first;
      return;
    }
    // Keep them, oldest first, ahead of what arrived meanwhile; bounded, so memory is too.
    this.pending = [...unwritten, ...this.pending];
    if (this.pending.length > MAX_PENDING_RECORDS) {
      this.dropped += this.pending.length - MAX_PENDING_RECORDS;
      this.pending = this.pending.slice(-MAX_PENDING_RECORDS);
    }
    this.schedule(this.retryMs);
    this.retryMs = Math.min(RETRY_MS.max, this.retryMs * 2);
  }

  /** Delete whole segments that ended before the retention window. Returns their names. */
  applyRetention(): string[] {
    const cutoff = this.now() - this.retentionMs;
    const deleted: string[] = [];
    for (const seg of listSegments(this.dir)) {
      if (seg.start + HOUR_MS <= cutoff) {
        fs.rmSync(seg.file, { force: true });
        deleted.push(path.basename(seg.file));
      }
    }
    return deleted;
  }

  /** Records with startedAt in [from, to), oldest first, read from the segments (durable ones only). */
  async readRange(from: number, to: number): Promise<AttemptRecord[]> {
    await this.flush();
    const out: AttemptRecord[] = [];
    const stats: ReadStats = { records: 0, malformed: 0, torn: 0 };
    for (const seg of listSegments(this.dir)) {
      if (seg.start + HOUR_MS <= from || seg.start >= to) continue;
      readSegment(
        seg.file,
        (r) => {
          if (r.startedAt >= from && r.startedAt < to) out.push(r);
        },
        stats,
      );
    }
    return out.sort((a, b) => a.startedAt - b.startedAt);
  }

  /** Remove every segment (the "Clear History" command). */
  async clear(): Promise<void> {
    await this.flush();
    for (const seg of listSegments(this.dir)) fs.rmSync(seg.file, { force: true });
    this.recentStore.clear();
  }

  status(): HistoryStatus {
    return {
      dir: this.dir,
      flushedRecords: this.flushed,
      pendingRecords: this.pending.length,
      loaded: this.loaded,
      droppedRecords: this.dropped,
      ...(this.writeError ? { writeError: this.writeError } : {}),
    };
  }
}
