/**
 * Looking at the gateway: the monitor, the log, and one test request that says who answered
 * and how long it took (local queueing reported apart from the provider's time to first token).
 */
import * as vscode from 'vscode';
import { SETTING_DEFAULTS } from '../../../core/defaults';
import { SETTING } from '../../logic/settings';
import { gatewayClient } from '../client';
import { stringArg, type Args, type CommandContext, type Handler } from './common';

async function openMonitor(ctx: CommandContext, args: Args) {
  ctx.openMonitor(stringArg(args, 'model'));
  return { opened: true };
}

async function showLog(ctx: CommandContext) {
  ctx.log.show();
  return { shown: true };
}

async function sendTestRequest(ctx: CommandContext, args: Args) {
  const model =
    stringArg(args, 'model') ?? ctx.settings.get<string>(SETTING.statusBarModel, SETTING_DEFAULTS['statusBar.model']);
  const client = gatewayClient(ctx.host.url, ctx.host.token, ctx.activeWorkspace(), 'vscode:test-request');
  const t0 = Date.now();
  let ttft: number | undefined;
  let text = '';
  const { data: stream, response } = await client.chat.completions
    .create({
      model,
      stream: true,
      stream_options: { include_usage: true },
      max_tokens: 32,
      messages: [{ role: 'user', content: 'Reply with one short sentence: the gateway works.' }],
    })
    .withResponse();
  const answeredBy = response.headers.get('x-rlm-model') ?? model;
  // Time in the gateway's queue is not the provider's time to first token: report it apart.
  const queuedMs = Number(response.headers.get('x-rlm-queued-ms') ?? 0) || 0;
  let usage: { prompt_tokens: number; completion_tokens: number; total_tokens: number } | undefined;
  for await (const chunk of stream) {
    const delta = chunk.choices[0]?.delta.content;
    if (delta && ttft === undefined) ttft = Date.now() - t0;
    text += delta ?? '';
    if (chunk.usage) usage = chunk.usage;
  }
  const result = {
    model: answeredBy,
    requested: model,
    tokens: usage?.total_tokens ?? 0,
    promptTokens: usage?.prompt_tokens ?? 0,
    completionTokens: usage?.completion_tokens ?? 0,
    queuedMs,
    ttftMs: Math.max(0, (ttft ?? 0) - queuedMs),
    latencyMs: Date.now() - t0,
    text,
  };
  const queued = queuedMs > 0 ? vscode.l10n.t(', {0} ms waiting in the local queue', queuedMs) : '';
  const who = answeredBy !== model ? vscode.l10n.t('{0} (fallback from {1})', answeredBy, model) : answeredBy;
  if (!args?.quiet)
    void vscode.window.showInformationMessage(
      vscode.l10n.t(
        'Test request answered by {0}: {1} tokens, TTFT {2} ms{3}, latency {4} ms.',
        who,
        result.tokens,
        result.ttftMs,
        queued,
        result.latencyMs,
      ),
    );
  return result;
}

export const diagnosticCommands: Record<string, Handler> = { openMonitor, showLog, sendTestRequest };
