/**
 * History segments: append-only JSONL, one file per UTC hour (`2026-11-30T12.jsonl`).
 * Reading is forgiving: a torn last line (a crash mid-write) is skipped, a malformed line is
 * counted and skipped, and every complete record is kept.
 */
import fs from 'node:fs';
import path from 'node:path';
import { isAttemptRecord } from '../core/export';
import type { AttemptRecord } from '../core/types';

export const HOUR_MS = 3_600_000;

export function segmentName(at: number): string {
  return `${new Date(Math.floor(at / HOUR_MS) * HOUR_MS).toISOString().slice(0, 13)}.jsonl`;
}

/** Start of the hour a segment covers, or undefined for files that are not segments. */
export function segmentStart(name: string): number | undefined {
  const m = /^(\d{4}-\d{2}-\d{2}T\d{2})\.jsonl$/.exec(name);
  return m ? Date.parse(`${m[1]}:00:00Z`) : undefined;
}

export function listSegments(dir: string): { file: string; start: number }[] {
  let names: string[];
  try {
    names = fs.readdirSync(dir);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw e;
  }
  return names
    .map((n) => ({ file: path.join(dir, n), start: segmentStart(n) }))
    .filter((s): s is { file: string; start: number } => s.start !== undefined)
    .sort((a, b) => a.start - b.start);
}

export interface ReadStats {
  records: number;
  malformed: number;
  /** A last line without its newline: a write cut short. */
  torn: number;
}

/**
 * Is this a plain file (not a link, a device or a folder)? A link to /dev/zero or /dev/full in
 * a state folder would otherwise be read forever and take the process down.
 */
export function isRegularFile(file: string): boolean {
  try {
    return fs.lstatSync(file).isFile();
  } catch {
    return false;
  }
}

/** Read one segment, calling `onRecord` for each good record. Anything but a plain file is skipped. */
export function readSegment(file: string, onRecord: (r: AttemptRecord) => void, stats: ReadStats): void {
  if (!isRegularFile(file)) return;
  const text = fs.readFileSync(file, 'utf8');
  let start = 0;
  while (start < text.length) {
    const nl = text.indexOf('\n', start);
    if (nl === -1) {
      // no newline: the writer died mid-line; a complete JSON object still counts as torn
      if (text.slice(start).trim() !== '') stats.torn++;
      break;
    }
    const line = text.slice(start, nl);
    start = nl + 1;
    if (line.trim() === '') continue;
    let parsed: unknown;
    try {
      parsed = JSON.parse(line);
    } catch {
      stats.malformed++;
      continue;
    }
    if (isAttemptRecord(parsed)) {
      stats.records++;
      onRecord(parsed);
    } else stats.malformed++;
  }
}

/** Does this file end in the middle of a line? (Missing or empty files do not.) */
export function endsTorn(file: string): boolean {
  let fd: number | undefined;
  try {
    fd = fs.openSync(file, 'r');
    const size = fs.fstatSync(fd).size;
    if (size === 0) return false;
    const last = Buffer.alloc(1);
    fs.readSync(fd, last, 0, 1, size - 1);
    return last[0] !== 0x0a;
  } catch {
    return false;
  } finally {
    if (fd !== undefined) fs.closeSync(fd);
  }
}
