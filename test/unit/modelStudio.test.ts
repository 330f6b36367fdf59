/**
 * The Model Studio client: both calls go to the provider setting's region (Beijing only when
 * the setting names none), quotas are read page by page, and a refusal says what to check.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { fetchQuotaPages, ModelStudioError, regionOf, setWorkspaceLimit } from '../../src/extension/logic/modelStudio';

function recordingFetch(answer: (url: string, page: number) => { status: number; body: unknown }) {
  const calls: { url: string; init?: RequestInit }[] = [];
  const f = (async (url: string | URL, init?: RequestInit) => {
    calls.push({ url: String(url), ...(init ? { init } : {}) });
    const page = Number(new URL(String(url)).searchParams.get('page_no') ?? 0);
    const a = answer(String(url), page);
    return new Response(JSON.stringify(a.body), { status: a.status, headers: { 'content-type': 'application/json' } });
  }) as typeof fetch;
  return { f, calls };
}

describe('Model Studio client', () => {
  it('takes the region from the provider preset, and Beijing when the preset names none', () => {
    assert.deepEqual(regionOf('dashscope-singapore'), { region: 'ap-southeast-1', known: true });
    assert.deepEqual(regionOf('dashscope-virginia'), { region: 'us-east-1', known: true });
    assert.deepEqual(regionOf('dashscope-beijing'), { region: 'cn-beijing', known: true });
    assert.deepEqual(regionOf('custom'), { region: 'cn-beijing', known: false });
  });

  it('sets a workspace limit in the given region, never in a fixed one', async () => {
    const { f, calls } = recordingFetch(() => ({ status: 200, body: { success: true } }));
    await setWorkspaceLimit(
      { workspaceId: 'llm-x', region: 'us-east-1', key: 'sk-test-key-000', fetch: f },
      'qwen-plus',
      100,
      1000,
    );
    assert.equal(calls[0]!.url, 'https://llm-x.us-east-1.maas.aliyuncs.com/api/v1/models/limits');
    const body = JSON.parse(String(calls[0]!.init!.body)) as {
      models: { model: string; request_limit: number; usage_limit: number }[];
    };
    assert.deepEqual(
      [body.models[0]!.model, body.models[0]!.request_limit, body.models[0]!.usage_limit],
      ['qwen-plus', 100, 1000],
    );
  });

  it('reads every page of the quotas, and stops at the total', async () => {
    const { f, calls } = recordingFetch((_u, page) => ({
      status: 200,
      body: { output: { total: 150, quotas: [{ model: `m${page}` }] } },
    }));
    const pages = await fetchQuotaPages({ workspaceId: 'llm-x', region: 'ap-southeast-1', key: 'k', fetch: f });
    assert.equal(pages.length, 2);
    assert.match(
      calls[1]!.url,
      /^https:\/\/llm-x\.ap-southeast-1\.maas\.aliyuncs\.com\/api\/v1\/quotas\?page_no=2&page_size=100$/,
    );
  });

  it('says what to check when the API refuses, without the key', async () => {
    const { f } = recordingFetch(() => ({ status: 401, body: { message: 'bad key sk-secret-123' } }));
    await assert.rejects(
      fetchQuotaPages({ workspaceId: 'w', region: 'cn-beijing', key: 'sk-secret-123', fetch: f }),
      (e: Error) =>
        e instanceof ModelStudioError &&
        /401; check the workspace id, region and key/.test(e.message) &&
        !e.message.includes('sk-secret'),
    );
    const refused = recordingFetch(() => ({
      status: 200,
      body: { success: false, message: 'limit above the account' },
    }));
    await assert.rejects(
      setWorkspaceLimit({ workspaceId: 'w', region: 'cn-beijing', key: 'k', fetch: refused.f }, 'm', 1, 1),
      /Model Studio refused it: limit above the account/,
    );
  });
});
