/**
 * Forecasts from the recent rate: when a key's 60 s window would reach its limit if use keeps
 * growing as it has over the last minutes, and when its queue would clear at the limits in force.
 * Pure: the gateway passes the key's live state and its last complete calendar minutes.
 */
import { formatDuration } from './format';
import type { KeyState } from './protocol';
import { ENGLISH, type Translator } from './translate';

export interface Forecast {
  /** The 60 s window reaches this limit in `inMs` at the recent growth. */
  limit?: { kind: 'rpm' | 'tpm'; inMs: number };
  /** The requests waiting now are all admitted in about this long. */
  queueClearsInMs?: number;
}

/** Past this a forecast says nothing useful. */
export const FORECAST_HORIZON_MS = 30 * 60_000;

type Minute = { requests: number; tokens: number };

/** Least-squares growth per minute of `values` (one per minute, oldest first). */
function slope(values: number[]): number {
  const n = values.length;
  if (n < 2) return 0;
  const mx = (n - 1) / 2;
  const my = values.reduce((a, b) => a + b, 0) / n;
  let num = 0;
  let den = 0;
  values.forEach((v, x) => {
    num += (x - mx) * (v - my);
    den += (x - mx) ** 2;
  });
  return num / den;
}

/** When a window now at `used` of `limit`, growing as `history` then `used` did, reaches the limit. */
function reachesIn(history: number[], used: number, limit: number): number | undefined {
  if (used >= limit || limit <= 0) return undefined;
  const perMinute = slope([...history, used]);
  if (!(perMinute > 0)) return undefined;
  const ms = ((limit - used) / perMinute) * 60_000;
  return ms <= FORECAST_HORIZON_MS ? ms : undefined;
}

/**
 * `previous`: the key's last complete calendar minutes, oldest first (three are enough).
 * The sooner of the two limits is the one named.
 */
export function forecastOf(
  k: Pick<KeyState, 'minute' | 'effective' | 'queueLength' | 'wait'>,
  previous: Minute[],
): Forecast {
  const f: Forecast = {};
  const rpm = reachesIn(
    previous.map((m) => m.requests),
    k.minute.requests,
    k.effective.rpm,
  );
  const tpm = reachesIn(
    previous.map((m) => m.tokens),
    k.minute.tokens,
    k.effective.tpm,
  );
  if (rpm !== undefined && (tpm === undefined || rpm <= tpm)) f.limit = { kind: 'rpm', inMs: rpm };
  else if (tpm !== undefined) f.limit = { kind: 'tpm', inMs: tpm };
  if (k.queueLength > 0 && k.effective.rpm > 0 && k.effective.tpm > 0) {
    // each waiting request takes a pacing slot and its share of the token budget, whichever is longer
    const tokensEach = k.minute.requests > 0 ? k.minute.tokens / k.minute.requests : 0;
    const each = Math.max(60_000 / k.effective.rpm, (tokensEach * 60_000) / k.effective.tpm);
    const first = k.wait?.nextInMs;
    if (first !== null && first !== Infinity) f.queueClearsInMs = (first ?? 0) + (k.queueLength - 1) * each;
  }
  return f;
}

/** "TPM limit reached in ~4 min at this rate · queue clears in ~40 s"; empty when there is nothing to say. */
export function forecastText(f: Forecast | undefined, l10n: Translator = ENGLISH): string {
  if (!f) return '';
  const parts: string[] = [];
  if (f.limit) {
    const when = formatDuration(f.limit.inMs);
    parts.push(
      f.limit.kind === 'rpm'
        ? l10n.t('RPM limit reached in ~{0} at this rate', when)
        : l10n.t('TPM limit reached in ~{0} at this rate', when),
    );
  }
  if (f.queueClearsInMs !== undefined) parts.push(l10n.t('queue clears in ~{0}', formatDuration(f.queueClearsInMs)));
  return parts.join(' · ');
}
