/**
 * The one typed message protocol shared by the gateway's control surface, the extension
 * and the webview (DESIGN.md). Every message is a discriminated union on `type`, so a
 * receiver can switch on it and the compiler checks every case.
 */
import type { AttemptRecord, ModelLimits, RateLimitConfig } from './types';
import type { MetricsReport, SecondPoint, SeriesPoint } from './metrics';

export interface WindowFigures {
  requests: number;
  tokens: number;
  requestLimit: number;
  tokenLimit: number;
}

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
}

export interface GatewayState {
  at: number;
  version: string;
  keys: KeyState[];
  queueLength: number;
  inFlight: number;
  calibration: Record<string, { factor: number; samples: number }>;
  last429?: { model: string; kind: string; at: number };
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
  };
  rebuild?: { records: number; malformed: number; torn: number; replayedAdmissions: number; ms: number };
}

export type TimeWindow = '1h' | '3h' | '24h' | '7d';

export const TIME_WINDOWS: Record<TimeWindow, number> = {
  '1h': 3_600_000,
  '3h': 3 * 3_600_000,
  '24h': 24 * 3_600_000,
  '7d': 7 * 24 * 3_600_000,
};

export function parseTimeWindow(text: string | null | undefined): number | undefined {
  if (!text) return undefined;
  if (text in TIME_WINDOWS) return TIME_WINDOWS[text as TimeWindow];
  const m = /^(\d+)(m|h|d)$/.exec(text);
  if (!m) return undefined;
  const n = Number(m[1]);
  const unit = m[2] === 'm' ? 60_000 : m[2] === 'h' ? 3_600_000 : 86_400_000;
  return n > 0 ? n * unit : undefined;
}

/** Events on `GET /_rlm/events` (SSE) and forwarded to webviews. */
export type GatewayEvent =
  | { type: 'record'; record: AttemptRecord }
  | { type: 'state'; state: GatewayState }
  | { type: 'config'; config: RateLimitConfig };

/** Control-route responses. */
export interface MetricsResponse extends MetricsReport {
  window: string;
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

/** Host (extension or gateway page) → dashboard webview. */
export type HostToWebview =
  | { type: 'snapshot'; window: string; metrics: MetricsResponse; state?: GatewayState; workspace: string; focusModel?: string }
  | { type: 'state'; state: GatewayState }
  | { type: 'error'; message: string };

/** Dashboard webview → host. Everything from a webview is checked with parseWebviewMessage. */
export type WebviewToHost =
  | { type: 'ready' }
  | { type: 'setWindow'; window: TimeWindow }
  | { type: 'runCommand'; command: 'copyGatewayEnvironment' | 'sendTestRequest' | 'setAccountLimits' };

const WEBVIEW_COMMANDS = ['copyGatewayEnvironment', 'sendTestRequest', 'setAccountLimits'] as const;

/** Validate a message from a webview; undefined for anything unknown or malformed. */
export function parseWebviewMessage(raw: unknown): WebviewToHost | undefined {
  if (typeof raw !== 'object' || raw === null) return undefined;
  const m = raw as Record<string, unknown>;
  switch (m.type) {
    case 'ready':
      return Object.keys(m).length === 1 ? { type: 'ready' } : undefined;
    case 'setWindow':
      return typeof m.window === 'string' && m.window in TIME_WINDOWS ? { type: 'setWindow', window: m.window as TimeWindow } : undefined;
    case 'runCommand':
      return typeof m.command === 'string' && (WEBVIEW_COMMANDS as readonly string[]).includes(m.command) ? { type: 'runCommand', command: m.command as WebviewToHost & { type: 'runCommand' } extends { command: infer C } ? C : never } : undefined;
    default:
      return undefined;
  }
}
