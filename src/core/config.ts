/**
 * The one configuration schema (README, "Configuration"): read from VS Code
 * settings, from the CLI's `--config` file and from the provider's quota API. Validation
 * returns every problem at once, each with the path to the bad value and what to do.
 */
import { PROVIDER_PRESETS, SETTING_DEFAULTS } from './defaults';
import {
  isObject,
  ProblemList,
  type Json,
  readAccountModels,
  readFallbacks,
  readPrices,
  readSourceLanes,
  readTemporaryIncreases,
  readWorkspaces,
  reportUnknownKeys,
} from './configReaders';
import type { ModelLimits, ProviderId, RateLimitConfig } from './types';

export interface ConfigProblem {
  /** Dotted path to the offending value, e.g. `workspaces.team-a.models.qwen-plus.rpm`. */
  path: string;
  message: string;
  fix: string;
}

export type ConfigResult = { ok: true; config: RateLimitConfig } | { ok: false; problems: ConfigProblem[] };

export const CONFIG_DEFAULTS = {
  provider: PROVIDER_PRESETS[SETTING_DEFAULTS.provider].provider as ProviderId,
  baseUrl: PROVIDER_PRESETS['dashscope-singapore'].baseUrl,
  maxQueueMs: SETTING_DEFAULTS.maxQueueMs,
  defaultMaxOutputTokens: 1024,
  refundUnusedTokens: true,
  estimateSafetyFactor: SETTING_DEFAULTS.estimateSafetyFactor,
};

/** The longest queue wait we accept: longer than this a caller's HTTP client has long given up. */
const MAX_QUEUE_MS_CEILING = 600_000;

export function formatProblem(p: ConfigProblem): string {
  return `${p.path}: ${p.message} — ${p.fix}`;
}

export function formatProblems(problems: ConfigProblem[]): string {
  return problems.map(formatProblem).join('\n');
}

const TOP_LEVEL_KEYS = [
  'provider',
  'baseUrl',
  'models',
  'workspaces',
  'fallbacks',
  'temporaryIncreases',
  'maxQueueMs',
  'defaultMaxOutputTokens',
  'refundUnusedTokens',
  'estimateSafetyFactor',
  'sourceLanes',
  'prices',
];

/** Validate and normalise a configuration from any source. Returns every problem, not the first. */
export function validateConfig(raw: unknown): ConfigResult {
  const problems = new ProblemList();
  if (!isObject(raw)) {
    return {
      ok: false,
      problems: [
        {
          path: '(root)',
          message: 'the configuration must be a JSON object',
          fix: 'start from the example in the README',
        },
      ],
    };
  }
  reportUnknownKeys(raw, TOP_LEVEL_KEYS, '', problems);

  const { provider, baseUrl } = readConnection(raw, problems);
  const models = readAccountModels(raw.models, problems);
  const workspaces = readWorkspaces(raw.workspaces, models, raw.models, problems);
  const fallbacks = readFallbacks(raw.fallbacks, models, problems);
  const temporaryIncreases = readTemporaryIncreases(raw.temporaryIncreases, models, problems);
  const sourceLanes = readSourceLanes(raw.sourceLanes, problems);
  const prices = readPrices(raw.prices, problems);

  const tuning = readTuning(raw, problems);
  if (problems.items.length > 0) return { ok: false, problems: problems.items };
  return {
    ok: true,
    config: {
      provider: provider as ProviderId,
      baseUrl: (baseUrl as string).replace(/\/+$/, ''),
      models,
      workspaces,
      fallbacks,
      temporaryIncreases,
      ...tuning,
      sourceLanes,
      ...(prices ? { prices } : {}),
    },
  };
}

/** Where requests go: the provider kind and its base URL (https, or http to this machine only). */
function readConnection(raw: Json, problems: ProblemList): { provider: unknown; baseUrl: unknown } {
  const provider = raw.provider ?? CONFIG_DEFAULTS.provider;
  if (provider !== 'dashscope' && provider !== 'openai' && provider !== 'custom') {
    problems.add(
      'provider',
      `${JSON.stringify(provider)} is not a known provider`,
      'use "dashscope", "openai" or "custom"',
    );
  }
  const baseUrl = raw.baseUrl ?? CONFIG_DEFAULTS.baseUrl;
  if (typeof baseUrl !== 'string' || !isHttpUrl(baseUrl)) {
    problems.add(
      'baseUrl',
      `${JSON.stringify(baseUrl)} is not an http(s) URL`,
      `write e.g. ${CONFIG_DEFAULTS.baseUrl}`,
    );
  } else if (/^http:/i.test(baseUrl) && !isLoopbackUrl(baseUrl)) {
    // The provider key travels in the Authorization header: never in clear text off this machine.
    problems.add(
      'baseUrl',
      `${JSON.stringify(baseUrl)} would send the API key unencrypted`,
      'use https://, or http:// only to a proxy on this machine (127.0.0.1, localhost, [::1])',
    );
  }
  return { provider, baseUrl };
}

/** The queue and estimation settings, each with its default. */
function readTuning(raw: Json, problems: ProblemList) {
  const maxQueueMs = raw.maxQueueMs ?? CONFIG_DEFAULTS.maxQueueMs;
  if (
    typeof maxQueueMs !== 'number' ||
    !Number.isFinite(maxQueueMs) ||
    maxQueueMs < 0 ||
    maxQueueMs > MAX_QUEUE_MS_CEILING
  ) {
    problems.add(
      'maxQueueMs',
      `${JSON.stringify(maxQueueMs)} is not between 0 and ${MAX_QUEUE_MS_CEILING}`,
      'write milliseconds, e.g. 30000 (0 = never queue)',
    );
  }
  const defaultMaxOutputTokens = raw.defaultMaxOutputTokens ?? CONFIG_DEFAULTS.defaultMaxOutputTokens;
  if (
    typeof defaultMaxOutputTokens !== 'number' ||
    !Number.isInteger(defaultMaxOutputTokens) ||
    defaultMaxOutputTokens < 0
  ) {
    problems.add(
      'defaultMaxOutputTokens',
      `${JSON.stringify(defaultMaxOutputTokens)} is not a whole number ≥ 0`,
      'write e.g. 1024',
    );
  }
  const refundUnusedTokens = raw.refundUnusedTokens ?? CONFIG_DEFAULTS.refundUnusedTokens;
  if (typeof refundUnusedTokens !== 'boolean') {
    problems.add(
      'refundUnusedTokens',
      `${JSON.stringify(refundUnusedTokens)} is not true or false`,
      'write true or false',
    );
  }
  const estimateSafetyFactor = raw.estimateSafetyFactor ?? CONFIG_DEFAULTS.estimateSafetyFactor;
  if (typeof estimateSafetyFactor !== 'number' || !(estimateSafetyFactor >= 1 && estimateSafetyFactor <= 5)) {
    problems.add(
      'estimateSafetyFactor',
      `${JSON.stringify(estimateSafetyFactor)} is not a number from 1 to 5`,
      'write e.g. 1.5 (1 = no safety margin)',
    );
  }
  return {
    maxQueueMs: maxQueueMs as number,
    defaultMaxOutputTokens: defaultMaxOutputTokens as number,
    refundUnusedTokens: refundUnusedTokens as boolean,
    estimateSafetyFactor: estimateSafetyFactor as number,
  };
}

function isHttpUrl(s: string): boolean {
  return /^https?:\/\/[^\s/]+(\/\S*)?$/i.test(s);
}

/** Is this URL's host a loopback address? (127.0.0.0/8, localhost, ::1) */
export function isLoopbackUrl(s: string): boolean {
  const host = /^https?:\/\/(?:[^@/]*@)?(\[[^\]]*\]|[^:/]+)/i.exec(s)?.[1]?.toLowerCase();
  return host !== undefined && (host === 'localhost' || host === '[::1]' || /^127(\.\d{1,3}){3}$/.test(host));
}

/** The account's TPM for a model at `now`, after any temporary increase still in force. */
export function accountLimitsAt(config: RateLimitConfig, model: string, now: number): ModelLimits | undefined {
  const base = config.models[model];
  if (!base) return undefined;
  let tpm = base.tpm;
  for (const inc of config.temporaryIncreases) {
    if (inc.model !== model) continue;
    const from = Date.parse(inc.appliedAt);
    const to = Date.parse(inc.expiresAt);
    if (from <= now && now < to) tpm = Math.max(tpm, inc.tpm);
  }
  return { rpm: base.rpm, tpm };
}

/** A workspace's limits for a model: its own where set, else the account's. */
export function workspaceLimitsAt(
  config: RateLimitConfig,
  workspace: string,
  model: string,
  now: number,
): ModelLimits | undefined {
  const account = accountLimitsAt(config, model, now);
  if (!account) return undefined;
  const own = config.workspaces[workspace]?.models[model];
  return { rpm: own?.rpm ?? account.rpm, tpm: own?.tpm ?? account.tpm };
}

export interface PerPeriodLimit {
  perMinute: number;
  perSecond: number;
}

/**
 * Normalise a provider limit of `limit` per `periodSeconds` (1 s, 6 s, 60 s …) to
 * per-minute and per-second figures. Rounds down: a limit we round up is a 429.
 */
export function normalizePeriod(limit: number, periodSeconds: number): PerPeriodLimit {
  if (!(limit >= 0) || !(periodSeconds > 0)) {
    throw new RangeError(`cannot normalise ${limit} per ${periodSeconds} s: need a limit ≥ 0 and a period > 0`);
  }
  const perSecond = limit / periodSeconds;
  return { perMinute: Math.floor(perSecond * 60 + 1e-9), perSecond: Math.floor(perSecond * 1000 + 1e-9) / 1000 };
}

export const TEMPORARY_INCREASE_DAYS = 30;
