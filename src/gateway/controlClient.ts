/**
 * A client for the gateway's control surface, for the extension (and any Node tool): it
 * talks to whichever gateway leads, over HTTP with the local token.
 */
import type { Advice } from '../core/advice';
import type { BatchJobsResponse } from '../core/batch';
import type { ConfigProblem } from '../core/config';
import { sseData } from '../core/sse';
import {
  CONFIG_SOURCE_HEADER,
  type ConfigSource,
  type GatewayEvent,
  type GatewayState,
  type HealthInfo,
  type MetricsResponse,
  type SeriesResponse,
} from '../core/protocol';
import type { AttemptRecord, RateLimitConfig } from '../core/types';

export class ControlError extends Error {
  constructor(
    message: string,
    readonly status: number,
    readonly problems: ConfigProblem[] = [],
  ) {
    super(message);
  }
}

export class ControlClient {
  constructor(
    private readonly baseUrl: () => string,
    private readonly token: string,
  ) {}

  private async call<T>(path: string, init: RequestInit = {}): Promise<T> {
    const res = await fetch(`${this.baseUrl()}${path}`, {
      ...init,
      headers: {
        authorization: `Bearer ${this.token}`,
        'content-type': 'application/json',
        ...(init.headers as Record<string, string> | undefined),
      },
    });
    const text = await res.text();
    if (!res.ok) {
      let message = `${res.status} ${res.statusText}`;
      let problems: ConfigProblem[] = [];
      try {
        const body = JSON.parse(text) as { error?: { message?: string; problems?: ConfigProblem[] } };
        message = body.error?.message ?? message;
        problems = body.error?.problems ?? [];
      } catch {
        // not JSON: keep the status line
      }
      throw new ControlError(message, res.status, problems);
    }
    return (res.headers.get('content-type')?.includes('json') ? JSON.parse(text) : text) as T;
  }

  health(): Promise<HealthInfo> {
    return this.call('/_rlm/health');
  }

  state(): Promise<GatewayState> {
    return this.call('/_rlm/state');
  }

  metrics(window: string, filter: { model?: string; workspace?: string } = {}): Promise<MetricsResponse> {
    const q = new URLSearchParams({ window, ...filter });
    return this.call(`/_rlm/metrics?${q}`);
  }

  series(window: string, filter: { model?: string; workspace?: string; step?: string } = {}): Promise<SeriesResponse> {
    const q = new URLSearchParams({ window, ...filter });
    return this.call(`/_rlm/series?${q}`);
  }

  requests(
    query: { limit?: number; model?: string; outcome?: string; kind?: string } = {},
  ): Promise<{ records: AttemptRecord[] }> {
    const q = new URLSearchParams(
      Object.entries(query)
        .filter(([, v]) => v !== undefined)
        .map(([k, v]): [string, string] => [k, String(v)]),
    );
    return this.call(`/_rlm/requests?${q}`);
  }

  config(): Promise<RateLimitConfig> {
    return this.call('/_rlm/config');
  }

  batches(workspace: string): Promise<BatchJobsResponse> {
    return this.call(`/_rlm/batches?workspace=${encodeURIComponent(workspace)}`);
  }

  advice(): Promise<{ advice: Advice[] }> {
    return this.call('/_rlm/advice');
  }

  putConfig(config: RateLimitConfig, source: ConfigSource = 'api'): Promise<RateLimitConfig> {
    return this.call('/_rlm/config', {
      method: 'PUT',
      body: JSON.stringify(config),
      headers: { [CONFIG_SOURCE_HEADER]: source },
    });
  }

  exportHistory(window: string, format: 'csv' | 'json'): Promise<string> {
    return this.call<string | object>(
      `/_rlm/history/export?window=${encodeURIComponent(window)}&format=${format}`,
    ).then((b) => (typeof b === 'string' ? b : JSON.stringify(b, null, 2)));
  }

  clearHistory(): Promise<void> {
    return this.call('/_rlm/history', { method: 'DELETE' });
  }

  /** Follow the live event stream; returns a function that stops it. Reconnects after errors. */
  events(onEvent: (e: GatewayEvent) => void, onError: (e: unknown) => void = () => undefined): () => void {
    let stopped = false;
    let controller = new AbortController();
    const run = async () => {
      while (!stopped) {
        controller = new AbortController();
        try {
          const res = await fetch(`${this.baseUrl()}/_rlm/events`, {
            headers: { authorization: `Bearer ${this.token}` },
            signal: controller.signal,
          });
          if (!res.ok || !res.body) throw new ControlError(`events: ${res.status}`, res.status);
          for await (const data of sseData(res.body)) onEvent(JSON.parse(data) as GatewayEvent);
        } catch (e) {
          if (!stopped) onError(e);
        }
        if (!stopped) await new Promise((r) => setTimeout(r, 1_000));
      }
    };
    void run();
    return () => {
      stopped = true;
      controller.abort();
    };
  }
}
