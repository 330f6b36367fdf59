/**
 * Every admission, written synchronously before the request goes upstream, so a gateway
 * that takes over after a crash knows what the provider has already counted in the last
 * minute — including requests that were still in flight when the old leader died, which
 * have no record yet. Charges are the reserved (upper-bound) tokens: replaying them can
 * under-use the first minute a little, never overrun it.
 */
import fs from 'node:fs';
import { errorMessage } from '../core/values';
import { endsTorn, isRegularFile } from './segments';

// Append, create, and never through a link: the journal lives in the user's private state folder.
const APPEND_NO_FOLLOW = fs.constants.O_WRONLY | fs.constants.O_APPEND | fs.constants.O_CREAT | fs.constants.O_NOFOLLOW;

export interface JournalEntry {
  at: number;
  tokens: number;
  keys: string[];
}

export class AdmissionJournal {
  private fd: number | undefined;
  private size = 0;
  /** The last write failed: said once, and once more when writing works again. */
  private failing = false;

  constructor(
    readonly file: string,
    private readonly maxBytes = 4 * 1024 * 1024,
  ) {}

  private open(): number {
    if (this.fd === undefined) {
      this.fd = fs.openSync(this.file, APPEND_NO_FOLLOW, 0o600);
      this.size = fs.fstatSync(this.fd).size;
      // a crash may have left a torn last line: end it, so the next entry starts a line of its own
      if (endsTorn(this.file)) {
        fs.writeSync(this.fd, '\n');
        this.size++;
      }
    }
    return this.fd;
  }

  record(at: number, keys: readonly string[], tokens: number): void {
    const line = JSON.stringify([at, tokens, keys]) + '\n';
    fs.writeSync(this.open(), line);
    this.size += line.length;
    if (this.size > this.maxBytes) this.rotate();
  }

  /**
   * Record an admission on the request path. The journal only helps a successor rebuild the last
   * minute: when it cannot be written (a full disk), the request still goes — not answered with a
   * 500 after the limiter already charged it — and the failure is logged once.
   */
  tryRecord(at: number, keys: readonly string[], tokens: number, log?: (line: string) => void): void {
    try {
      this.record(at, keys, tokens);
      if (this.failing) log?.('admission journal: writing again');
      this.failing = false;
    } catch (e) {
      if (!this.failing)
        log?.(
          `admission journal: cannot write (${errorMessage(e)}); requests go on, a successor may under-count this minute`,
        );
      this.failing = true;
    }
  }

  private rotate(): void {
    this.close();
    fs.renameSync(this.file, `${this.file}.1`);
  }

  /** Entries admitted after `since`, oldest first; damaged lines are skipped. */
  readSince(since: number): JournalEntry[] {
    const out: JournalEntry[] = [];
    for (const f of [`${this.file}.1`, this.file]) {
      let text: string;
      if (!isRegularFile(f)) continue;
      try {
        text = fs.readFileSync(f, 'utf8');
      } catch {
        continue;
      }
      for (const line of text.split('\n')) {
        if (!line) continue;
        try {
          const [at, tokens, keys] = JSON.parse(line) as [number, number, string[]];
          if (typeof at === 'number' && at > since && typeof tokens === 'number' && Array.isArray(keys))
            out.push({ at, tokens, keys });
        } catch {
          // a torn last line from a crash: nothing to replay from it
        }
      }
    }
    return out.sort((a, b) => a.at - b.at);
  }

  close(): void {
    if (this.fd !== undefined) fs.closeSync(this.fd);
    this.fd = undefined;
  }
}
