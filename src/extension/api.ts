/**
 * The API `activate()` returns to other extensions (versioned; documented in the README):
 *
 *   const api = vscode.extensions.getExtension<RateLimitMonitorApi>('rate-limit-monitor.llm-rate-limit-monitor')!.exports;
 *   const openai = api.getClient({ workspace: 'ws-a' });
 */
import type OpenAI from 'openai';
import type * as vscode from 'vscode';
import type { KeyState } from '../core/protocol';
import type { AttemptRecord, RateLimitConfig } from '../core/types';

export interface RateLimitMonitorApi {
  readonly version: 1;
  /** An OpenAI client whose requests go through the gateway (metered, paced, retried there: maxRetries 0). */
  getClient(options?: { workspace?: string; source?: string }): OpenAI;
  /** Live usage of a model's limiter keys (account and workspaces). */
  getUsage(model: string): Promise<{ model: string; keys: KeyState[] }>;
  /** The configuration in force. */
  getLimits(): RateLimitConfig;
  /** Fires once per attempt record. */
  readonly onDidRecord: vscode.Event<AttemptRecord>;
}
