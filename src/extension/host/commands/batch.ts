/**
 * Run Batch File… (paced through the gateway, with progress, cancel and resume), Submit as
 * Batch Job… (the Batch API) and Show Batch Jobs (status, and the output files when done).
 */
import fs from 'node:fs';
import * as vscode from 'vscode';
import { estimateBatch, formatBatchProblem, formatDuration, parseBatchFile } from '../../../core/batch';
import { downloadBatchResults, listBatchJobs, submitBatchFile } from '../../../gateway/batchApi';
import { runBatch } from '../../../gateway/batchRunner';
import { estimateTokens } from '../../../gateway/tokenizer';
import { gatewayClient } from '../client';
import { Cancelled, pick } from '../prompts';
import type { CommandContext } from './common';

const JOBS_KEY = 'batchJobs';

async function pickFile(args: Record<string, unknown> | undefined, title: string): Promise<string> {
  if (typeof args?.path === 'string') return args.path;
  const uri = await vscode.window.showOpenDialog({
    canSelectMany: false,
    filters: { 'Batch JSONL': ['jsonl'] },
    openLabel: title,
  });
  if (!uri?.[0]) throw new Cancelled();
  return uri[0].fsPath;
}

export async function runBatchFile(ctx: CommandContext, args?: Record<string, unknown>): Promise<unknown> {
  const file = await pickFile(args, 'Run Batch File');
  if (!fs.existsSync(file)) throw new Error(`${file}: no such file`);
  const text = fs.readFileSync(file, 'utf8');
  const { lines, problems } = parseBatchFile(text);
  if (lines.length === 0)
    throw new Error(`no request in ${file} can run:\n${problems.map(formatBatchProblem).join('\n')}`);
  const model = typeof args?.model === 'string' ? args.model : String(lines[0]!.body.model);
  const limits = ctx.settings.config.models[model];
  if (!limits) throw new Error(`'${model}' has no account limit: set it first, so the run can be paced.`);
  const defaultMax = ctx.settings.config.defaultMaxOutputTokens;
  const estimate = estimateBatch(
    lines.map((l) => {
      const e = estimateTokens(l.endpoint, l.body, defaultMax);
      return e.promptTokens + e.maxOutputTokens;
    }),
    limits,
  );
  const summary =
    `${estimate.requests} requests, about ${estimate.tokens.toLocaleString()} tokens: ` +
    `${formatDuration(estimate.expectedMs)} paced at ${model}'s ` +
    `${estimate.boundBy === 'tpm' ? `${limits.tpm} TPM` : `${limits.rpm} RPM`}, ` +
    'or up to 24 h through the Batch API (no real-time limits, half the price).' +
    (problems.length ? ` ${problems.length} line(s) cannot run and will be reported.` : '');
  let choice = typeof args?.choice === 'string' ? args.choice : undefined;
  if (!choice) {
    const answer = await vscode.window.showInformationMessage(
      summary,
      { modal: true },
      'Run Paced Now',
      'Submit as Batch Job',
    );
    if (!answer) throw new Cancelled();
    choice = answer === 'Run Paced Now' ? 'run' : 'batch';
  }
  if (choice === 'batch') return submitBatchJob(ctx, { path: file });
  if (choice !== 'run') throw new Error(`choice '${choice}': use run or batch`);
  return runPaced(ctx, file, estimate.expectedMs, args);
}

/** Run the file through the gateway, paced, with progress, an ETA and Cancel (a rerun resumes). */
function runPaced(ctx: CommandContext, file: string, expectedMs: number, args?: Record<string, unknown>) {
  return vscode.window.withProgress(
    {
      location: vscode.ProgressLocation.Notification,
      title: `Batch ${vscode.workspace.asRelativePath(file)}`,
      cancellable: true,
    },
    async (progress, token) => {
      const controller = new AbortController();
      token.onCancellationRequested(() => controller.abort());
      const signalFromArgs = args?.signal instanceof AbortSignal ? args.signal : undefined;
      signalFromArgs?.addEventListener('abort', () => controller.abort());
      const started = Date.now();
      let reported = 0;
      const result = await runBatch({
        file,
        gatewayUrl: ctx.host.url,
        token: ctx.host.token,
        workspace: ctx.activeWorkspace(),
        ...(typeof args?.model === 'string' ? { model: args.model } : {}),
        signal: controller.signal,
        onProgress: (p) => {
          const fresh = p.done - p.skipped;
          const left = p.total - p.done - p.failed;
          const byLimits = expectedMs * (left / Math.max(1, p.total));
          const rate = fresh / Math.max(1, (Date.now() - started) / 1000);
          const eta = rate > 0 ? Math.max(byLimits, (left / rate) * 1000) : byLimits;
          const pct = ((p.done + p.failed) / Math.max(1, p.total)) * 100;
          progress.report({
            increment: pct - reported,
            message:
              `${p.done}/${p.total} done${p.failed ? `, ${p.failed} failed` : ''} · ` +
              `${p.tokens.toLocaleString()} tokens · ETA ${formatDuration(eta)}`,
          });
          reported = pct;
        },
      });
      if (!args?.quiet) {
        void vscode.window.showInformationMessage(
          `${result.cancelled ? 'Batch cancelled (run it again to resume)' : 'Batch finished'}: ` +
            `${result.done}/${result.total} done, ${result.failed} failed, ${result.malformed.length} malformed. ` +
            `Results: ${result.resultsFile}`,
        );
      }
      return result;
    },
  );
}

export async function submitBatchJob(ctx: CommandContext, args?: Record<string, unknown>): Promise<unknown> {
  const file = await pickFile(args, 'Submit as Batch Job');
  const client = gatewayClient(ctx.host.url, ctx.host.token, ctx.activeWorkspace(), 'vscode:batch');
  const job = await submitBatchFile(client, file);
  const jobs = { ...ctx.state.get<Record<string, string>>(JOBS_KEY, {}), [job.id]: file };
  await ctx.state.update(JOBS_KEY, jobs);
  if (!args?.quiet)
    void vscode.window.showInformationMessage(
      `Batch job ${job.id} submitted (${job.requests} requests, status ${job.status}). "Show Batch Jobs" ` +
        `downloads its results when it is done.`,
    );
  return job;
}

export async function showBatchJobs(ctx: CommandContext, args?: Record<string, unknown>): Promise<unknown> {
  const client = gatewayClient(ctx.host.url, ctx.host.token, ctx.activeWorkspace(), 'vscode:batch');
  const jobs = await listBatchJobs(client);
  let id = typeof args?.download === 'string' ? args.download : undefined;
  if (!id && !args?.list) {
    const items = jobs.map((j) => ({
      label: j.id,
      description: j.status,
      detail: `${j.completed}/${j.total} done, ${j.failed} failed · created ${new Date(j.createdAt).toLocaleString()}`,
    }));
    const chosen = await pick(items, 'Choose a completed job to download its results', { title: 'Batch Jobs' }).catch(
      (e: unknown) => {
        if (e instanceof Cancelled) return undefined;
        throw e;
      },
    );
    id = chosen?.label;
  }
  if (!id) return { jobs };
  const files = ctx.state.get<Record<string, string>>(JOBS_KEY, {});
  const beside =
    files[id] ??
    vscode.Uri.joinPath(vscode.workspace.workspaceFolders?.[0]?.uri ?? vscode.Uri.file(process.cwd()), `${id}.jsonl`)
      .fsPath;
  const downloaded = await downloadBatchResults(client, id, beside);
  if (downloaded.status !== 'completed')
    throw new Error(`Batch job ${id} is ${downloaded.status}; try again when it is completed.`);
  if (!args?.quiet)
    void vscode.window.showInformationMessage(
      `Downloaded ${downloaded.output ?? 'no output'}${downloaded.errors ? ` and ${downloaded.errors}` : ''}.`,
    );
  return { jobs, ...downloaded };
}
