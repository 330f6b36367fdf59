/**
 * Shared data shapes. Everything here is plain JSON so the same values cross the
 * gateway's HTTP surface, the extension host and the webview unchanged.
 */

import type { ModelPrice } from './prices';

/** Per-minute limits of one model. Per-second limits derive: RPS = rpm/60, TPS = tpm/60. */
export interface ModelLimits {
  rpm: number;
  tpm: number;
}

export type ProviderId = 'dashscope' | 'openai' | 'custom';

export interface WorkspaceConfig {
  /** Human name shown in views; the map key is the provider's workspace id. */
  name: string;
  /** Per-model limits of this workspace; each may not exceed the account limit. */
  models: Record<string, Partial<ModelLimits>>;
}

/** A console-granted TPM raise (Model Studio: 30 days, then back to the default). */
export interface TemporaryIncrease {
  model: string;
  tpm: number;
  previousTpm: number;
  upperLimit?: number;
  /** ISO 8601 timestamps. */
  appliedAt: string;
  expiresAt: string;
}

export interface RateLimitConfig {
  provider: ProviderId;
  baseUrl: string;
  /** Account limits per model: shared by every workspace and key of the account. */
  models: Record<string, ModelLimits>;
  workspaces: Record<string, WorkspaceConfig>;
  /** model → ordered backup models. */
  fallbacks: Record<string, string[]>;
  temporaryIncreases: TemporaryIncrease[];
  /** Longest a request may wait in the local queue before fallback or a local 429. */
  maxQueueMs: number;
  /** Output allowance charged when a request does not say `max_tokens`. */
  defaultMaxOutputTokens: number;
  /** Give back reserved-but-unused tokens when a request settles. */
  refundUnusedTokens: boolean;
  /**
   * Until a model has enough usage samples to calibrate our token estimate against the
   * provider's count, charge its prompt estimate × this (the provider's tokenizer is not ours).
   */
  estimateSafetyFactor: number;
  /** x-rlm-source label → lane, for callers that do not send x-rlm-priority. */
  sourceLanes: Record<string, Lane>;
  /** Prices per 1M tokens over the built-in table (src/core/prices.ts), in `currency` (the table's when absent). */
  prices?: {
    currency?: string;
    /** The Batch API's price as a share of the real-time one (the region's when absent; 1 on a custom endpoint). */
    batchFactor?: number;
    models: Record<string, ModelPrice>;
  };
}

/** The id of the provider's default workspace: it uses the account limits and is read-only. */
export const DEFAULT_WORKSPACE = 'default';

export type ErrorKind =
  'rpm' | 'tpm' | 'burst' | 'quota' | 'auth' | 'bad_request' | 'server' | 'network' | 'timeout' | 'cancelled';

export const ERROR_KINDS: readonly ErrorKind[] = [
  'rpm',
  'tpm',
  'burst',
  'quota',
  'auth',
  'bad_request',
  'server',
  'network',
  'timeout',
  'cancelled',
];

/** 429 kinds: the ones the dashboard breaks down. */
export const RATE_LIMIT_KINDS = ['rpm', 'tpm', 'burst'] as const;
export type RateLimitKind = (typeof RATE_LIMIT_KINDS)[number];

export type Outcome = 'ok' | 'error' | 'rejected' | 'cancelled';

export type Endpoint = 'chat.completions' | 'completions' | 'embeddings' | 'responses' | 'other';

/** One attempt upstream (or one local refusal). Never holds an API key or prompt text. */
/**
 * A request's lane: interactive requests (an editor, a chat, a terminal) wait before background
 * ones (batch files) on the same keys; a background request is still bounded by its queue time.
 */
export type Lane = 'interactive' | 'background';
export const LANES: readonly Lane[] = ['interactive', 'background'];

export interface AttemptRecord {
  id: string;
  /** Epoch ms when the caller's request arrived at the gateway. */
  startedAt: number;
  model: string;
  requestedModel: string;
  workspace: string;
  source: string;
  /** Absent in records written before lanes existed: read as interactive. */
  lane?: Lane;
  endpoint: Endpoint;
  stream: boolean;
  /** HTTP status the caller (or this attempt) saw; 0 when no response came. */
  status: number;
  outcome: Outcome;
  errorKind?: ErrorKind;
  errorCode?: string;
  promptTokens: number;
  completionTokens: number;
  totalTokens: number;
  cachedTokens: number;
  estimatedTokens: number;
  queuedMs: number;
  /**
   * The wait the gateway expected when the request joined this model's queue (its estimate of
   * the start, as ms after joining), next to `queuedMs`, the wait it had. Absent in unmetered
   * records and in records written before the estimate was kept.
   */
  expectedWaitMs?: number;
  ttftMs?: number;
  latencyMs: number;
  /** 1 for the first try of a model, 2 for its first retry … */
  attempt: number;
  /** The model the caller asked for when this attempt is a fallback. */
  fallbackFrom?: string;
}
