/**
 * Large jobs: a JSONL file in the Batch API's line format
 * (`{"custom_id","method":"POST","url":"/v1/chat/completions","body":{…}}`), read and checked
 * line by line, estimated against the limits, and written back as results and errors in
 * the Batch API's output format, so a run can resume and both paths produce the same files.
 */
import type { Endpoint, ModelLimits } from './types';

export interface BatchLine {
  /** 1-based line number in the file. */
  line: number;
  customId: string;
  method: 'POST';
  url: string;
  endpoint: Endpoint;
  body: Record<string, unknown>;
}

export interface BatchProblem {
  line: number;
  customId?: string;
  message: string;
}

/** Model Studio's Batch API limits (docs/PROVIDER.md; *unverified* figures kept tolerant). */
export const BATCH_LIMITS = { maxLines: 50_000, maxFileBytes: 500 * 1024 * 1024, maxLineBytes: 6 * 1024 * 1024 };

const URLS: Record<string, Endpoint> = {
  '/v1/chat/completions': 'chat.completions',
  '/v1/completions': 'completions',
  '/v1/embeddings': 'embeddings',
  '/v1/responses': 'responses',
};

/** Parse every line; a bad line is a problem with its number, and the others still run. */
export function parseBatchFile(text: string): { lines: BatchLine[]; problems: BatchProblem[] } {
  const lines: BatchLine[] = [];
  const problems: BatchProblem[] = [];
  const seen = new Map<string, number>();
  text.split('\n').forEach((raw, i) => {
    const line = i + 1;
    if (raw.trim() === '') return;
    let v: unknown;
    try {
      v = JSON.parse(raw);
    } catch {
      problems.push({ line, message: 'is not valid JSON' });
      return;
    }
    if (typeof v !== 'object' || v === null || Array.isArray(v))
      return void problems.push({ line, message: 'is not a JSON object' });
    const o = v as Record<string, unknown>;
    const customId = typeof o.custom_id === 'string' && o.custom_id.trim() !== '' ? o.custom_id : undefined;
    if (!customId) return void problems.push({ line, message: 'has no "custom_id" (a unique string per line)' });
    const prev = seen.get(customId);
    if (prev !== undefined)
      return void problems.push({ line, customId, message: `repeats custom_id "${customId}" of line ${prev}` });
    seen.set(customId, line);
    if (o.method !== 'POST')
      return void problems.push({
        line,
        customId,
        message: `"method" must be "POST", not ${JSON.stringify(o.method)}`,
      });
    const endpoint = typeof o.url === 'string' ? URLS[o.url] : undefined;
    if (!endpoint)
      return void problems.push({ line, customId, message: `"url" must be one of ${Object.keys(URLS).join(', ')}` });
    if (typeof o.body !== 'object' || o.body === null || Array.isArray(o.body))
      return void problems.push({ line, customId, message: '"body" must be the request object' });
    const body = o.body as Record<string, unknown>;
    if (typeof body.model !== 'string' || body.model === '')
      return void problems.push({ line, customId, message: '"body.model" is missing' });
    lines.push({ line, customId, method: 'POST', url: o.url as string, endpoint, body });
  });
  return { lines, problems };
}

/** Extra checks before uploading to the Batch API: one model per file, sizes. */
export function checkForBatchApi(text: string, lines: BatchLine[]): BatchProblem[] {
  const problems: BatchProblem[] = [];
  const bytes = new TextEncoder().encode(text).length;
  if (bytes > BATCH_LIMITS.maxFileBytes)
    problems.push({
      line: 0,
      message: `the file is ${bytes} bytes, over the Batch API's ${BATCH_LIMITS.maxFileBytes}`,
    });
  if (lines.length > BATCH_LIMITS.maxLines)
    problems.push({
      line: 0,
      message: `the file has ${lines.length} requests, over the Batch API's ${BATCH_LIMITS.maxLines}`,
    });
  const first = lines[0];
  for (const l of lines) {
    if (first && l.body.model !== first.body.model)
      problems.push({
        line: l.line,
        customId: l.customId,
        message:
          `uses model "${String(l.body.model)}", but line ${first.line} uses ` +
          `"${String(first.body.model)}": one model per batch file`,
      });
    if (first && l.url !== first.url)
      problems.push({
        line: l.line,
        customId: l.customId,
        message: `uses ${l.url}, but line ${first.line} uses ${first.url}: one endpoint per batch file`,
      });
    const size = new TextEncoder().encode(JSON.stringify(l.body)).length;
    if (size > BATCH_LIMITS.maxLineBytes)
      problems.push({
        line: l.line,
        customId: l.customId,
        message: `is ${size} bytes, over ${BATCH_LIMITS.maxLineBytes} per request`,
      });
  }
  return problems;
}

export function formatBatchProblem(p: BatchProblem): string {
  return p.line > 0 ? `line ${p.line}${p.customId ? ` (${p.customId})` : ''}: ${p.message}` : p.message;
}

export interface BatchEstimate {
  requests: number;
  tokens: number;
  /** At the current limits, running flat out. */
  expectedMs: number;
  /** Which limit sets the pace. */
  boundBy: 'rpm' | 'tpm';
  /** The Batch API's completion window, for comparison. */
  batchWindowMs: number;
}

export function estimateBatch(perLineTokens: number[], limits: ModelLimits): BatchEstimate {
  const requests = perLineTokens.length;
  const tokens = perLineTokens.reduce((a, b) => a + b, 0);
  const byRequests = (requests / limits.rpm) * 60_000;
  const byTokens = (tokens / limits.tpm) * 60_000;
  return {
    requests,
    tokens,
    expectedMs: Math.max(byRequests, byTokens),
    boundBy: byTokens > byRequests ? 'tpm' : 'rpm',
    batchWindowMs: 24 * 3_600_000,
  };
}

/** One line of the results file (the Batch API's output format). */
export function resultLine(customId: string, status: number, requestId: string, body: unknown): string {
  return JSON.stringify({
    id: `rlm-${customId}`,
    custom_id: customId,
    response: { status_code: status, request_id: requestId, body },
    error: null,
  });
}

/** One line of the errors file. */
export function errorLine(customId: string | undefined, code: string, message: string, line?: number): string {
  return JSON.stringify({
    id: `rlm-${customId ?? `line-${line}`}`,
    custom_id: customId ?? null,
    response: null,
    error: { code, message, ...(line ? { line } : {}) },
  });
}

/** custom_ids that already have a result (a resumed run skips them). */
export function completedIds(resultsText: string): Set<string> {
  const done = new Set<string>();
  for (const raw of resultsText.split('\n')) {
    if (!raw.trim()) continue;
    try {
      const o = JSON.parse(raw) as { custom_id?: unknown; response?: { status_code?: number } };
      if (typeof o.custom_id === 'string' && o.response && (o.response.status_code ?? 0) < 400) done.add(o.custom_id);
    } catch {
      // a torn last line from a crash: that request runs again
    }
  }
  return done;
}

/** A Batch API job as the dashboard and the commands show it. */
export interface BatchJob {
  id: string;
  status: string;
  createdAt: number;
  total: number;
  completed: number;
  failed: number;
  outputFileId?: string;
  errorFileId?: string;
  /** What the job runs, e.g. /v1/chat/completions. */
  endpoint?: string;
}

/** The jobs of one workspace's key; `error` says why the list could not be read. */
export interface BatchJobsResponse {
  jobs: BatchJob[];
  fetchedAt: number;
  error?: string;
}

/** Read one provider Batch object (OpenAI shape); undefined when it is not one. */
export function toBatchJob(raw: unknown): BatchJob | undefined {
  if (typeof raw !== 'object' || raw === null) return undefined;
  const b = raw as Record<string, unknown>;
  if (typeof b.id !== 'string' || typeof b.status !== 'string') return undefined;
  const counts = (typeof b.request_counts === 'object' && b.request_counts !== null ? b.request_counts : {}) as Record<
    string,
    unknown
  >;
  const count = (v: unknown) => (typeof v === 'number' && Number.isFinite(v) ? v : 0);
  return {
    id: b.id,
    status: b.status,
    createdAt: count(b.created_at) * 1000,
    total: count(counts.total),
    completed: count(counts.completed),
    failed: count(counts.failed),
    ...(typeof b.output_file_id === 'string' && b.output_file_id ? { outputFileId: b.output_file_id } : {}),
    ...(typeof b.error_file_id === 'string' && b.error_file_id ? { errorFileId: b.error_file_id } : {}),
    ...(typeof b.endpoint === 'string' ? { endpoint: b.endpoint } : {}),
  };
}

/** Every Batch object of a provider's list (`data`); anything else is skipped. */
export function toBatchJobs(list: unknown): BatchJob[] {
  return (Array.isArray(list) ? list : []).map(toBatchJob).filter((j): j is BatchJob => j !== undefined);
}
