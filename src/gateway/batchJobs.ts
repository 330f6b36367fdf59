/**
 * The Batch API jobs shown in the monitor. Every dashboard refresh asks for them, so the
 * list is read from the provider at most every 15 s per workspace key, and again at once
 * after a batch request passes through the gateway (a job was created or cancelled).
 */
import { toBatchJobs, type BatchJobsResponse } from '../core/batch';
import { readErrorText } from '../core/classify';
import { readText, sendUpstream, upstreamUrl, type UpstreamTimeouts } from './upstream';
import { errorMessage } from '../core/values';

const FRESH_MS = 15_000;

export class BatchJobList {
  private readonly cache = new Map<string, Promise<BatchJobsResponse>>();

  constructor(
    private readonly baseUrl: () => string,
    private readonly apiKey: (workspace: string) => string | undefined,
    private readonly timeouts: UpstreamTimeouts,
  ) {}

  list(workspace: string, now = Date.now()): Promise<BatchJobsResponse> {
    const cached = this.cache.get(workspace);
    if (cached) return cached.then((r) => (now - r.fetchedAt < FRESH_MS ? r : this.refresh(workspace, now)));
    return this.refresh(workspace, now);
  }

  /** Forget every cached list: the next read goes to the provider. */
  invalidate(): void {
    this.cache.clear();
  }

  private refresh(workspace: string, now: number): Promise<BatchJobsResponse> {
    const pending = this.fetch(workspace, now);
    this.cache.set(workspace, pending);
    return pending;
  }

  private async fetch(workspace: string, now: number): Promise<BatchJobsResponse> {
    const key = this.apiKey(workspace);
    if (!key)
      return {
        jobs: [],
        fetchedAt: now,
        error: 'No provider API key for this workspace: run "Rate Limit Monitor: Set API Key" or set RLM_API_KEY.',
      };
    try {
      const res = await sendUpstream({
        url: upstreamUrl(this.baseUrl(), '/v1/batches?limit=50'),
        method: 'GET',
        headers: { authorization: `Bearer ${key}`, accept: 'application/json' },
        signal: AbortSignal.timeout(this.timeouts.firstByteMs),
        timeouts: this.timeouts,
      });
      const text = await readText(res);
      if ((res.statusCode ?? 0) >= 400)
        return {
          jobs: [],
          fetchedAt: now,
          error: `The provider answered ${res.statusCode} to the batch list: ${(readErrorText(text)?.message ?? text).slice(0, 300)}`,
        };
      const jobs = toBatchJobs((JSON.parse(text) as { data?: unknown }).data);
      return { jobs: jobs.sort((a, b) => b.createdAt - a.createdAt), fetchedAt: now };
    } catch (e) {
      return { jobs: [], fetchedAt: now, error: `The batch list could not be read: ${errorMessage(e)}` };
    }
  }
}
