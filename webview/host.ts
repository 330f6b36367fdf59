/**
 * One app, two hosts. In a VS Code webview the app talks to the extension by postMessage;
 * as the page the gateway serves, it talks to the gateway over HTTP and its event stream.
 * Both speak the typed protocol of src/core/protocol.ts.
 */
import * as l10n from '@vscode/l10n';
import {
  actionDone,
  applyLimitEdit,
  chainWithFirst,
  endIncrease,
  loadSnapshot,
  newIncrease,
  type DashboardSource,
} from '../src/core/dashboard';
import { readErrorText } from '../src/core/classify';
import { formatProblems, validateConfig } from '../src/core/config';
import { sseData } from '../src/core/sse';
import {
  CONFIG_SOURCE_HEADER,
  dispatchAction,
  type ActionHandlers,
  type ActionReply,
  type DashboardAction,
  type GatewayEvent,
  type HostToWebview,
  type TimeWindow,
  type WebviewToHost,
} from '../src/core/protocol';
import type { RateLimitConfig } from '../src/core/types';
import { errorMessage } from '../src/core/values';

export interface SavedState {
  window: TimeWindow;
  tab: string;
  sortBy: string;
  /** Absent: numbers largest first, text A to Z; a second click on the header reverses it. */
  sortDir?: 'ascending' | 'descending';
  filters: Record<string, string>;
}

export interface DashboardHost {
  send(message: Exclude<WebviewToHost, { type: 'request' }>): void;
  /** Ask the host to do something; the promise settles with its one reply. */
  request(action: DashboardAction): Promise<ActionReply>;
  onMessage(handler: (message: HostToWebview) => void): void;
  getState(): SavedState | undefined;
  setState(state: SavedState): void;
}

interface VsCodeApi {
  postMessage(m: unknown): void;
  getState(): unknown;
  setState(s: unknown): void;
}
declare function acquireVsCodeApi(): VsCodeApi;

export function vsCodeHost(): DashboardHost {
  const api = acquireVsCodeApi();
  const handlers: ((m: HostToWebview) => void)[] = [];
  const waiting = new Map<number, (reply: ActionReply) => void>();
  let nextId = 0;
  window.addEventListener('message', (e: MessageEvent<HostToWebview>) => {
    const m = e.data;
    if (m.type !== 'reply') return handlers.forEach((h) => h(m));
    waiting.get(m.id)?.(m.reply);
    waiting.delete(m.id);
  });
  return {
    send: (m) => api.postMessage(m),
    request: (request) =>
      new Promise<ActionReply>((resolve) => {
        const id = nextId++;
        waiting.set(id, resolve);
        api.postMessage({ type: 'request', id, request } satisfies WebviewToHost);
      }),
    onMessage: (handler) => handlers.push(handler),
    getState: () => api.getState() as SavedState | undefined,
    setState: (s) => api.setState(s),
  };
}

/** The gateway page: the same messages, answered from the control surface. */
export function httpHost(base: string, token: string): DashboardHost {
  const handlers: ((m: HostToWebview) => void)[] = [];
  const emit = (m: HostToWebview) => handlers.forEach((h) => h(m));
  const { call, callText } = controlCalls(base, token);
  const source = pageSource(call);
  let view: { window: TimeWindow; focusModel?: string } = { window: '1h' };
  let timer: ReturnType<typeof setTimeout> | undefined;
  let started = false;
  const refresh = async () => {
    try {
      const snapshot = await loadSnapshot(source, { ...view, workspace: 'default', canRunCommands: false });
      emit({ type: 'snapshot', snapshot });
    } catch (e) {
      emit({ type: 'error', message: l10n.t('The gateway did not answer: {0}', errorMessage(e)) });
    }
  };
  // a burst of records is one refresh (40 ms); a hidden page asks for nothing
  const schedule = () => {
    if (timer || document.hidden) return;
    timer = setTimeout(() => {
      timer = undefined;
      void refresh();
    }, 40);
  };
  const putConfig = async (config: RateLimitConfig, done: string): Promise<string> => {
    const headers = { [CONFIG_SOURCE_HEADER]: 'page' };
    await call('/_rlm/config', { method: 'PUT', body: JSON.stringify(config), headers });
    void refresh();
    return done;
  };
  const actions = pageActions(source, putConfig, call, callText);
  document.addEventListener('visibilitychange', () => {
    if (!document.hidden) void refresh();
  });
  const onEvent = (e: GatewayEvent) => {
    if (e.type === 'record' || e.type === 'config') schedule();
    else if (e.type === 'state' && !document.hidden) emit({ type: 'state', state: e.state });
  };
  return {
    ...localState(),
    onMessage: (h) => handlers.push(h),
    request: (a) => dispatchAction(actions, a),
    send: (m) => {
      if (m.type === 'ready' && !started) {
        started = true;
        void followEvents(base, token, onEvent);
      }
      if (m.type === 'setWindow') view = { ...view, window: m.window };
      if (m.type === 'focusModel') view = { ...view, focusModel: m.model };
      void refresh();
    },
  };
}

type Call = <T>(path: string, init?: RequestInit) => Promise<T>;

/** The control routes with the page's token; a refusal throws the gateway's own message. */
function controlCalls(
  base: string,
  token: string,
): { call: Call; callText: (path: string, init?: RequestInit) => Promise<string> } {
  const callText = async (path: string, init: RequestInit = {}): Promise<string> => {
    const res = await fetch(`${base}${path}`, {
      ...init,
      headers: {
        ...(init.headers as Record<string, string> | undefined),
        authorization: `Bearer ${token}`,
        'content-type': 'application/json',
      },
    });
    const text = await res.text();
    if (!res.ok) throw new Error(readErrorText(text)?.message ?? `${res.status} ${res.statusText}`);
    return text;
  };
  const call: Call = async <T>(path: string, init: RequestInit = {}) => JSON.parse(await callText(path, init)) as T;
  return { call, callText };
}

function pageSource(call: Call): DashboardSource {
  return {
    metrics: (w) => call(`/_rlm/metrics?window=${w}`),
    series: (w, f) => call(`/_rlm/series?${new URLSearchParams({ window: w, ...f })}`),
    state: () => call('/_rlm/state'),
    requests: (q) => call(`/_rlm/requests?limit=${q.limit ?? 200}`),
    config: () => call('/_rlm/config'),
    batches: (workspace) => call(`/_rlm/batches?workspace=${encodeURIComponent(workspace)}`),
    advice: () => call('/_rlm/advice'),
  };
}

/** The gateway's event stream, for as long as the page is open; a blink or a restart is followed again. */
async function followEvents(base: string, token: string, onEvent: (e: GatewayEvent) => void): Promise<never> {
  // the stream needs the token header, so fetch streaming rather than EventSource
  for (;;) {
    try {
      const res = await fetch(`${base}/_rlm/events`, { headers: { authorization: `Bearer ${token}` } });
      for await (const data of sseData(res.body!)) onEvent(JSON.parse(data) as GatewayEvent);
    } catch {
      // the gateway restarted or the network blinked: try again
    }
    await new Promise((r) => setTimeout(r, 1000));
  }
}

/** The page's choices (tab, range, sorting) kept in localStorage, as a webview keeps them with setState. */
function localState(): Pick<DashboardHost, 'getState' | 'setState'> {
  return {
    getState: () => {
      try {
        return JSON.parse(localStorage.getItem('rlm-dashboard') ?? 'null') ?? undefined;
      } catch {
        return undefined;
      }
    },
    setState: (s) => localStorage.setItem('rlm-dashboard', JSON.stringify(s)),
  };
}

/** The gateway page's actions: edits go to the gateway's config (written back to its source), files to the browser. */
function pageActions(
  source: DashboardSource,
  putConfig: (config: RateLimitConfig, done: string) => Promise<string>,
  call: <T>(path: string) => Promise<T>,
  callText: (path: string) => Promise<string>,
): ActionHandlers {
  return {
    setLimit: async ({ edit }) => {
      const r = applyLimitEdit(await source.config(), edit);
      if (!r.ok) throw new Error(formatProblems(r.problems));
      return putConfig(r.config, actionDone.limitApplied(l10n, edit.model, edit.rpm, edit.tpm));
    },
    recordIncrease: async ({ model, tpm, upperLimit }) => {
      const config = await source.config();
      const inc = newIncrease(config, model, tpm, Date.now(), upperLimit);
      return putConfig(
        { ...config, temporaryIncreases: [...config.temporaryIncreases, inc] },
        actionDone.increaseRecorded(l10n, model, tpm, inc.expiresAt),
      );
    },
    endIncrease: async ({ model }) => {
      const config = await source.config();
      const ended = endIncrease(config.temporaryIncreases, model, Date.now());
      return putConfig(
        { ...config, temporaryIncreases: ended },
        actionDone.increaseEnded(l10n, model, config.models[model]?.tpm),
      );
    },
    preferFallback: async ({ model, fallback }) => {
      const config = await source.config();
      const chain = chainWithFirst(config, model, fallback);
      const r = validateConfig({ ...config, fallbacks: { ...config.fallbacks, [model]: chain } });
      if (!r.ok) throw new Error(formatProblems(r.problems));
      return putConfig(r.config, actionDone.fallbackFirst(l10n, model, chain));
    },
    saveFile: async ({ name, content }) => {
      saveInBrowser(name, content, name.endsWith('.csv') ? 'text/csv' : 'application/json');
      return '';
    },
    downloadBatch: ({ batchId }) => downloadBatchInBrowser(call, callText, batchId),
    runFlow: () => Promise.reject(new Error(l10n.t('Commands run in VS Code; this page shows the gateway only.'))),
  };
}

function saveInBrowser(name: string, content: string, type: string): void {
  const a = document.createElement('a');
  a.href = URL.createObjectURL(new Blob([content], { type }));
  a.download = name;
  a.click();
  setTimeout(() => URL.revokeObjectURL(a.href), 1000);
}

/** The gateway page saves a finished job's output and error files through the gateway's pass-through. */
async function downloadBatchInBrowser(
  call: <T>(path: string) => Promise<T>,
  callText: (path: string) => Promise<string>,
  batchId: string,
): Promise<string> {
  const batch = await call<{ status: string; output_file_id?: string | null; error_file_id?: string | null }>(
    `/v1/batches/${encodeURIComponent(batchId)}`,
  );
  if (batch.status !== 'completed')
    throw new Error(l10n.t('Batch job {0} is {1}; download it when it is completed.', batchId, batch.status));
  const saved: string[] = [];
  for (const [fileId, suffix] of [
    [batch.output_file_id, 'output'],
    [batch.error_file_id, 'errors'],
  ] as const) {
    if (!fileId) continue;
    const name = `${batchId}.batch-${suffix}.jsonl`;
    saveInBrowser(name, await callText(`/v1/files/${encodeURIComponent(fileId)}/content`), 'application/jsonl');
    saved.push(name);
  }
  return saved.length ? actionDone.saved(l10n, saved) : l10n.t('Batch job {0} has no output files.', batchId);
}
