/**
 * Plain data the unit tests build again and again: an attempt record and a key's live state,
 * with neutral defaults that each test overrides where it matters.
 */
import type { KeyState } from '../../src/core/protocol';
import type { AttemptRecord } from '../../src/core/types';

let next = 0;

export function attemptRecord(over: Partial<AttemptRecord> = {}): AttemptRecord {
  return {
    id: `r${next++}`,
    startedAt: 0,
    model: 'qwen-plus',
    requestedModel: over.model ?? 'qwen-plus',
    workspace: 'default',
    source: 't',
    endpoint: 'chat.completions',
    stream: false,
    status: 200,
    outcome: 'ok',
    promptTokens: 0,
    completionTokens: 0,
    totalTokens: (over.promptTokens ?? 0) + (over.completionTokens ?? 0),
    cachedTokens: 0,
    estimatedTokens: 0,
    queuedMs: 0,
    latencyMs: 10,
    attempt: 1,
    ...over,
  };
}

export function keyState(over: Partial<KeyState> = {}): KeyState {
  return {
    key: 'account:qwen-plus',
    scope: 'account',
    model: 'qwen-plus',
    configured: { rpm: 600, tpm: 1_000_000 },
    effective: { rpm: 600, tpm: 1_000_000 },
    adaptation: 1,
    pacing: 1,
    minute: { requests: 0, tokens: 0, requestLimit: 600, tokenLimit: 1_000_000 },
    second: { requests: 0, tokens: 0, requestLimit: 10, tokenLimit: 16667 },
    queueLength: 0,
    ...over,
  };
}
