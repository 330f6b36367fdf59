/**
 * Model Studio's management API, the two calls the extension makes: read an account's quotas
 * (`GET …/api/v1/quotas`, paged) and set a workspace's limits (`POST …/api/v1/models/limits`).
 * Both go to the region of the provider setting; Beijing only where the setting names none
 * (a custom URL). Plain Node: `fetch` is a parameter, so tests point it at a fake.
 */
import { isProviderPreset, PROVIDER_PRESETS, type ProviderPresetInfo } from '../../core/defaults';
import type { QuotaPage } from './quotas';

export const QUOTA_REGIONS = ['ap-southeast-1', 'cn-beijing', 'cn-hongkong', 'eu-central-1', 'us-east-1'] as const;

/** The region of a provider preset; `cn-beijing` (the API's home region) when the preset names none. */
export function regionOf(preset: string): { region: string; known: boolean } {
  const region = isProviderPreset(preset) ? (PROVIDER_PRESETS[preset] as ProviderPresetInfo).region : undefined;
  return region ? { region, known: true } : { region: 'cn-beijing', known: false };
}

export class ModelStudioError extends Error {}

export interface ManagementCall {
  workspaceId: string;
  region: string;
  key: string;
  /** Replaces the address (tests, proxies); the query is added to it. */
  url?: string;
  fetch?: typeof fetch;
}

const base = (c: ManagementCall, path: string) =>
  c.url ?? `https://${c.workspaceId}.${c.region}.maas.aliyuncs.com/api/v1/${path}`;
const MAX_PAGES = 20;

/** Every page of the account's quotas (100 models a page, at most 20 pages). */
export async function fetchQuotaPages(c: ManagementCall): Promise<QuotaPage[]> {
  const get = c.fetch ?? fetch;
  const pages: QuotaPage[] = [];
  for (let page = 1; page <= MAX_PAGES; page++) {
    const res = await get(`${base(c, 'quotas')}?page_no=${page}&page_size=100`, {
      headers: { authorization: `Bearer ${c.key}` },
    });
    if (!res.ok)
      throw new ModelStudioError(`The quota API answered ${res.status}; check the workspace id, region and key.`);
    const body = (await res.json()) as QuotaPage;
    pages.push(body);
    if (page * 100 >= (body.output?.total ?? 0)) break;
  }
  return pages;
}

/** Set one model's limits for a workspace (OVERLAY: other models keep theirs). */
export async function setWorkspaceLimit(c: ManagementCall, model: string, rpm: number, tpm: number): Promise<void> {
  const res = await (c.fetch ?? fetch)(base(c, 'models/limits'), {
    method: 'POST',
    headers: { authorization: `Bearer ${c.key}`, 'content-type': 'application/json' },
    body: JSON.stringify({
      models: [
        {
          model,
          operation_type: 'OVERLAY',
          request_limit: rpm,
          request_limit_period: 60,
          usage_limit: tpm,
          usage_limit_period: 60,
        },
      ],
    }),
  });
  const body = (await res.json().catch(() => ({}))) as { success?: boolean; message?: string };
  if (!res.ok || body.success !== true)
    throw new ModelStudioError(`Model Studio refused it: ${body.message ?? res.status}`);
}
