/**
 * What both dashboard hosts (the extension and the gateway's own page) do the same way:
 * gather one snapshot from the control surface, and turn a limit edit into a new config.
 * The control client is injected, so this stays free of I/O.
 */
import type { Advice } from './advice';
import type { BatchJobsResponse } from './batch';
import { TEMPORARY_INCREASE_DAYS, validateConfig, type ConfigProblem } from './config';
import type {
  DashboardSnapshot,
  GatewayState,
  LimitEdit,
  MetricsResponse,
  SeriesResponse,
  TimeWindow,
} from './protocol';
import { parseTimeWindow, TIME_WINDOWS } from './protocol';
import { DEFAULT_WORKSPACE, type AttemptRecord, type RateLimitConfig, type TemporaryIncrease } from './types';
import { errorMessage } from './values';
import { formatCount, formatDate } from './format';
import type { Translator } from './translate';

export interface DashboardSource {
  metrics(window: string): Promise<MetricsResponse>;
  series(window: string, filter: { model?: string; step?: string }): Promise<SeriesResponse>;
  state(): Promise<GatewayState>;
  requests(query: { limit?: number }): Promise<{ records: AttemptRecord[] }>;
  config(): Promise<RateLimitConfig>;
  batches(workspace: string): Promise<BatchJobsResponse>;
  advice(): Promise<{ advice: Advice[] }>;
}

/** Chart step per window: about 30–170 points, never more than the series route allows. */
export function stepFor(window: TimeWindow): string {
  const minutes = (parseTimeWindow(window) ?? TIME_WINDOWS['1h']) / 60_000;
  return minutes <= 60 ? '1m' : minutes <= 180 ? '2m' : minutes <= 1440 ? '15m' : minutes <= 10_080 ? '60m' : '6h';
}

export async function loadSnapshot(
  source: DashboardSource,
  o: {
    window: TimeWindow;
    workspace: string;
    focusModel?: string;
    increases?: TemporaryIncrease[];
    canRunCommands: boolean;
  },
): Promise<DashboardSnapshot> {
  const [metrics, config] = await Promise.all([source.metrics(o.window), source.config()]);
  // Charts always show one model, named, against that model's own limit (an unfiltered
  // series drawn against one model's limit had shown every model's traffic as that model's).
  const chartModel = o.focusModel ?? busiestModel(metrics) ?? Object.keys(config.models)[0];
  const [series, state, requests, batches, advice] = await Promise.all([
    source.series(o.window, { step: stepFor(o.window), ...(chartModel ? { model: chartModel } : {}) }),
    source.state(),
    source.requests({ limit: 200 }),
    // the provider's job list is a side panel: when it cannot be read, say so there, not instead of the dashboard
    source
      .batches(o.workspace)
      .catch((e: unknown): BatchJobsResponse => ({ jobs: [], fetchedAt: 0, error: errorMessage(e) })),
    source.advice().then((a) => a.advice),
  ]);
  return {
    window: o.window,
    metrics,
    series,
    state,
    requests: requests.records,
    config,
    batches,
    increases: o.increases ?? config.temporaryIncreases,
    advice,
    workspace: o.workspace,
    ...(o.focusModel ? { focusModel: o.focusModel } : {}),
    ...(chartModel ? { chartModel } : {}),
    canRunCommands: o.canRunCommands,
  };
}

/** The model with the most calls in the window, over all workspaces. */
function busiestModel(metrics: MetricsResponse): string | undefined {
  const calls = new Map<string, number>();
  for (const r of metrics.rows) calls.set(r.model, (calls.get(r.model) ?? 0) + r.totalCalls);
  return [...calls].sort((a, b) => b[1] - a[1] || a[0].localeCompare(b[0]))[0]?.[0];
}

export type EditOutcome = { ok: true; config: RateLimitConfig } | { ok: false; problems: ConfigProblem[] };

/** Apply an edit and validate the whole result: nothing changes unless all of it is valid. */
export function applyLimitEdit(config: RateLimitConfig, edit: LimitEdit): EditOutcome {
  if (edit.scope === 'workspace' && edit.workspace === DEFAULT_WORKSPACE) {
    return {
      ok: false,
      problems: [
        {
          path: 'workspaces.default',
          message: 'the default workspace uses the account limits and cannot be edited',
          fix: 'edit the account limit, or another workspace',
        },
      ],
    };
  }
  const next: RateLimitConfig =
    edit.scope === 'account'
      ? { ...config, models: { ...config.models, [edit.model]: { rpm: edit.rpm, tpm: edit.tpm } } }
      : {
          ...config,
          workspaces: {
            ...config.workspaces,
            [edit.workspace]: {
              name: config.workspaces[edit.workspace]?.name ?? edit.workspace,
              models: {
                ...(config.workspaces[edit.workspace]?.models ?? {}),
                [edit.model]: { rpm: edit.rpm, tpm: edit.tpm },
              },
            },
          },
        };
  const r = validateConfig(next);
  return r.ok ? { ok: true, config: r.config } : { ok: false, problems: r.problems };
}

/**
 * The limits a user edits for a key: the account's own, or the workspace's own (the account's
 * where it sets none) — never a temporary increase, which would otherwise be saved as
 * permanent and outlive its 30 days.
 */
export function editableLimits(
  config: RateLimitConfig,
  key: { scope: 'account' | 'workspace'; model: string; workspace?: string },
): { rpm: number; tpm: number } | undefined {
  const account = config.models[key.model];
  if (!account) return undefined;
  if (key.scope === 'account') return { ...account };
  const own = config.workspaces[key.workspace ?? '']?.models[key.model];
  return { rpm: own?.rpm ?? account.rpm, tpm: own?.tpm ?? account.tpm };
}

/** The temporary increase of a model in force at `now`, if any. */
export function activeIncrease(
  increases: readonly TemporaryIncrease[],
  model: string,
  now: number,
): TemporaryIncrease | undefined {
  return increases.find((i) => i.model === model && Date.parse(i.appliedAt) <= now && Date.parse(i.expiresAt) > now);
}

/** End a model's increase now (it stays in the history, with its new end). */
export function endIncrease(increases: readonly TemporaryIncrease[], model: string, now: number): TemporaryIncrease[] {
  const active = activeIncrease(increases, model, now);
  return increases.map((i) => (i === active ? { ...i, expiresAt: new Date(now).toISOString() } : i));
}

/** A temporary increase recorded now, lasting Model Studio's 30 days. */
export function newIncrease(
  config: RateLimitConfig,
  model: string,
  tpm: number,
  now: number,
  upperLimit?: number,
): TemporaryIncrease {
  const applied = new Date(now);
  return {
    model,
    tpm,
    previousTpm: config.models[model]?.tpm ?? 0,
    ...(upperLimit !== undefined ? { upperLimit } : {}),
    appliedAt: applied.toISOString(),
    expiresAt: new Date(now + TEMPORARY_INCREASE_DAYS * 86_400_000).toISOString(),
  };
}

/** `model`'s fallback chain with `fallback` first (it is not repeated further down). */
export function chainWithFirst(config: RateLimitConfig, model: string, fallback: string): string[] {
  return [fallback, ...(config.fallbacks[model] ?? []).filter((m) => m !== fallback)];
}

/** What a dashboard action reports when it is done: the same words from both hosts. */
export const actionDone = {
  limitApplied: (l10n: Translator, model: string, rpm: number, tpm: number) =>
    l10n.t('{0}: {1} RPM, {2} TPM applied', model, rpm, tpm),
  increaseRecorded: (l10n: Translator, model: string, tpm: number, expiresAt: string) =>
    l10n.t('{0}: {1} TPM until {2}', model, formatCount(tpm), formatDate(expiresAt)),
  increaseEnded: (l10n: Translator, model: string, tpm: number | undefined) =>
    l10n.t('{0}: the temporary increase ended; back to {1} TPM', model, tpm === undefined ? '?' : formatCount(tpm)),
  fallbackFirst: (l10n: Translator, model: string, chain: string[]) =>
    l10n.t('{0} now falls back to {1}', model, chain.join(' → ')),
  saved: (l10n: Translator, names: string[]) =>
    names.length === 0 ? l10n.t('No files to save.') : l10n.t('Saved {0}.', names.join(l10n.t(' and '))),
};
