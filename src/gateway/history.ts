/**
 * Where attempt records go. The durable JSONL store is its own issue; until then the
 * gateway keeps recent records in memory behind this interface.
 */
import type { AttemptRecord, Outcome } from '../core/types';

export interface RecordQuery {
  limit?: number;
  model?: string;
  outcome?: Outcome;
  errorKind?: string;
}

export interface HistoryStore {
  append(record: AttemptRecord): void;
  /** Newest first. */
  recent(query: RecordQuery): AttemptRecord[];
  flush(): Promise<void>;
}

export class InMemoryHistory implements HistoryStore {
  private readonly records: AttemptRecord[] = [];

  constructor(private readonly capacity = 50_000) {}

  append(record: AttemptRecord): void {
    this.records.push(record);
    if (this.records.length > this.capacity * 1.25) this.records.splice(0, this.records.length - this.capacity);
  }

  recent(query: RecordQuery): AttemptRecord[] {
    const limit = Math.min(Math.max(1, query.limit ?? 100), 10_000);
    const out: AttemptRecord[] = [];
    for (let i = this.records.length - 1; i >= 0 && out.length < limit; i--) {
      const r = this.records[i]!;
      if (query.model && r.model !== query.model && r.requestedModel !== query.model) continue;
      if (query.outcome && r.outcome !== query.outcome) continue;
      if (query.errorKind && r.errorKind !== query.errorKind) continue;
      out.push(r);
    }
    return out;
  }

  clear(): void {
    this.records.length = 0;
  }

  async flush(): Promise<void> {}
}
