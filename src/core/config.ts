/**
 * The one configuration schema (README, "Configuration"): read from VS Code
 * settings, from the CLI's `--config` file and from the provider's quota API. Validation
 * returns every problem at once, each with the path to the bad value and what to do.
 */
import { PROVIDER_PRESETS, SETTING_DEFAULTS } from './defaults';
import {
  DEFAULT_WORKSPACE,
  type Lane,
  type ModelLimits,
  type ProviderId,
  type RateLimitConfig,
  type TemporaryIncrease,
  type WorkspaceConfig,
} from './types';
import { isPlainObject } from './values';

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

type Json = Record<string, unknown>;

const isObject = (v: unknown): v is Json => isPlainObject(v);

class ProblemList {
  readonly items: ConfigProblem[] = [];
  add(path: string, message: string, fix: string): void {
    this.items.push({ path, message, fix });
  }
}

function readLimit(
  value: unknown,
  path: string,
  problems: ProblemList,
  unit: 'requests' | 'tokens',
): number | undefined {
  if (value === undefined) return undefined;
  if (typeof value !== 'number' || !Number.isFinite(value) || !Number.isInteger(value) || value <= 0) {
    problems.add(
      path,
      `${JSON.stringify(value)} is not a positive whole number of ${unit} per minute`,
      `set a whole number above 0, e.g. ${unit === 'requests' ? 600 : 1000000}`,
    );
    return undefined;
  }
  return value;
}

/** The entries of an optional `name → value` section; a section that is not an object is a problem. */
function sectionEntries(
  raw: unknown,
  path: string,
  shape: string,
  example: string,
  problems: ProblemList,
): [string, unknown][] {
  if (raw === undefined) return [];
  if (!isObject(raw)) {
    problems.add(path, `must be an object of ${shape}`, `write e.g. ${example}`);
    return [];
  }
  return Object.entries(raw);
}

function readAccountModels(raw: unknown, problems: ProblemList): Record<string, ModelLimits> {
  const models: Record<string, ModelLimits> = {};
  for (const [model, limits] of sectionEntries(
    raw,
    'models',
    'model → {rpm, tpm}',
    '{"qwen-plus":{"rpm":600,"tpm":1000000}}',
    problems,
  )) {
    const path = `models.${model}`;
    if (!isObject(limits)) {
      problems.add(path, 'must be an object {rpm, tpm}', 'write e.g. {"rpm":600,"tpm":1000000}');
      continue;
    }
    const rpm = readLimit(limits.rpm, `${path}.rpm`, problems, 'requests');
    const tpm = readLimit(limits.tpm, `${path}.tpm`, problems, 'tokens');
    if (limits.rpm === undefined)
      problems.add(`${path}.rpm`, 'is missing', "add the model's requests-per-minute limit");
    if (limits.tpm === undefined) problems.add(`${path}.tpm`, 'is missing', "add the model's tokens-per-minute limit");
    reportUnknownKeys(limits, ['rpm', 'tpm'], path, problems);
    if (rpm !== undefined && tpm !== undefined) models[model] = { rpm, tpm };
  }
  return models;
}

function reportUnknownKeys(obj: Json, known: string[], path: string, problems: ProblemList): void {
  for (const key of Object.keys(obj)) {
    if (!known.includes(key)) {
      problems.add(
        path ? `${path}.${key}` : key,
        'is not a known setting',
        `remove it; known here: ${known.join(', ')}`,
      );
    }
  }
}

function readWorkspaces(
  raw: unknown,
  accountLimits: Record<string, ModelLimits>,
  accountModelsRaw: unknown,
  problems: ProblemList,
): Record<string, WorkspaceConfig> {
  const workspaces: Record<string, WorkspaceConfig> = {};
  const sums: Record<string, { rpm: number; tpm: number }> = {};
  for (const [id, ws] of sectionEntries(
    raw,
    'workspaces',
    'workspace id → {name, models}',
    '{"ws-a":{"name":"Team A","models":{}}}',
    problems,
  )) {
    const path = `workspaces.${id}`;
    if (!isObject(ws)) {
      problems.add(path, 'must be an object {name, models}', 'write e.g. {"name":"Team A","models":{}}');
      continue;
    }
    reportUnknownKeys(ws, ['name', 'models'], path, problems);
    const name = ws.name === undefined ? id : ws.name;
    if (typeof name !== 'string' || name.trim() === '') {
      problems.add(`${path}.name`, 'must be a non-empty string', 'give the workspace a name people recognise');
    }
    const models: Record<string, Partial<ModelLimits>> = {};
    if (id === DEFAULT_WORKSPACE && isObject(ws.models) && Object.keys(ws.models).length > 0) {
      problems.add(
        `${path}.models`,
        'the default workspace uses the account limits and cannot be edited',
        'remove these limits, or set them on another workspace',
      );
    } else if (ws.models !== undefined && !isObject(ws.models)) {
      problems.add(
        `${path}.models`,
        'must be an object of model → {rpm?, tpm?}',
        'write e.g. {"qwen-plus":{"rpm":100}}',
      );
    } else if (isObject(ws.models)) {
      for (const [model, limits] of Object.entries(ws.models)) {
        const mpath = `${path}.models.${model}`;
        if (!isObject(limits)) {
          problems.add(mpath, 'must be an object {rpm?, tpm?}', 'write e.g. {"rpm":100,"tpm":200000}');
          continue;
        }
        reportUnknownKeys(limits, ['rpm', 'tpm'], mpath, problems);
        const account = accountLimits[model];
        const accountKnown = isObject(accountModelsRaw) && model in accountModelsRaw;
        if (!accountKnown) {
          problems.add(
            mpath,
            `model '${model}' has no account limit`,
            `add models.${model} with its account rpm and tpm first`,
          );
        }
        const entry: Partial<ModelLimits> = {};
        for (const field of ['rpm', 'tpm'] as const) {
          const v = readLimit(limits[field], `${mpath}.${field}`, problems, field === 'rpm' ? 'requests' : 'tokens');
          if (v === undefined) continue;
          if (account && v > account[field]) {
            problems.add(
              `${mpath}.${field}`,
              `${v} exceeds the account limit ${account[field]}`,
              `set it to ${account[field]} or less, or raise models.${model}.${field}`,
            );
            continue;
          }
          entry[field] = v;
          const sum = (sums[model] ??= { rpm: 0, tpm: 0 });
          sum[field] += v;
        }
        models[model] = entry;
      }
    }
    workspaces[id] = { name: typeof name === 'string' ? name : id, models };
  }
  for (const [model, sum] of Object.entries(sums)) {
    const account = accountLimits[model];
    if (!account) continue;
    for (const field of ['rpm', 'tpm'] as const) {
      if (sum[field] > account[field]) {
        problems.add(
          `workspaces.*.models.${model}.${field}`,
          `the workspaces' limits add up to ${sum[field]}, over the account limit ${account[field]}`,
          'lower some workspace limits: the provider refuses a sum above the account limit',
        );
      }
    }
  }
  return workspaces;
}

function readSourceLanes(raw: unknown, problems: ProblemList): Record<string, Lane> {
  const lanes: Record<string, Lane> = {};
  for (const [source, lane] of sectionEntries(
    raw,
    'sourceLanes',
    'x-rlm-source label → lane',
    '{"nightly-eval":"background"}',
    problems,
  )) {
    if (lane === 'interactive' || lane === 'background') lanes[source] = lane;
    else
      problems.add(
        `sourceLanes.${source}`,
        `${JSON.stringify(lane)} is not a lane`,
        'write "interactive" or "background"',
      );
  }
  return lanes;
}

function readFallbacks(
  raw: unknown,
  accountLimits: Record<string, ModelLimits>,
  problems: ProblemList,
): Record<string, string[]> {
  const fallbacks: Record<string, string[]> = {};
  for (const [model, chain] of sectionEntries(
    raw,
    'fallbacks',
    'model → [backup models]',
    '{"qwen-plus":["qwen-turbo"]}',
    problems,
  )) {
    const path = `fallbacks.${model}`;
    if (!Array.isArray(chain) || chain.some((m) => typeof m !== 'string' || m === '')) {
      problems.add(path, 'must be a list of model names', `write e.g. ["qwen-turbo"]`);
      continue;
    }
    const list = chain as string[];
    let good = true;
    list.forEach((backup, i) => {
      if (backup === model) {
        problems.add(`${path}[${i}]`, `'${model}' falls back to itself`, 'remove it from its own chain');
        good = false;
      } else if (list.indexOf(backup) !== i) {
        problems.add(`${path}[${i}]`, `'${backup}' appears twice`, 'keep its first place only');
        good = false;
      } else if (!accountLimits[backup]) {
        problems.add(
          `${path}[${i}]`,
          `backup '${backup}' has no account limit`,
          `add models.${backup}, so its traffic is metered too`,
        );
        good = false;
      }
    });
    if (good) fallbacks[model] = list;
  }
  // A cycle across chains (a → b, b → a) would bounce a request forever.
  for (const start of Object.keys(fallbacks)) {
    const cycle = findCycle(start, fallbacks);
    if (cycle && cycle[0] === start) {
      problems.add(
        `fallbacks.${start}`,
        `fallback chains form a cycle: ${cycle.join(' → ')}`,
        `remove one of these links, e.g. '${cycle[cycle.length - 2]}' from fallbacks.${cycle[cycle.length - 3] ?? start}`,
      );
    }
  }
  return fallbacks;
}

function findCycle(start: string, graph: Record<string, string[]>): string[] | undefined {
  const path: string[] = [];
  const onPath = new Set<string>();
  const done = new Set<string>();
  const visit = (node: string): string[] | undefined => {
    if (onPath.has(node)) return [...path.slice(path.indexOf(node)), node];
    if (done.has(node)) return undefined;
    onPath.add(node);
    path.push(node);
    for (const next of graph[node] ?? []) {
      const found = visit(next);
      if (found) return found;
    }
    path.pop();
    onPath.delete(node);
    done.add(node);
    return undefined;
  };
  return visit(start);
}

function readTemporaryIncreases(
  raw: unknown,
  accountLimits: Record<string, ModelLimits>,
  problems: ProblemList,
): TemporaryIncrease[] {
  const out: TemporaryIncrease[] = [];
  if (raw === undefined) return out;
  if (!Array.isArray(raw)) {
    problems.add('temporaryIncreases', 'must be a list', 'use the "Record Temporary Increase" command to add one');
    return out;
  }
  raw.forEach((item: unknown, i) => {
    const path = `temporaryIncreases[${i}]`;
    if (!isObject(item)) {
      problems.add(
        path,
        'must be an object {model, tpm, previousTpm, appliedAt, expiresAt}',
        'use the "Record Temporary Increase" command',
      );
      return;
    }
    const { model, tpm, previousTpm, upperLimit, appliedAt, expiresAt } = item;
    let good = true;
    if (typeof model !== 'string' || !accountLimits[model]) {
      problems.add(
        `${path}.model`,
        `${JSON.stringify(model)} has no account limit`,
        'name a model listed under models',
      );
      good = false;
    }
    for (const [field, value] of [
      ['tpm', tpm],
      ['previousTpm', previousTpm],
    ] as const) {
      if (typeof value !== 'number' || !Number.isInteger(value) || value <= 0) {
        problems.add(
          `${path}.${field}`,
          `${JSON.stringify(value)} is not a positive whole number`,
          'write the tokens-per-minute figure',
        );
        good = false;
      }
    }
    if (upperLimit !== undefined && (typeof upperLimit !== 'number' || upperLimit <= 0)) {
      problems.add(
        `${path}.upperLimit`,
        `${JSON.stringify(upperLimit)} is not a positive number`,
        'write the upper limit the console shows, or remove it',
      );
      good = false;
    }
    if (good && typeof tpm === 'number' && typeof previousTpm === 'number' && tpm <= previousTpm) {
      problems.add(`${path}.tpm`, `${tpm} is not above the previous ${previousTpm}`, 'an increase must raise the TPM');
      good = false;
    }
    if (good && typeof upperLimit === 'number' && typeof tpm === 'number' && tpm > upperLimit) {
      problems.add(`${path}.tpm`, `${tpm} exceeds the upper limit ${upperLimit}`, `set it to ${upperLimit} or less`);
      good = false;
    }
    const applied = typeof appliedAt === 'string' ? Date.parse(appliedAt) : NaN;
    const expires = typeof expiresAt === 'string' ? Date.parse(expiresAt) : NaN;
    if (Number.isNaN(applied)) {
      problems.add(
        `${path}.appliedAt`,
        `${JSON.stringify(appliedAt)} is not a date`,
        'write an ISO 8601 time, e.g. 2026-11-30T12:00:00Z',
      );
      good = false;
    }
    if (Number.isNaN(expires)) {
      problems.add(
        `${path}.expiresAt`,
        `${JSON.stringify(expiresAt)} is not a date`,
        'write an ISO 8601 time, e.g. 2026-12-30T12:00:00Z',
      );
      good = false;
    } else if (!Number.isNaN(applied) && expires <= applied) {
      problems.add(`${path}.expiresAt`, 'is not after appliedAt', 'Model Studio increases last 30 days from appliedAt');
      good = false;
    }
    if (good) {
      out.push({
        model: model as string,
        tpm: tpm as number,
        previousTpm: previousTpm as number,
        ...(typeof upperLimit === 'number' ? { upperLimit } : {}),
        appliedAt: appliedAt as string,
        expiresAt: expiresAt as string,
      });
    }
  });
  return out;
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
  const models = readAccountModels(raw.models, problems);
  const workspaces = readWorkspaces(raw.workspaces, models, raw.models, problems);
  const fallbacks = readFallbacks(raw.fallbacks, models, problems);
  const temporaryIncreases = readTemporaryIncreases(raw.temporaryIncreases, models, problems);
  const sourceLanes = readSourceLanes(raw.sourceLanes, problems);

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
      maxQueueMs: maxQueueMs as number,
      defaultMaxOutputTokens: defaultMaxOutputTokens as number,
      refundUnusedTokens: refundUnusedTokens as boolean,
      estimateSafetyFactor: estimateSafetyFactor as number,
      sourceLanes,
    },
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
