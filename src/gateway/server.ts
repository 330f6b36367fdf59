/**
 * The local metering gateway: an OpenAI-compatible server on loopback. This file wires the
 * front door (security), the metered routes (proxy.ts), the unmetered pass-through and the
 * control surface (control.ts) together, and owns start-up and graceful shutdown.
 */
import { sourceOf } from './request';
import { SourceStore } from '../core/sources';
import { withForecasts } from './forecasts';
import http from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { validateConfig, type ConfigResult } from '../core/config';
import { Limiter, type LimiterOptions } from '../core/limiter';
import { MetricsStore } from '../core/metrics';
import type { ConfigSource, GatewayEvent, GatewayState } from '../core/protocol';
import { endpointOfPath, Calibration } from '../core/tokens';
import { DEFAULT_WORKSPACE, type AttemptRecord, type RateLimitConfig } from '../core/types';
import { handleControl } from './control';
import { isDashboardRoute, serveDashboard } from './dashboardPage';
import type { AdmissionJournal } from './admissionJournal';
import { answerHello, HELLO_ROUTE } from './hello';
import { readBody } from './body';
import { InMemoryHistory, type HistoryStore } from './history';
import { JsonlHistory } from './historyStore';
import { ADAPTATION, LimitsManager } from './limits';
import { DEFAULT_RETRY, isRateLimitKind, type RetryPolicy } from '../core/retry';
import { handleMetered, type ProxyContext } from './proxy';
import { WaitingRequests } from './waiting';
import { sendError } from './responses';
import { Team, type TeamOptions } from './team/team';
import { Scheduler } from './scheduler';
import { countText } from './tokenizer';
import { bearerOf, hostAllowed, originAllowed, tokensEqual } from './security';
import { DEFAULT_TIMEOUTS, type UpstreamTimeouts } from './upstream';
import { passThrough } from './passThrough';
import { BatchJobList } from './batchJobs';

export { GATEWAY_VERSION } from './version';
import { GATEWAY_VERSION } from './version';
import { errorMessage } from '../core/values';

export interface GatewayOptions {
  config: RateLimitConfig;
  /** The caller token: terminals, the bundled client, other tools. Models and read-only routes. */
  token: string;
  /**
   * The admin token: only the owner (the extension, the CLI's user, the gateway's page) holds
   * it. It alone may change the config or clear history. Absent: the one token is both.
   */
  adminToken?: string;
  /** Tokens that pin a caller to one workspace: workspace id → token. */
  workspaceTokens?: Record<string, string>;
  /** The provider key for a workspace; the CLI uses one key for all. */
  apiKey: (workspace: string) => string | undefined;
  host?: string;
  port?: number;
  history?: HistoryStore;
  /** Admissions written as they happen, for a gateway that takes over after a crash. */
  journal?: AdmissionJournal;
  timeouts?: Partial<UpstreamTimeouts>;
  retry?: Partial<RetryPolicy>;
  limiter?: LimiterOptions;
  bodyLimitBytes?: number;
  log?: (line: string) => void;
  random?: () => number;
  /** Join a team: admit through one Redis with the account's other machines (src/gateway/team/). */
  team?: TeamOptions;
  /** After a config is applied: the CLI writes edits from the page back to its --config file. */
  onConfigApplied?: (config: RateLimitConfig, source: ConfigSource) => void;
}

/**
 * Window pads (README, "Limiter contract and margins"), measured on these machines: a
 * request reaches a provider in another process usually 1–4 ms after admission, but up to
 * ~45 ms under load. 25 ms is the 1 s pad's floor, leaving ≥ 97 % of a per-second limit
 * usable; src/gateway/margins.ts widens it per key after a per-second refusal, and a request
 * that left late is counted from when it left (Limiter.retime).
 */
export const DEFAULT_LIMITER_OPTIONS: LimiterOptions = {
  secondWindowPadMs: 25,
  minuteWindowPadMs: 100,
  pacingToleranceMs: 1,
};

/** The metrics label for every model without configured limits. */
export const OTHER_MODELS = 'other';

const METERED_ENDPOINTS = new Set(['chat.completions', 'completions', 'embeddings', 'responses']);

export class Gateway {
  readonly limiter: Limiter;
  readonly scheduler: Scheduler;
  readonly limits: LimitsManager;
  readonly metrics = new MetricsStore();
  readonly sources = new SourceStore();
  readonly waiting = new WaitingRequests();
  readonly calibration: Calibration;
  readonly history: HistoryStore;
  readonly batchJobs: BatchJobList;
  team: Team | undefined;
  readonly startedAt = Date.now();
  readonly server: http.Server;
  url = '';
  last429: GatewayState['last429'];
  private readonly subscribers = new Set<(e: GatewayEvent) => void>();
  private readonly sockets = new Set<Socket>();
  private inFlight = 0;
  private recoveryTimer: NodeJS.Timeout | undefined;
  private retentionTimer: NodeJS.Timeout | undefined;
  private stateTimer: NodeJS.Timeout | undefined;
  private readonly proxy: ProxyContext;
  private closing = false;

  constructor(readonly options: GatewayOptions) {
    this.calibration = new Calibration(1.1, 0.1, 5, options.config.estimateSafetyFactor);
    const limiterOptions = {
      ...DEFAULT_LIMITER_OPTIONS,
      refundUnusedTokens: options.config.refundUnusedTokens,
      ...options.limiter,
    };
    this.limiter = new Limiter(limiterOptions);
    this.scheduler = new Scheduler(this.limiter);
    this.limits = new LimitsManager(this.limiter, options.config, Date.now(), limiterOptions.secondWindowPadMs);
    this.history = options.history ?? new InMemoryHistory();
    this.proxy = {
      config: () => this.limits.current,
      apiKey: options.apiKey,
      limits: this.limits,
      limiter: this.limiter,
      scheduler: this.scheduler,
      calibration: this.calibration,
      timeouts: { ...DEFAULT_TIMEOUTS, ...options.timeouts },
      retry: { ...DEFAULT_RETRY, ...options.retry },
      record: (r) => this.record(r),
      onAdmitted: (keys: readonly string[], tokens: number, at: number) => {
        options.journal?.tryRecord(at, keys, tokens, options.log);
        this.team?.onAdmitted(keys, tokens, at);
      },
      random: options.random ?? Math.random,
      now: Date.now,
      waiting: this.waiting,
    };
    this.team = options.team ? this.makeTeam(options.team) : undefined;
    this.batchJobs = new BatchJobList(() => this.config.baseUrl, options.apiKey, this.proxy.timeouts);
    this.server = http.createServer((req, res) => void this.handle(req, res));
    this.server.keepAliveTimeout = 65_000;
    this.server.on('connection', (s) => {
      this.sockets.add(s);
      s.on('close', () => this.sockets.delete(s));
    });
  }

  private makeTeam(options: TeamOptions): Team {
    return new Team(options, {
      limiter: this.limiter,
      limits: this.limits,
      scheduler: this.scheduler,
      log: this.options.log ?? (() => {}),
    });
  }

  /**
   * Join a team, move to another store, or leave (undefined), without a restart. A URL that
   * cannot be right throws (the message names the setting); an unreachable store does not.
   */
  async setTeam(options: TeamOptions | undefined): Promise<void> {
    const next = options ? this.makeTeam(options) : undefined;
    const old = this.team;
    this.team = next;
    if (old) await old.stop();
    if (next && this.url) await next.start();
  }

  private boundPort = 0;

  get port(): number {
    return this.boundPort;
  }

  get config(): RateLimitConfig {
    return this.limits.current;
  }

  async start(): Promise<string> {
    // Load the tokenizer's tables now, not on the first request (about a second).
    countText('warm up');
    await new Promise<void>((resolve, reject) => {
      this.server.once('error', reject);
      this.server.listen(this.options.port ?? 0, this.options.host ?? '127.0.0.1', () => {
        this.server.off('error', reject);
        resolve();
      });
    });
    this.boundPort = (this.server.address() as AddressInfo).port;
    const host = this.options.host && this.options.host !== '0.0.0.0' ? this.options.host : '127.0.0.1';
    this.url = `http://${host.includes(':') ? `[${host}]` : host}:${this.port}`;
    this.rebuild();
    this.recoveryTimer = setInterval(() => {
      this.limits.recover(Date.now());
      this.scheduler.pump();
    }, ADAPTATION.stepMs);
    this.recoveryTimer.unref();
    await this.team?.start();
    return this.url;
  }

  /** What was read back at start: history records into the metrics, the last minute's admissions into the limiter. */
  rebuildStats = { records: 0, malformed: 0, torn: 0, replayedAdmissions: 0, ms: 0 };

  /**
   * Runs right after the port is bound and before any request is read (it is synchronous),
   * so the first request already sees the dashboards and the limiter of the last leader.
   */
  private rebuild(): void {
    const t0 = Date.now();
    if (this.history instanceof JsonlHistory) {
      this.history.applyRetention();
      const stats = this.history.load((r) => this.addToMetrics(r));
      Object.assign(this.rebuildStats, stats);
    }
    if (this.options.journal) {
      const since = Date.now() - 60_000 - (DEFAULT_LIMITER_OPTIONS.minuteWindowPadMs ?? 0) - 1_000;
      this.rebuildStats.replayedAdmissions = this.limiter.replay(this.options.journal.readSince(since));
    }
    this.rebuildStats.ms = Date.now() - t0;
    this.retentionTimer = setInterval(() => {
      if (this.history instanceof JsonlHistory) {
        this.history.applyRetention();
        for (const store of [this.metrics, this.sources]) store.dropBefore(Date.now() - this.history.retentionMs);
      }
    }, 600_000);
    this.retentionTimer.unref();
  }

  /**
   * Validate and apply a configuration live; queued requests keep their places.
   * `upstreamLocked` (every change over HTTP): the provider and its URL must stay as they are,
   * since whoever may write the config could otherwise point the gateway, and the provider key
   * it attaches, at a listener of their own. Only the process that started the gateway (the
   * extension, from the user's settings; the CLI, from its flags) changes the upstream.
   */
  applyConfig(raw: unknown, source: ConfigSource = 'api', upstreamLocked = false): ConfigResult {
    const result = validateConfig(raw);
    if (!result.ok) return result;
    if (
      upstreamLocked &&
      (result.config.baseUrl !== this.config.baseUrl || result.config.provider !== this.config.provider)
    ) {
      return {
        ok: false,
        problems: [
          {
            path: result.config.baseUrl !== this.config.baseUrl ? 'baseUrl' : 'provider',
            message: 'the provider and its URL cannot be changed over HTTP',
            fix:
              `keep ${JSON.stringify(this.config.provider)} at ${this.config.baseUrl}; change ` +
              `rateLimitMonitor.provider in VS Code, or restart the gateway with --upstream`,
          },
        ],
      };
    }
    this.limits.apply(result.config, Date.now());
    this.calibration.safety = result.config.estimateSafetyFactor;
    this.limiter.refundUnusedTokens = result.config.refundUnusedTokens;
    this.scheduler.pump();
    this.emit({ type: 'config', config: result.config, source });
    this.options.onConfigApplied?.(result.config, source);
    return result;
  }

  /**
   * Metrics keep a series per model: only configured models get their own, the rest share
   * "other" (300 random model names had made 2,138 Prometheus lines). Records keep the name.
   */
  private addToMetrics(r: AttemptRecord): void {
    const named = this.limits.metered(r.model) ? r : { ...r, model: OTHER_MODELS };
    this.metrics.add(named);
    this.sources.add(named);
  }

  record(r: AttemptRecord): void {
    this.history.append(r);
    // other /v1/* routes (files, batches, models) are recorded, but they are not model calls
    if (r.endpoint !== 'other') this.addToMetrics(r);
    if (isRateLimitKind(r.errorKind)) this.last429 = { model: r.model, kind: r.errorKind, at: r.startedAt };
    this.emit({ type: 'record', record: r });
  }

  state(): GatewayState {
    const now = Date.now();
    const s: GatewayState = {
      at: now,
      version: GATEWAY_VERSION,
      keys: withForecasts(this.limits.keyStates(now), this.metrics, now),
      queueLength: this.limiter.queueLength(),
      inFlight: this.inFlight,
      calibration: this.calibration.snapshot(),
    };
    if (this.last429) s.last429 = this.last429;
    if (this.team) s.team = this.team.snapshot();
    if (this.waiting.size > 0) s.waiting = this.waiting.list(now);
    return s;
  }

  /** Open event streams (GET /_rlm/events): capped, and ended first on shutdown. */
  readonly eventStreams = new Set<http.ServerResponse>();

  subscribe(fn: (e: GatewayEvent) => void): () => void {
    this.subscribers.add(fn);
    if (!this.stateTimer) {
      // state ticks only while someone listens
      this.stateTimer = setInterval(() => this.emit({ type: 'state', state: this.state() }), 1_000);
      this.stateTimer.unref();
    }
    return () => {
      this.subscribers.delete(fn);
      if (this.subscribers.size === 0 && this.stateTimer) {
        clearInterval(this.stateTimer);
        this.stateTimer = undefined;
      }
    };
  }

  private emit(e: GatewayEvent): void {
    for (const fn of this.subscribers) fn(e);
  }

  /** Stop accepting, let in-flight requests finish within `graceMs`, flush, close. */
  async close(graceMs = 10_000): Promise<void> {
    if (this.closing) return;
    this.closing = true;
    const closed = new Promise<void>((resolve) => this.server.close(() => resolve()));
    this.server.closeIdleConnections();
    for (const res of this.eventStreams) res.end();
    const deadline = Date.now() + graceMs;
    while (this.inFlight > 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
    await this.team?.stop();
    this.scheduler.stop();
    for (const s of this.sockets) s.destroy();
    if (this.recoveryTimer) clearInterval(this.recoveryTimer);
    if (this.retentionTimer) clearInterval(this.retentionTimer);
    if (this.stateTimer) clearInterval(this.stateTimer);
    this.subscribers.clear();
    await closed;
    await this.history.flush();
    this.options.journal?.close();
  }

  /** Which workspace a caller's token and headers select, or undefined when not authorised. */
  private authorise(req: http.IncomingMessage): { workspace: string; pinned: boolean; admin: boolean } | undefined {
    const given = bearerOf(req);
    if (!given) return undefined;
    const admin = this.options.adminToken !== undefined && tokensEqual(given, this.options.adminToken);
    if (admin || tokensEqual(given, this.options.token)) {
      const h = req.headers['x-rlm-workspace'];
      // without a separate admin token (an embedded or test gateway) the one token is both
      return {
        workspace: typeof h === 'string' && h.trim() !== '' ? h.trim() : DEFAULT_WORKSPACE,
        pinned: false,
        admin: admin || this.options.adminToken === undefined,
      };
    }
    for (const [workspace, token] of Object.entries(this.options.workspaceTokens ?? {})) {
      if (tokensEqual(given, token)) return { workspace, pinned: true, admin: false };
    }
    return undefined;
  }

  /** An OpenAI-compatible route: metered when it is a model call, passed through otherwise. */
  private async handleV1(req: http.IncomingMessage, res: http.ServerResponse, path: string, workspace: string) {
    if (!path.startsWith('/v1/')) {
      const message = `No route ${req.method} ${path}. OpenAI-compatible routes live under /v1/.`;
      return sendError(res, 404, message, 'invalid_request_error', 'not_found');
    }
    const body = await this.readBody(req, res);
    if (!body) return;
    const endpoint = endpointOfPath(path);
    const source = sourceOf(req);
    if (req.method === 'POST' && METERED_ENDPOINTS.has(endpoint)) {
      return handleMetered(this.proxy, req, res, endpoint, body, { workspace, source });
    }
    const ctx = {
      apiKey: this.options.apiKey,
      baseUrl: this.config.baseUrl,
      timeouts: this.proxy.timeouts,
      record: (r: AttemptRecord) => this.record(r),
      // a job may have been created or cancelled: the monitor's list reads the provider again
      onBatchRoute: () => this.batchJobs.invalidate(),
    };
    return passThrough(ctx, { req, res, body, workspace, source });
  }

  /** The request body, or undefined after answering 413 when it is over the limit. */
  private async readBody(req: http.IncomingMessage, res: http.ServerResponse): Promise<Buffer | undefined> {
    const limit = this.options.bodyLimitBytes ?? 10 * 1024 * 1024;
    const body = await readBody(req, limit);
    if (body !== 'too-large') return body;
    const message = `The request body is over the gateway's limit of ${limit} bytes.`;
    sendError(res, 413, message, 'invalid_request_error', 'body_too_large');
    return undefined;
  }

  private async handle(req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
    // An event stream is a listener, not work: shutdown does not wait for it (it closes it).
    const listener = (req.url ?? '').startsWith('/_rlm/events');
    if (!listener) {
      this.inFlight++;
      res.on('close', () => this.inFlight--);
    }
    try {
      if (refusedAsForeign(req, res, this.port)) return;
      const path = (req.url ?? '/').split('?')[0]!;
      if (req.method === 'GET' && path === HELLO_ROUTE) return answerHello(req, res, this.options.token);
      if (req.method === 'GET' && isDashboardRoute(path))
        return serveDashboard(req, res, [this.options.adminToken, this.options.token], bearerOf(req));
      const auth = this.authorise(req);
      if (!auth) {
        return sendError(
          res,
          401,
          'Missing or wrong gateway token. Send Authorization: Bearer <token> (the "Copy Gateway Environment" ' +
            'command gives it; it is not your provider key).',
          'invalid_request_error',
          'invalid_gateway_token',
        );
      }
      if (this.closing) return sendError(res, 503, 'The gateway is shutting down.', 'server_error', 'shutting_down');
      if (path.startsWith('/_rlm/') || path === '/metrics')
        return await handleControl(this, req, res, path, auth.admin);
      return await this.handleV1(req, res, path, auth.workspace);
    } catch (e) {
      this.options.log?.(`request failed: ${errorMessage(e)}`);
      if (!res.headersSent)
        sendError(res, 500, 'The gateway failed to handle this request; see its log.', 'server_error', 'gateway_error');
      else res.destroy();
    }
  }
}

/** A request for another host name, or from a web page, is refused (DNS rebinding, cross-site calls). */
function refusedAsForeign(req: http.IncomingMessage, res: http.ServerResponse, port: number): boolean {
  if (!hostAllowed(req, port)) {
    const message = `Host "${req.headers.host ?? ''}" is not this gateway: use 127.0.0.1:${port} or localhost:${port}.`;
    sendError(res, 403, message, 'invalid_request_error', 'host_not_allowed');
    return true;
  }
  if (!originAllowed(req, port)) {
    const message = `Requests from web pages (Origin ${req.headers.origin}) are refused: only the gateway's own dashboard may call it.`;
    sendError(res, 403, message, 'invalid_request_error', 'origin_not_allowed');
    return true;
  }
  return false;
}
