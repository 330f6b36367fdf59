/**
 * The Batch API path for big jobs: real-time limits do not apply and it costs half. Files
 * are checked first (one model per file, unique custom_ids, sizes — each problem with its
 * line), then uploaded and submitted through the gateway (its pass-through keeps the
 * provider key out of the caller), and the output and error files are downloaded beside
 * the input when the job is done.
 */
import fs from 'node:fs';
import type OpenAI from 'openai';
import { checkForBatchApi, formatBatchProblem, parseBatchFile, toBatchJobs, type BatchJob } from '../core/batch';

export class BatchValidationError extends Error {
  constructor(readonly problems: string[]) {
    super(`the file cannot be submitted:\n${problems.join('\n')}`);
  }
}

export interface SubmittedBatch {
  id: string;
  status: string;
  inputFileId: string;
  requests: number;
}

export async function submitBatchFile(client: OpenAI, file: string): Promise<SubmittedBatch> {
  const text = fs.readFileSync(file, 'utf8');
  const { lines, problems } = parseBatchFile(text);
  const all = [...problems, ...checkForBatchApi(text, lines)];
  if (lines.length === 0 && all.length === 0) all.push({ line: 0, message: 'the file has no requests' });
  if (all.length > 0) throw new BatchValidationError(all.map(formatBatchProblem));
  const uploaded = await client.files.create({ file: fs.createReadStream(file), purpose: 'batch' });
  const batch = await client.batches.create({
    input_file_id: uploaded.id,
    endpoint: lines[0]!.url as '/v1/chat/completions',
    completion_window: '24h',
    metadata: { source: 'llm-rate-limit-monitor' },
  });
  return { id: batch.id, status: batch.status, inputFileId: uploaded.id, requests: lines.length };
}

export type { BatchJob };

export async function listBatchJobs(client: OpenAI): Promise<BatchJob[]> {
  const page = await client.batches.list({ limit: 50 });
  return toBatchJobs(page.data);
}

/** Download a finished job's output and error files next to `besideFile` (or into a folder). */
export async function downloadBatchResults(
  client: OpenAI,
  batchId: string,
  besideFile: string,
): Promise<{ output?: string; errors?: string; status: string }> {
  const b = await client.batches.retrieve(batchId);
  if (b.status !== 'completed') return { status: b.status };
  const base = besideFile.replace(/\.jsonl?$/i, '');
  const out: { output?: string; errors?: string; status: string } = { status: b.status };
  if (b.output_file_id) {
    out.output = `${base}.batch-output.jsonl`;
    fs.writeFileSync(out.output, await (await client.files.content(b.output_file_id)).text());
  }
  if (b.error_file_id) {
    out.errors = `${base}.batch-errors.jsonl`;
    fs.writeFileSync(out.errors, await (await client.files.content(b.error_file_id)).text());
  }
  return out;
}
