/**
 * The one typed message protocol shared by the gateway's control surface, the extension
 * and the webview (docs/ARCHITECTURE.md). Every message is a discriminated union on `type`, so a
 * receiver can switch on it and the compiler checks every case.
 */
import type { Advice } from './advice';
import type { SourceRow } from './sources';
import type { Forecast } from './forecast';
import type { TeamStatus, TeamView } from './team';
import type { WaitInfo } from './limiter';
import { isPlainObject } from './values';
import type { WindowUsage } from './keyState';
import type { BatchJobsResponse } from './batch';
import type { AttemptRecord, Lane, ModelLimits, RateLimitConfig, TemporaryIncrease } from './types';
import type { MetricsReport, SecondPoint, SeriesPoint } from './metrics';
import { errorMessage } from './values';
import { formatSeconds } from './format';
import { ENGLISH, type Translator } from './translate';

/** What one window (60 s or 1 s) holds against its limits: the limiter's own figures. */
export type WindowFigures = WindowUsage;

/** Live picture of one limiter key (account×model or workspace×model). */
export interface KeyState {
  key: string;
  scope: 'account' | 'workspace';
  model: string;
  workspace?: string;
  /** Configured limits at this moment (temporary increases applied). */
  configured: ModelLimits;
  /** What the limiter enforces: configured × adaptation × safety. */
  effective: ModelLimits;
  /** 1 = full configured limits; lowered after provider 429s, recovered additively. */
  adaptation: number;
  /** 1 = full per-second pacing; cut after a burst 429, ramped back. */
  pacing: number;
  heldUntil?: number;
  minute: WindowFigures;
  second: WindowFigures;
  queueLength: number;
  /** The pad on the 1 s window: widened when requests reach the provider later than planned. */
  margin?: SecondMargin;
  /** Why requests wait on this key, when some do, and what a fallback would do. */
  wait?: KeyWait;
  /** When the window reaches a limit at the recent growth, and when the queue clears (src/core/forecast.ts). */
  forecast?: Forecast;
}

/** Where the first waiting request would go once its wait passes the maximum queue time. */
export type FallbackPreview =
  | { model: string; startInMs: number }
  /** Backups exist, but none could start sooner: the request would get a local 429. */
  | { model: null; backups: number }
  /** No backups configured for the model. */
  | null;

export interface KeyWait extends WaitInfo {
  fallback?: FallbackPreview;
}

export interface SecondMargin {
  padMs: number;
  /** When the pad last changed, and why. */
  changedAt: number;
  reason: string;
}

/** The rule that holds a request back, in words (each a literal, so npm run l10n:export finds it). */
function waitReason(binds: WaitInfo['binds'], l10n: Translator): string {
  switch (binds) {
    case 'none':
      return l10n.t('its turn behind the requests ahead of it');
    case 'hold':
      return l10n.t('a hold after a provider 429');
    case 'pacing':
      return l10n.t('pacing (requests spaced 60 s ÷ RPM apart)');
    case 'rpm':
      return l10n.t('RPM, requests per minute');
    case 'tpm':
      return l10n.t('TPM, tokens per minute');
    case 'rps':
      return l10n.t('RPS, requests per second');
    case 'tps':
      return l10n.t('TPS, tokens per second');
  }
}

/**
 * "3 waiting; the first for 2.1 s, its turn in 0.4 s: TPS, tokens per second binds on workspace ws-a.
 * Past the maximum queue time it would go to qwen-turbo (free now)."
 */
export function waitText(w: KeyWait | undefined, key: string, l10n: Translator = ENGLISH): string {
  if (!w) return l10n.t('none waiting');
  const where =
    w.onKey === key
      ? ''
      : w.onKey.startsWith('workspace:')
        ? l10n.t(' on workspace {0}', w.onKey.split(':')[1]!)
        : l10n.t(' on the account');
  const next =
    w.nextInMs === Infinity || w.nextInMs === null
      ? l10n.t('it can never fit these limits')
      : l10n.t('its turn in {0}', formatSeconds(w.nextInMs));
  const why = l10n.t(
    '{0} waiting; the first for {1}, {2}: {3} binds{4}',
    w.waiting,
    formatSeconds(w.oldestMs),
    next,
    waitReason(w.binds, l10n),
    where,
  );
  return w.fallback === undefined ? why : `${why}${l10n.t('. ')}${fallbackText(w.fallback, l10n)}`;
}

function fallbackText(f: FallbackPreview, l10n: Translator): string {
  if (f === null) return l10n.t('No fallback model is configured for it.');
  if (f.model === null)
    return f.backups === 1
      ? l10n.t('Its fallback could not start sooner: past the maximum queue time it would get a local 429.')
      : l10n.t(
          'Its {0} fallbacks could not start sooner: past the maximum queue time it would get a local 429.',
          f.backups,
        );
  const when = f.startInMs <= 0 ? l10n.t('free now') : l10n.t('its turn there in {0}', formatSeconds(f.startInMs));
  return l10n.t('Past the maximum queue time it would go to {0} ({1}).', f.model, when);
}

/** "25 ms" at the floor; "50 ms — a per-second refusal (RPS), 12:03:04" once widened. */
export function marginText(m: SecondMargin | undefined, time: (ms: number) => string, l10n = ENGLISH): string {
  if (!m) return '—';
  return m.reason === 'the floor'
    ? `${m.padMs} ms`
    : `${m.padMs} ms — ${marginReason(m.reason, l10n)}, ${time(m.changedAt)}`;
}

/** The gateway states why a margin changed in English (src/gateway/margins.ts); the views translate it. */
function marginReason(reason: string, l10n: Translator): string {
  const refusal = /^a per-second refusal \((RPS|TPS)\)$/.exec(reason);
  if (refusal) return l10n.t('a per-second refusal ({0})', refusal[1]!);
  if (reason === 'five minutes without a per-second refusal')
    return l10n.t('five minutes without a per-second refusal');
  return reason;
}

export interface GatewayState {
  at: number;
  version: string;
  keys: KeyState[];
  queueLength: number;
  inFlight: number;
  calibration: Record<string, { factor: number; samples: number }>;
  last429?: { model: string; kind: string; at: number };
  /** In team mode: the team store's state as this gateway sees it, the team's use and its machines. */
  team?: TeamView;
  /** The requests waiting in the queue now, the longest-waiting first (at most 50); absent when none. */
  waiting?: WaitingRequest[];
}

/** A request in the gateway's queue: who sent it, how long it has waited, when it should start. */
export interface WaitingRequest {
  model: string;
  workspace: string;
  source: string;
  lane: Lane;
  waitingMs: number;
  /** The start the queue expected when it joined, from now (0: due, it goes at the next chance). */
  expectedInMs: number;
}

export interface HealthInfo {
  ok: true;
  service: 'llm-rate-limit-monitor';
  version: string;
  pid: number;
  startedAt: number;
  url: string;
  /** Durable history, when the gateway writes it. */
  history?: {
    dir: string;
    flushedRecords: number;
    pendingRecords: number;
    loaded: { records: number; malformed: number; torn: number };
    /** The last write that failed (a full disk, a read-only folder): records wait and are retried. */
    writeError?: { message: string; at: number };
    /** Records given up because too many waited while writes failed. */
    droppedRecords: number;
  };
  rebuild?: { records: number; malformed: number; torn: number; replayedAdmissions: number; ms: number };
  team?: TeamStatus;
}

/** The time range a view shows: a preset, or a custom span such as `30m`, `12h` or `2d`. */
export type TimeWindow = PresetWindow | `${number}${'m' | 'h' | 'd'}`;
export type PresetWindow = '1h' | '3h' | '24h' | '7d';
/** The longest custom range a view asks for (history keeps 7 days by default). */
export const MAX_WINDOW_MS = 90 * 86_400_000;

export const TIME_WINDOWS: Record<PresetWindow, number> = {
  '1h': 3_600_000,
  '3h': 3 * 3_600_000,
  '24h': 24 * 3_600_000,
  '7d': 7 * 24 * 3_600_000,
};

export function parseTimeWindow(text: string | null | undefined): number | undefined {
  if (!text) return undefined;
  if (text in TIME_WINDOWS) return TIME_WINDOWS[text as PresetWindow];
  const m = /^(\d+)(m|h|d)$/.exec(text);
  if (!m) return undefined;
  const n = Number(m[1]);
  const unit = m[2] === 'm' ? 60_000 : m[2] === 'h' ? 3_600_000 : 86_400_000;
  return n > 0 ? n * unit : undefined;
}

/** A range a view may show: a preset or a custom span of at most MAX_WINDOW_MS. */
export function isTimeWindow(text: unknown): text is TimeWindow {
  if (typeof text !== 'string') return false;
  const span = parseTimeWindow(text);
  return span !== undefined && span <= MAX_WINDOW_MS;
}

/** Events on `GET /_rlm/events` (SSE) and forwarded to webviews. */
export type GatewayEvent =
  | { type: 'record'; record: AttemptRecord }
  | { type: 'state'; state: GatewayState }
  | { type: 'config'; config: RateLimitConfig; source: ConfigSource };

/**
 * Who replaced the gateway's config. VS Code's settings are pushed as `vscode`; an edit on the
 * gateway's page (`page`) or by another tool (`api`) is written back to the settings or the
 * --config file, so it outlives the next push.
 */
export type ConfigSource = 'vscode' | 'page' | 'api';
export const CONFIG_SOURCE_HEADER = 'x-rlm-config-source';
export function parseConfigSource(v: unknown): ConfigSource {
  return v === 'vscode' || v === 'page' ? v : 'api';
}

/** Control-route responses. */
export interface MetricsResponse extends MetricsReport {
  window: string;
  /** Who spent the window: one row per caller (x-rlm-source, the API's source, or the User-Agent). */
  sources?: SourceRow[];
}

export interface SeriesResponse {
  window: string;
  stepMs: number;
  points: SeriesPoint[];
  seconds: SecondPoint[];
}

export interface ConfigRejected {
  error: { message: string; type: 'invalid_config'; problems: { path: string; message: string; fix: string }[] };
}

/** Everything a dashboard view renders, assembled by src/core/dashboard.ts for either host. */
export interface DashboardSnapshot {
  window: string;
  metrics: MetricsResponse;
  series: SeriesResponse;
  state: GatewayState;
  requests: AttemptRecord[];
  config: RateLimitConfig;
  /** Batch API jobs of the workspace's key (counted apart from the real-time limits). */
  batches: BatchJobsResponse;
  /** Temporary increases, expired ones included (the history). */
  increases: TemporaryIncrease[];
  /** What the gateway advises now (GET /_rlm/advice); empty when there is nothing to advise. */
  advice: Advice[];
  workspace: string;
  focusModel?: string;
  /** The model the Charts tab shows: the one asked for, else the busiest in the window, else the first configured. */
  chartModel?: string;
  /** The window's workspace has no provider key (the extension knows; the gateway page does not). */
  apiKeyMissing?: boolean;
  /** The account limits are the published defaults, not the user's own (set or synced). */
  defaultLimits?: boolean;
  /** Where this host can run VS Code commands (the extension) or not (the gateway page). */
  canRunCommands: boolean;
}

/** Host (extension or gateway page) → dashboard webview. */
export type HostToWebview =
  | { type: 'snapshot'; snapshot: DashboardSnapshot }
  | { type: 'state'; state: GatewayState }
  /** The one answer to the request with this id. */
  | { type: 'reply'; id: number; reply: ActionReply }
  | { type: 'error'; message: string };

export type LimitEdit =
  | { scope: 'account'; model: string; rpm: number; tpm: number }
  | { scope: 'workspace'; workspace: string; model: string; rpm: number; tpm: number };

/**
 * What a dashboard asks its host to do. Each request carries an id and gets exactly one reply
 * with it; the extension carries requests out with its command handlers, the gateway page with
 * the control routes — both behind `ActionHandlers`.
 */
export type DashboardAction =
  | { action: 'setLimit'; edit: LimitEdit }
  | { action: 'recordIncrease'; model: string; tpm: number; upperLimit?: number }
  | { action: 'endIncrease'; model: string }
  | { action: 'saveFile'; name: string; content: string }
  | { action: 'downloadBatch'; batchId: string }
  /** Put `fallback` first in `model`'s chain (the higher-limit advice's action). */
  | { action: 'preferFallback'; model: string; fallback: string }
  /** Start one of the flows a dashboard offers (Set API Key, Sync Limits …) where the host has them. */
  | { action: 'runFlow'; flow: DashboardFlow };

/** ok with what was done (empty: nothing to say, e.g. a save dialog closed), or the error to show. */
export interface ActionReply {
  ok: boolean;
  message: string;
}

/** One handler per action; each resolves to what it did or throws the message to show. */
export type ActionHandlers = {
  [K in DashboardAction['action']]: (a: Extract<DashboardAction, { action: K }>) => Promise<string>;
};

export async function dispatchAction(handlers: ActionHandlers, a: DashboardAction): Promise<ActionReply> {
  try {
    const handler = handlers[a.action] as (x: DashboardAction) => Promise<string>;
    return { ok: true, message: await handler(a) };
  } catch (e) {
    return { ok: false, message: errorMessage(e) };
  }
}

/** Dashboard webview → host. Everything from a webview is checked with parseWebviewMessage. */
export type WebviewToHost =
  | { type: 'ready' }
  | { type: 'setWindow'; window: TimeWindow }
  | { type: 'focusModel'; model: string }
  | { type: 'request'; id: number; request: DashboardAction };

export const DASHBOARD_FLOWS = [
  'copyGatewayEnvironment',
  'runBatchFile',
  'sendTestRequest',
  'setAccountLimits',
  'setApiKey',
  'syncLimits',
] as const;
export type DashboardFlow = (typeof DASHBOARD_FLOWS)[number];

const isName = (v: unknown): v is string => typeof v === 'string' && /^[\w.:-]{1,128}$/.test(v);
const isLimit = (v: unknown): v is number => typeof v === 'number' && Number.isInteger(v) && v > 0 && v <= 1e12;
const MAX_SAVED_FILE = 50 * 1024 * 1024;

/** Validate a message from a webview; undefined for anything unknown or malformed. */
export function parseWebviewMessage(raw: unknown): WebviewToHost | undefined {
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) return undefined;
  const m = raw as Record<string, unknown>;
  const keys = Object.keys(m).sort().join(',');
  switch (m.type) {
    case 'ready':
      return keys === 'type' ? { type: 'ready' } : undefined;
    case 'setWindow':
      return keys === 'type,window' && isTimeWindow(m.window) ? { type: 'setWindow', window: m.window } : undefined;
    case 'focusModel':
      return keys === 'model,type' && isName(m.model) ? { type: 'focusModel', model: m.model } : undefined;
    case 'request': {
      const ok =
        keys === 'id,request,type' && Number.isInteger(m.id) && (m.id as number) >= 0 && (m.id as number) < 2 ** 31;
      const request = ok ? parseAction(m.request) : undefined;
      return request ? { type: 'request', id: m.id as number, request } : undefined;
    }
    default:
      return undefined;
  }
}

function parseAction(raw: unknown): DashboardAction | undefined {
  if (!isPlainObject(raw)) return undefined;
  const m = raw;
  const keys = Object.keys(m).sort().join(',');
  switch (m.action) {
    case 'runFlow':
      return keys === 'action,flow' && (DASHBOARD_FLOWS as readonly unknown[]).includes(m.flow)
        ? { action: 'runFlow', flow: m.flow as DashboardFlow }
        : undefined;
    case 'setLimit': {
      const edit = keys === 'action,edit' ? parseLimitEdit(m.edit) : undefined;
      return edit ? { action: 'setLimit', edit } : undefined;
    }
    case 'recordIncrease':
      if (
        !/^action,model,tpm(,upperLimit)?$/.test(keys) ||
        !isName(m.model) ||
        !isLimit(m.tpm) ||
        (m.upperLimit !== undefined && !isLimit(m.upperLimit))
      )
        return undefined;
      return {
        action: 'recordIncrease',
        model: m.model,
        tpm: m.tpm,
        ...(m.upperLimit !== undefined ? { upperLimit: m.upperLimit as number } : {}),
      };
    case 'endIncrease':
      return keys === 'action,model' && isName(m.model) ? { action: 'endIncrease', model: m.model } : undefined;
    case 'preferFallback':
      return keys === 'action,fallback,model' && isName(m.model) && isName(m.fallback) && m.model !== m.fallback
        ? { action: 'preferFallback', model: m.model, fallback: m.fallback }
        : undefined;
    case 'saveFile':
      return keys === 'action,content,name' &&
        typeof m.name === 'string' &&
        /^[\w.-]{1,100}\.(csv|json)$/.test(m.name) &&
        typeof m.content === 'string' &&
        m.content.length <= MAX_SAVED_FILE
        ? { action: 'saveFile', name: m.name, content: m.content }
        : undefined;
    case 'downloadBatch':
      return keys === 'action,batchId' && typeof m.batchId === 'string' && /^[\w.:-]{1,200}$/.test(m.batchId)
        ? { action: 'downloadBatch', batchId: m.batchId }
        : undefined;
    default:
      return undefined;
  }
}

function parseLimitEdit(e: unknown): LimitEdit | undefined {
  if (!isPlainObject(e) || !isName(e.model) || !isLimit(e.rpm) || !isLimit(e.tpm)) return undefined;
  if (e.scope === 'account') return { scope: 'account', model: e.model, rpm: e.rpm, tpm: e.tpm };
  if (e.scope === 'workspace' && isName(e.workspace)) {
    return { scope: 'workspace', workspace: e.workspace, model: e.model, rpm: e.rpm, tpm: e.tpm };
  }
  return undefined;
}
