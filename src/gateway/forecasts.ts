/**
 * Each key's forecast (src/core/forecast.ts) from its live windows and its last three complete
 * calendar minutes in the metrics: the account key reads every workspace of its model, a
 * workspace key its own.
 */
import { forecastOf } from '../core/forecast';
import { MINUTE_MS, type MetricsStore } from '../core/metrics';
import type { KeyState } from '../core/protocol';

const MINUTES = 3;

export function withForecasts(keys: KeyState[], metrics: MetricsStore, now: number): KeyState[] {
  const thisMinute = Math.floor(now / MINUTE_MS) * MINUTE_MS;
  return keys.map((k) => {
    const filter = k.scope === 'workspace' ? { model: k.model, workspace: k.workspace! } : { model: k.model };
    const previous = metrics
      .timeSeries(thisMinute - MINUTES * MINUTE_MS, thisMinute, MINUTE_MS, filter)
      // local refusals are calls in the metrics, but they never entered the key's window
      .map((p) => ({ requests: p.calls - p.localRejections, tokens: p.tokens }));
    const forecast = forecastOf(k, previous);
    return forecast.limit || forecast.queueClearsInMs !== undefined ? { ...k, forecast } : k;
  });
}
