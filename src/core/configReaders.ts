/**
 * The readers of the configuration's sections: each checks its part, adds every problem with
 * the path to the bad value and what to do, and returns what is usable. `validateConfig`
 * (config.ts) puts them together.
 */
import type { ConfigProblem } from './config';
import type { ModelPrice } from './prices';
import {
  DEFAULT_WORKSPACE,
  type Lane,
  type ModelLimits,
  type RateLimitConfig,
  type TemporaryIncrease,
  type WorkspaceConfig,
} from './types';
import { isPlainObject } from './values';

export type Json = Record<string, unknown>;
/** Model → the account's limits, as read so far. */
type AccountLimits = Record<string, ModelLimits>;
/** Model → the workspaces' limits added up. */
type Sums = Record<string, { rpm: number; tpm: number }>;

export const isObject = (v: unknown): v is Json => isPlainObject(v);

export class ProblemList {
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
/** The object sections of the configuration: their path, their shape and an example, for the messages. */
const SECTIONS = {
  models: ['models', 'model → {rpm, tpm}', '{"qwen-plus":{"rpm":600,"tpm":1000000}}'],
  workspaces: ['workspaces', 'workspace id → {name, models}', '{"ws-a":{"name":"Team A","models":{}}}'],
  sourceLanes: ['sourceLanes', 'x-rlm-source label → lane', '{"nightly-eval":"background"}'],
  fallbacks: ['fallbacks', 'model → [backup models]', '{"qwen-plus":["qwen-turbo"]}'],
} as const;

function sectionEntries(raw: unknown, section: keyof typeof SECTIONS, problems: ProblemList): [string, unknown][] {
  const [path, shape, example] = SECTIONS[section];
  if (raw === undefined) return [];
  if (!isObject(raw)) {
    problems.add(path, `must be an object of ${shape}`, `write e.g. ${example}`);
    return [];
  }
  return Object.entries(raw);
}

export function readAccountModels(raw: unknown, problems: ProblemList): Record<string, ModelLimits> {
  const models: Record<string, ModelLimits> = {};
  for (const [model, limits] of sectionEntries(raw, 'models', problems)) {
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

export function reportUnknownKeys(obj: Json, known: string[], path: string, problems: ProblemList): void {
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

export function readWorkspaces(
  raw: unknown,
  accountLimits: AccountLimits,
  accountModelsRaw: unknown,
  problems: ProblemList,
): Record<string, WorkspaceConfig> {
  const workspaces: Record<string, WorkspaceConfig> = {};
  const sums: Sums = {};
  for (const [id, ws] of sectionEntries(raw, 'workspaces', problems)) {
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
      Object.assign(models, readWorkspaceModels(ws.models, path, accountLimits, accountModelsRaw, sums, problems));
    }
    workspaces[id] = { name: typeof name === 'string' ? name : id, models };
  }
  checkWorkspaceSums(sums, accountLimits, problems);
  return workspaces;
}

/** One workspace's per-model limits: each at most the account's, summed per model for the check across workspaces. */
function readWorkspaceModels(
  raw: Json,
  path: string,
  accountLimits: AccountLimits,
  accountModelsRaw: unknown,
  sums: Sums,
  problems: ProblemList,
): Record<string, Partial<ModelLimits>> {
  const models: Record<string, Partial<ModelLimits>> = {};
  for (const [model, limits] of Object.entries(raw)) {
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
  return models;
}

/** The provider refuses workspace limits that add up to more than the account's. */
function checkWorkspaceSums(sums: Sums, accountLimits: AccountLimits, problems: ProblemList): void {
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
}

export function readSourceLanes(raw: unknown, problems: ProblemList): Record<string, Lane> {
  const lanes: Record<string, Lane> = {};
  for (const [source, lane] of sectionEntries(raw, 'sourceLanes', problems)) {
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

export function readFallbacks(
  raw: unknown,
  accountLimits: AccountLimits,
  problems: ProblemList,
): Record<string, string[]> {
  const fallbacks: Record<string, string[]> = {};
  for (const [model, chain] of sectionEntries(raw, 'fallbacks', problems)) {
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

/** An increase's appliedAt and expiresAt: dates, the second after the first. */
function datesOk(appliedAt: unknown, expiresAt: unknown, path: string, problems: ProblemList): boolean {
  const dateOf = (field: 'appliedAt' | 'expiresAt', value: unknown, example: string) => {
    const t = typeof value === 'string' ? Date.parse(value) : NaN;
    if (Number.isNaN(t))
      problems.add(
        `${path}.${field}`,
        `${JSON.stringify(value)} is not a date`,
        `write an ISO 8601 time, e.g. ${example}`,
      );
    return t;
  };
  const applied = dateOf('appliedAt', appliedAt, '2026-11-30T12:00:00Z');
  const expires = dateOf('expiresAt', expiresAt, '2026-12-30T12:00:00Z');
  if (Number.isNaN(applied) || Number.isNaN(expires)) return false;
  if (expires > applied) return true;
  problems.add(`${path}.expiresAt`, 'is not after appliedAt', 'Model Studio increases last 30 days from appliedAt');
  return false;
}

function readIncrease(
  item: unknown,
  path: string,
  accountLimits: AccountLimits,
  problems: ProblemList,
): TemporaryIncrease | undefined {
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
    problems.add(`${path}.model`, `${JSON.stringify(model)} has no account limit`, 'name a model listed under models');
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
  if (!datesOk(appliedAt, expiresAt, path, problems)) good = false;
  if (!good) return undefined;
  return {
    model: model as string,
    tpm: tpm as number,
    previousTpm: previousTpm as number,
    ...(typeof upperLimit === 'number' ? { upperLimit } : {}),
    appliedAt: appliedAt as string,
    expiresAt: expiresAt as string,
  };
}

export function readTemporaryIncreases(
  raw: unknown,
  accountLimits: AccountLimits,
  problems: ProblemList,
): TemporaryIncrease[] {
  const out: TemporaryIncrease[] = [];
  if (raw === undefined) return out;
  if (!Array.isArray(raw)) {
    problems.add('temporaryIncreases', 'must be a list', 'use the "Record Temporary Increase" command to add one');
    return out;
  }
  raw.forEach((item: unknown, i) => {
    const increase = readIncrease(item, `temporaryIncreases[${i}]`, accountLimits, problems);
    if (increase) out.push(increase);
  });
  return out;
}

const PRICE_FIELDS = ['input', 'output', 'cachedInput'] as const;

/** `prices`: {currency?, batchFactor?, models: model → {input, output, cachedInput?}} per 1M tokens, over the built-in table. */
export function readPrices(raw: unknown, problems: ProblemList): RateLimitConfig['prices'] {
  if (raw === undefined) return undefined;
  const example = '{"currency":"USD","models":{"qwen-plus":{"input":0.4,"output":1.2}}}';
  if (!isObject(raw)) {
    problems.add('prices', 'must be an object {currency, models}', `write e.g. ${example}`);
    return undefined;
  }
  reportUnknownKeys(raw, ['currency', 'batchFactor', 'models'], 'prices', problems);
  const currency = raw.currency;
  if (currency !== undefined && (typeof currency !== 'string' || !/^[A-Z]{3}$/.test(currency)))
    problems.add('prices.currency', `${JSON.stringify(currency)} is not a currency code`, 'write e.g. "USD" or "CNY"');
  const batchFactor = raw.batchFactor;
  const goodFactor = typeof batchFactor === 'number' && batchFactor > 0 && batchFactor <= 1;
  if (batchFactor !== undefined && !goodFactor)
    problems.add(
      'prices.batchFactor',
      `${JSON.stringify(batchFactor)} is not a share of the real-time price`,
      'write a number above 0 and at most 1, e.g. 0.5 for half the price',
    );
  const models: Record<string, ModelPrice> = {};
  for (const [model, price] of Object.entries(isObject(raw.models) ? raw.models : {})) {
    const path = `prices.models.${model}`;
    if (!isObject(price)) {
      problems.add(path, 'must be an object {input, output, cachedInput?}', `write e.g. ${example}`);
      continue;
    }
    reportUnknownKeys(price, [...PRICE_FIELDS], path, problems);
    const bad = PRICE_FIELDS.filter(
      (f) => (price[f] !== undefined || f !== 'cachedInput') && !(typeof price[f] === 'number' && price[f] >= 0),
    );
    for (const f of bad)
      problems.add(
        `${path}.${f}`,
        `${JSON.stringify(price[f])} is not a price`,
        'write the price per 1M tokens, e.g. 0.4',
      );
    if (bad.length === 0) models[model] = price as unknown as ModelPrice;
  }
  if (raw.models !== undefined && !isObject(raw.models))
    problems.add('prices.models', 'must be an object of model → {input, output}', `write e.g. ${example}`);
  return {
    ...(typeof currency === 'string' ? { currency } : {}),
    ...(goodFactor ? { batchFactor } : {}),
    models,
  };
}
