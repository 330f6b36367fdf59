/**
 * The paced batch runner: sends a Batch-API-format JSONL file through the gateway, which
 * paces it to the model's limits, and writes results and errors as JSONL beside the input,
 * one line as each answer comes. A cancelled or crashed run resumes: lines whose custom_id
 * already has a result are skipped.
 */
import fs from 'node:fs';
import { completedIds, errorLine, formatBatchProblem, parseBatchFile, resultLine, type BatchLine } from '../core/batch';
import { errorMessage } from '../core/values';

export interface BatchRunOptions {
  file: string;
  gatewayUrl: string;
  token: string;
  /** Replace every line's model. */
  model?: string;
  workspace?: string;
  /** Requests in flight at once; the gateway's queue does the pacing. */
  concurrency?: number;
  signal?: AbortSignal;
  onProgress?: (p: BatchProgress) => void;
}

export interface BatchProgress {
  total: number;
  done: number;
  failed: number;
  skipped: number;
  tokens: number;
}

export interface BatchRunResult extends BatchProgress {
  resultsFile: string;
  errorsFile: string;
  malformed: string[];
  cancelled: boolean;
}

export function outputFiles(file: string): { results: string; errors: string } {
  const base = file.replace(/\.jsonl?$/i, '');
  return { results: `${base}.results.jsonl`, errors: `${base}.errors.jsonl` };
}

export async function runBatch(o: BatchRunOptions): Promise<BatchRunResult> {
  const text = fs.readFileSync(o.file, 'utf8');
  const { lines, problems } = parseBatchFile(text);
  const out = outputFiles(o.file);
  const done = completedIds(fs.existsSync(out.results) ? fs.readFileSync(out.results, 'utf8') : '');
  const reported = new Set<number>();
  if (fs.existsSync(out.errors)) {
    for (const raw of fs.readFileSync(out.errors, 'utf8').split('\n')) {
      const m = /"line":(\d+)/.exec(raw);
      if (m) reported.add(Number(m[1]));
    }
  }
  // a malformed line is reported once, with its number; the rest run
  for (const p of problems)
    if (!reported.has(p.line))
      fs.appendFileSync(out.errors, errorLine(p.customId, 'invalid_line', formatBatchProblem(p), p.line) + '\n');
  const pending = lines.filter((l) => !done.has(l.customId));
  const progress: BatchProgress = {
    total: lines.length,
    done: lines.length - pending.length,
    failed: 0,
    skipped: lines.length - pending.length,
    tokens: 0,
  };
  o.onProgress?.({ ...progress });
  let next = 0;
  const worker = async () => {
    while (next < pending.length && !o.signal?.aborted) {
      const line = pending[next++]!;
      await runLine(o, line, out, progress);
      o.onProgress?.({ ...progress });
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, o.concurrency ?? 8) }, worker));
  return {
    ...progress,
    resultsFile: out.results,
    errorsFile: out.errors,
    malformed: problems.map(formatBatchProblem),
    cancelled: o.signal?.aborted ?? false,
  };
}

async function runLine(
  o: BatchRunOptions,
  line: BatchLine,
  out: { results: string; errors: string },
  progress: BatchProgress,
): Promise<void> {
  const body = { ...line.body, ...(o.model ? { model: o.model } : {}), stream: false };
  let res: Response;
  try {
    res = await fetch(`${o.gatewayUrl}${line.url}`, {
      method: 'POST',
      headers: {
        authorization: `Bearer ${o.token}`,
        'content-type': 'application/json',
        'x-rlm-source': 'batch-runner',
        // a batch yields to interactive requests, and waits for its turn rather than being
        // refused: the gateway paces it
        'x-rlm-priority': 'background',
        'x-rlm-max-wait-ms': '600000',
        ...(o.workspace ? { 'x-rlm-workspace': o.workspace } : {}),
      },
      body: JSON.stringify(body),
      ...(o.signal ? { signal: o.signal } : {}),
    });
  } catch (e) {
    if (o.signal?.aborted) return; // not written: it runs again on resume
    progress.failed++;
    fs.appendFileSync(out.errors, errorLine(line.customId, 'network', errorMessage(e), line.line) + '\n');
    return;
  }
  const text = await res.text().catch(() => '');
  let json: unknown = text;
  try {
    json = JSON.parse(text);
  } catch {
    // keep the text
  }
  if (res.ok) {
    const usage = (json as { usage?: { total_tokens?: number } }).usage;
    progress.tokens += usage?.total_tokens ?? 0;
    progress.done++;
    fs.appendFileSync(
      out.results,
      resultLine(line.customId, res.status, res.headers.get('x-request-id') ?? '', json) + '\n',
    );
  } else {
    progress.failed++;
    const err = (json as { error?: { code?: string; message?: string } }).error;
    fs.appendFileSync(
      out.errors,
      errorLine(line.customId, err?.code ?? String(res.status), err?.message ?? text.slice(0, 500), line.line) + '\n',
    );
  }
}
