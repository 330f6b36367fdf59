/**
 * Advice the provider's console does not give, from what the gateway knows: a dated snapshot
 * whose stable alias has higher limits, a temporary increase left idle (Model Studio may cut
 * unused capacity back) or about to expire, a window about to reach its limit, and work that
 * can wait sent in real time (the Batch API has no real-time limits and costs half). Pure: the
 * gateway passes the configuration, each model's peak use since its increase began, the last
 * hour's use by lane and the keys' forecasts; `GET /_rlm/advice` serves the list, the views read it.
 */
import { formatCost, type Cost } from './cost';
import { formatDuration } from './format';
import type { Forecast } from './forecast';
import type { LaneUse } from './sources';
import { ENGLISH, type Translator } from './translate';
import type { ModelLimits, RateLimitConfig } from './types';

export type AdviceKind = 'higher-limit-model' | 'idle-increase' | 'increase-expiring' | 'limit-soon' | 'use-batch';

export interface Advice {
  kind: AdviceKind;
  model: string;
  message: string;
  data: Record<string, unknown>;
}

const DAY_MS = 86_400_000;
/** An increase whose peak stayed under this share of its TPM for IDLE_DAYS is idle. */
export const IDLE_SHARE = 0.2;
export const IDLE_DAYS = 3;
/** An increase ending within this long gets a reminder. */
export const EXPIRING_MS = 3 * DAY_MS;
/** Background work that earns the Batch API advice: this many calls in the hour, this share of the tokens. */
export const BATCH_MIN_CALLS = 20;
export const BATCH_MIN_SHARE = 0.5;
/** A model id ending in a date (qwen-plus-2025-07-28) is a dated snapshot; the rest is its alias. */
const SNAPSHOT = /^(.+)-\d{4}-\d{2}-\d{2}$/;

export interface AdviceInput {
  config: Pick<RateLimitConfig, 'models' | 'temporaryIncreases'>;
  /** Models that had calls in the last hour (advice is about models in use). */
  inUse: readonly string[];
  /** A model's peak TPM over the span since `from` (from the metrics). */
  peakTpmSince: (model: string, from: number) => number;
  /** Account keys' forecasts, by model. */
  forecasts: Readonly<Record<string, Forecast | undefined>>;
  /** The last hour's use per model, with the background lane's part (src/core/sources.ts). */
  laneUse?: Readonly<Record<string, LaneUse>>;
  /** The Batch API's price as a share of the real-time one (0.5 on Model Studio and OpenAI). */
  batchFactor?: number;
  now: number;
}

export function adviceOf(input: AdviceInput): Advice[] {
  const items = [...snapshotAdvice(input), ...increaseAdvice(input), ...limitSoon(input), ...useBatch(input)];
  return items.map((a) => ({ ...a, message: adviceMessage(a) }));
}

type Item = Omit<Advice, 'message'>;

/** The fields the kinds' data hold (each kind some of them). */
interface AdviceData {
  alias: string;
  limits: ModelLimits;
  aliasLimits: ModelLimits;
  tpm: number;
  peakTpm: number;
  days: number;
  inMs: number;
  previousTpm: number;
  kind: string;
  calls: number;
  share: number;
  saving: Cost | null;
}

/** An item's words, from its data: the gateway serves them in English, a view in its own language. */
export function adviceMessage(a: Item, l10n: Translator = ENGLISH): string {
  const d = a.data as unknown as AdviceData;
  switch (a.kind) {
    case 'higher-limit-model': {
      const [own, alias] = [d.limits, d.aliasLimits];
      return l10n.t(
        '{0} is a dated snapshot; its alias {1} allows {2} RPM, {3} TPM (against {4} RPM, {5} TPM): use {1} as fallback or switch.',
        a.model,
        d.alias,
        alias.rpm,
        alias.tpm,
        own.rpm,
        own.tpm,
      );
    }
    case 'idle-increase':
      return l10n.t(
        'The temporary increase of {0} to {1} TPM peaked at {2} TPM in {3} days: unused capacity may be cut back to the default limits.',
        a.model,
        d.tpm,
        Math.round(d.peakTpm),
        d.days,
      );
    case 'increase-expiring':
      return l10n.t(
        'The temporary increase of {0} to {1} TPM ends in {2}; then the limit is {3} TPM again.',
        a.model,
        d.tpm,
        formatDuration(d.inMs),
        d.previousTpm,
      );
    case 'limit-soon':
      return l10n.t(
        '{0} reaches its {1} limit in ~{2} at this rate.',
        a.model,
        d.kind.toUpperCase(),
        formatDuration(d.inMs),
      );
    case 'use-batch': {
      const what = [
        l10n.t(
          '{0}: {1} calls on the background lane in the last hour, {2} % of its tokens.',
          a.model,
          d.calls,
          Math.round(d.share * 100),
        ),
        l10n.t(
          'Work that can wait costs less with the Batch API and is outside the real-time limits: "Run Batch File".',
        ),
        ...(d.saving ? [l10n.t('It would have saved about {0}.', formatCost(d.saving))] : []),
      ];
      return what.join(' ');
    }
  }
}

/** What an item's button does, where it has one: the same in the dashboard and in a notification. */
export type AdviceAction =
  { kind: 'preferFallback'; fallback: string; label: string } | { kind: 'runBatchFile'; label: string };

export function adviceAction(a: Pick<Advice, 'kind' | 'data'>, l10n: Translator = ENGLISH): AdviceAction | undefined {
  if (a.kind === 'higher-limit-model') {
    const fallback = String(a.data.alias);
    return { kind: 'preferFallback', fallback, label: l10n.t('Use {0} first', fallback) };
  }
  if (a.kind === 'use-batch') return { kind: 'runBatchFile', label: l10n.t('Run Batch File…') };
  return undefined;
}

const higher = (a: ModelLimits, b: ModelLimits) => a.rpm > b.rpm || a.tpm > b.tpm;

function snapshotAdvice({ config, inUse }: AdviceInput): Item[] {
  return inUse.flatMap((model): Item[] => {
    const alias = SNAPSHOT.exec(model)?.[1];
    const own = config.models[model];
    const aliasLimits = alias ? config.models[alias] : undefined;
    if (!alias || !own || !aliasLimits || !higher(aliasLimits, own)) return [];
    return [{ kind: 'higher-limit-model', model, data: { alias, limits: own, aliasLimits } }];
  });
}

function increaseAdvice({ config, peakTpmSince, now }: AdviceInput): Item[] {
  return config.temporaryIncreases.flatMap((inc): Item[] => {
    const applied = Date.parse(inc.appliedAt);
    const expires = Date.parse(inc.expiresAt);
    if (!(applied <= now && now < expires)) return [];
    const out: Item[] = [];
    if (now - applied >= IDLE_DAYS * DAY_MS) {
      const peakTpm = peakTpmSince(inc.model, now - IDLE_DAYS * DAY_MS);
      if (peakTpm < IDLE_SHARE * inc.tpm)
        out.push({ kind: 'idle-increase', model: inc.model, data: { tpm: inc.tpm, peakTpm, days: IDLE_DAYS } });
    }
    if (expires - now <= EXPIRING_MS)
      out.push({
        kind: 'increase-expiring',
        model: inc.model,
        data: { expiresAt: inc.expiresAt, inMs: expires - now, tpm: inc.tpm, previousTpm: inc.previousTpm },
      });
    return out;
  });
}

function limitSoon({ forecasts }: AdviceInput): Item[] {
  return Object.entries(forecasts).flatMap(([model, f]): Item[] =>
    f?.limit ? [{ kind: 'limit-soon', model, data: { ...f.limit } }] : [],
  );
}

function useBatch({ config, laneUse, batchFactor }: AdviceInput): Item[] {
  if (!laneUse || batchFactor === undefined || batchFactor >= 1) return [];
  return Object.entries(laneUse).flatMap(([model, u]): Item[] => {
    const share = u.tokens > 0 ? u.backgroundTokens / u.tokens : 0;
    // models without limits share one "other" series: no advice names it
    if (!config.models[model] || u.backgroundCalls < BATCH_MIN_CALLS || share < BATCH_MIN_SHARE) return [];
    const cost = u.backgroundCost;
    const saving = cost ? { amount: cost.amount * (1 - batchFactor), currency: cost.currency } : null;
    return [{ kind: 'use-batch', model, data: { calls: u.backgroundCalls, share, saving } }];
  });
}
