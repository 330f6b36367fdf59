/**
 * Model Studio's quota API (`GET …/api/v1/quotas`) → account limits per model, and the
 * differences against what is configured, shown before anything is applied.
 */
import { normalizePeriod } from '../../core/config';
import type { ModelLimits } from '../../core/types';

interface LimitObject {
  request_limit?: number | null;
  request_limit_period?: number | null;
  usage_limit?: number | null;
  usage_limit_field?: string | null;
  usage_limit_period?: number | null;
}

export interface QuotaPage {
  output?: {
    total?: number;
    page_no?: number;
    page_size?: number;
    quotas?: {
      model: string;
      workspace_id?: string;
      model_limit?: LimitObject | null;
      workspace_limit?: LimitObject | null;
    }[];
  };
}

export interface SyncedQuotas {
  models: Record<string, ModelLimits>;
  /** Workspace limits the provider reports for the workspace the key belongs to. */
  workspace: Record<string, Partial<ModelLimits>>;
  skipped: string[];
}

function perMinute(limit: number | null | undefined, period: number | null | undefined): number | undefined {
  if (typeof limit !== 'number' || limit <= 0) return undefined;
  return normalizePeriod(limit, typeof period === 'number' && period > 0 ? period : 60).perMinute || undefined;
}

export function parseQuotaPages(pages: QuotaPage[]): SyncedQuotas {
  const out: SyncedQuotas = { models: {}, workspace: {}, skipped: [] };
  for (const page of pages) {
    for (const q of page.output?.quotas ?? []) {
      const rpm = perMinute(q.model_limit?.request_limit, q.model_limit?.request_limit_period);
      const tpm = perMinute(q.model_limit?.usage_limit, q.model_limit?.usage_limit_period);
      if (rpm && tpm) out.models[q.model] = { rpm, tpm };
      else out.skipped.push(q.model);
      if (q.workspace_limit) {
        const w: Partial<ModelLimits> = {};
        const wr = perMinute(q.workspace_limit.request_limit, q.workspace_limit.request_limit_period);
        const wt = perMinute(q.workspace_limit.usage_limit, q.workspace_limit.usage_limit_period);
        if (wr) w.rpm = wr;
        if (wt) w.tpm = wt;
        if (wr || wt) out.workspace[q.model] = w;
      }
    }
  }
  return out;
}

export interface LimitChange {
  model: string;
  field: 'rpm' | 'tpm';
  from?: number;
  to: number;
}

export function diffLimits(current: Record<string, ModelLimits>, synced: Record<string, ModelLimits>): LimitChange[] {
  const out: LimitChange[] = [];
  for (const [model, limits] of Object.entries(synced)) {
    for (const field of ['rpm', 'tpm'] as const) {
      const from = current[model]?.[field];
      if (from !== limits[field])
        out.push(from === undefined ? { model, field, to: limits[field] } : { model, field, from, to: limits[field] });
    }
  }
  return out;
}
