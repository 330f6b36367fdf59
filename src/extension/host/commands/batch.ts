/**
 * Run Batch File… (paced through the gateway, with progress, cancel and resume), Submit as
 * Batch Job… (the Batch API) and Show Batch Jobs (status, and the output files when done).
 */
import fs from 'node:fs';
import * as vscode from 'vscode';
import { estimateBatch, formatBatchProblem, parseBatchFile } from '../../../core/batch';
import { costOf, formatCost, pricingFor } from '../../../core/cost';
import { formatCount, formatDateTime, formatDuration } from '../../../core/format';
import type { ModelLimits } from '../../../core/types';
import { downloadBatchResults, listBatchJobs, submitBatchFile } from '../../../gateway/batchApi';
import { runBatch } from '../../../gateway/batchRunner';
import { estimateTokens } from '../../../gateway/tokenizer';
import { gatewayClient } from '../client';
import { Cancelled, pick } from '../prompts';
import type { CommandContext } from './common';
import { actionDone } from '../../../core/dashboard';

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
  const file = await pickFile(args, vscode.l10n.t('Run Batch File'));
  if (!fs.existsSync(file)) throw new Error(vscode.l10n.t('{0}: no such file', file));
  const text = fs.readFileSync(file, 'utf8');
  const { lines, problems } = parseBatchFile(text);
  if (lines.length === 0)
    throw new Error(
      `${vscode.l10n.t('no request in {0} can run:', file)}\n${problems.map(formatBatchProblem).join('\n')}`,
    );
  const model = typeof args?.model === 'string' ? args.model : String(lines[0]!.body.model);
  const limits = ctx.settings.config.models[model];
  if (!limits)
    throw new Error(vscode.l10n.t("'{0}' has no account limit: set it first, so the run can be paced.", model));
  // every line tokenised once: the summary, its cost and the pacing all read these
  const estimates = lines.map((l) => estimateTokens(l.endpoint, l.body, ctx.settings.config.defaultMaxOutputTokens));
  const paced = estimateBatch(
    estimates.map((e) => e.promptTokens + e.maxOutputTokens),
    limits,
  );
  const summary =
    pacingSummary(paced, model, limits) +
    costSummary(ctx, estimates, model) +
    (problems.length ? vscode.l10n.t(' {0} line(s) cannot run and will be reported.', problems.length) : '');
  let choice = typeof args?.choice === 'string' ? args.choice : undefined;
  if (!choice) {
    const runNow = vscode.l10n.t('Run Paced Now');
    const answer = await vscode.window.showInformationMessage(
      summary,
      { modal: true },
      runNow,
      vscode.l10n.t('Submit as Batch Job'),
    );
    if (!answer) throw new Cancelled();
    choice = answer === runNow ? 'run' : 'batch';
  }
  if (choice === 'batch') return submitBatchJob(ctx, { path: file });
  if (choice !== 'run') throw new Error(`choice '${choice}': use run or batch`);
  return runPaced(ctx, file, paced.expectedMs, args);
}

type TokenEstimate = ReturnType<typeof estimateTokens>;

/** How long the file takes paced at the model's limits, against the Batch API's 24 h. */
function pacingSummary(estimate: ReturnType<typeof estimateBatch>, model: string, limits: ModelLimits): string {
  return vscode.l10n.t(
    "{0} requests, about {1} tokens: {2} paced at {3}'s {4}, or up to 24 h through the Batch API (no real-time limits, half the price).",
    estimate.requests,
    formatCount(estimate.tokens),
    formatDuration(estimate.expectedMs),
    model,
    estimate.boundBy === 'tpm' ? `${limits.tpm} TPM` : `${limits.rpm} RPM`,
  );
}

/** The paced run's estimated cost next to the Batch API's (every request at its full output allowance). */
function costSummary(ctx: CommandContext, estimates: readonly TokenEstimate[], model: string): string {
  const tokens = {
    promptTokens: estimates.reduce((n, e) => n + e.promptTokens, 0),
    completionTokens: estimates.reduce((n, e) => n + e.maxOutputTokens, 0),
  };
  const pricing = pricingFor(ctx.settings.config);
  const paced = costOf(pricing, model, tokens);
  if (!paced) return vscode.l10n.t(' The cost is unknown: {0} has no price (setting rateLimitMonitor.prices).', model);
  return vscode.l10n.t(
    ' Estimated cost, at most: {0} paced, {1} through the Batch API.',
    formatCost(paced),
    formatCost(costOf(pricing, model, tokens, true)),
  );
}

/** Run the file through the gateway, paced, with progress, an ETA and Cancel (a rerun resumes). */
function runPaced(ctx: CommandContext, file: string, expectedMs: number, args?: Record<string, unknown>) {
  return vscode.window.withProgress(
    {
      location: vscode.ProgressLocation.Notification,
      title: vscode.l10n.t('Batch {0}', vscode.workspace.asRelativePath(file)),
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
              vscode.l10n.t('{0}/{1} done', p.done, p.total) +
              (p.failed ? vscode.l10n.t(', {0} failed', p.failed) : '') +
              ' · ' +
              vscode.l10n.t('{0} tokens · ETA {1}', formatCount(p.tokens), formatDuration(eta)),
          });
          reported = pct;
        },
      });
      if (!args?.quiet) {
        void vscode.window.showInformationMessage(
          vscode.l10n.t(
            '{0}: {1}/{2} done, {3} failed, {4} malformed. Results: {5}',
            result.cancelled
              ? vscode.l10n.t('Batch cancelled (run it again to resume)')
              : vscode.l10n.t('Batch finished'),
            result.done,
            result.total,
            result.failed,
            result.malformed.length,
            result.resultsFile,
          ),
        );
      }
      return result;
    },
  );
}

export async function submitBatchJob(ctx: CommandContext, args?: Record<string, unknown>): Promise<unknown> {
  const file = await pickFile(args, vscode.l10n.t('Submit as Batch Job'));
  const client = gatewayClient(ctx.host.url, ctx.host.token, ctx.activeWorkspace(), 'vscode:batch');
  const job = await submitBatchFile(client, file);
  const jobs = { ...ctx.state.get<Record<string, string>>(JOBS_KEY, {}), [job.id]: file };
  await ctx.state.update(JOBS_KEY, jobs);
  if (!args?.quiet)
    void vscode.window.showInformationMessage(
      vscode.l10n.t(
        'Batch job {0} submitted ({1} requests, status {2}). "Show Batch Jobs" downloads its results when it is done.',
        job.id,
        job.requests,
        job.status,
      ),
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
      detail: vscode.l10n.t(
        '{0}/{1} done, {2} failed · created {3}',
        j.completed,
        j.total,
        j.failed,
        formatDateTime(j.createdAt),
      ),
    }));
    const chosen = await pick(items, vscode.l10n.t('Choose a completed job to download its results'), {
      title: vscode.l10n.t('Batch Jobs'),
    }).catch((e: unknown) => {
      if (e instanceof Cancelled) return undefined;
      throw e;
    });
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
    throw new Error(vscode.l10n.t('Batch job {0} is {1}; try again when it is completed.', id, downloaded.status));
  if (!args?.quiet)
    void vscode.window.showInformationMessage(
      actionDone.saved(
        vscode.l10n,
        [downloaded.output, downloaded.errors].filter((f): f is string => !!f),
      ),
    );
  return { jobs, ...downloaded };
}
