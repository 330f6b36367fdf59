/**
 * The control surface (`/_rlm/*`, `/metrics`): health, live state, metrics for a window,
 * time series, recent requests, the config (read and replace live), the Batch API jobs and
 * an SSE event stream.
 */
import { adviceOf } from '../core/advice';
import { priceReport, pricingFor } from '../core/cost';
import type http from 'node:http';
import { formatProblems } from '../core/config';
import { recordsToCsv, withCosts } from '../core/export';
import { JsonlHistory } from './historyStore';
import {
  CONFIG_SOURCE_HEADER,
  MAX_WINDOW_MS,
  parseConfigSource,
  parseTimeWindow,
  type ConfigRejected,
  type HealthInfo,
  type MetricsResponse,
  type SeriesResponse,
} from '../core/protocol';
import type { BatchJobsResponse } from '../core/batch';
import { DEFAULT_WORKSPACE, type Outcome } from '../core/types';
import type { Gateway } from './server';
import { GATEWAY_VERSION } from './version';
import { sendError } from './responses';
import { prometheusText } from './prometheus';
import { readBody } from './body';

/** Open event streams at most (each window and page holds one). */
export const MAX_EVENT_STREAMS = 64;
/** Bytes waiting for a listener that does not read, before it is dropped. */
const SLOW_LISTENER_BYTES = 1024 * 1024;

/** The largest config a PUT may send (a real one is a few kilobytes). */
export const CONFIG_BODY_LIMIT = 1024 * 1024;

/** The most points a series answer holds (a chart is a few hundred pixels wide). */
export const MAX_SERIES_POINTS = 2_000;

const OUTCOMES: Outcome[] = ['ok', 'error', 'rejected', 'cancelled'];

/** Routes that change what the gateway does or keeps: the admin token only. */
const ADMIN_ROUTES = new Set(['PUT /_rlm/config', 'DELETE /_rlm/history']);

export async function handleControl(
  gw: Gateway,
  req: http.IncomingMessage,
  res: http.ServerResponse,
  path: string,
  admin: boolean,
): Promise<void> {
  const url = new URL(req.url ?? '/', 'http://gateway');
  const route = `${req.method} ${path}`;
  if (ADMIN_ROUTES.has(route) && !admin) {
    return sendError(
      res,
      403,
      `${route} needs the gateway's admin token. The token in terminals (OPENAI_API_KEY) may use models and read ` +
        `the monitor, not change limits or history: change them in VS Code, on the gateway's page, or with the ` +
        `admin token (the admin-token file in the gateway's state folder).`,
      'invalid_request_error',
      'admin_only',
    );
  }
  const handler = ROUTES[route];
  if (!handler) return sendError(res, 404, `No control route ${route}.`, 'invalid_request_error', 'not_found');
  return handler({ gw, req, res, q: url.searchParams });
}

interface RouteCall {
  gw: Gateway;
  req: http.IncomingMessage;
  res: http.ServerResponse;
  q: URLSearchParams;
}

async function health({ gw, res }: RouteCall): Promise<void> {
  const body: HealthInfo = {
    ok: true,
    service: 'llm-rate-limit-monitor',
    version: GATEWAY_VERSION,
    pid: process.pid,
    startedAt: gw.startedAt,
    url: gw.url,
    rebuild: gw.rebuildStats,
  };
  if (gw.history instanceof JsonlHistory) body.history = gw.history.status();
  if (gw.team) body.team = gw.team.status();
  return json(res, 200, body);
}

async function exportHistory({ gw, res, q }: RouteCall): Promise<void> {
  const windowText = q.get('window') ?? '24h';
  const span = parseTimeWindow(windowText);
  if (!span || span > MAX_WINDOW_MS) return badWindow(res, windowText);
  const format = q.get('format') ?? 'json';
  if (format !== 'json' && format !== 'csv')
    return sendError(res, 400, `format "${format}": use csv or json.`, 'invalid_request_error', 'invalid_format');
  const now = Date.now();
  const records =
    gw.history instanceof JsonlHistory
      ? await gw.history.readRange(now - span, now + 1)
      : gw.history
          .recent({ limit: 10_000 })
          .filter((r) => r.startedAt >= now - span)
          .reverse();
  const pricing = pricingFor(gw.config);
  if (format === 'csv') {
    const text = recordsToCsv(records, pricing);
    res.writeHead(200, {
      'content-type': 'text/csv; charset=utf-8',
      'content-disposition': `attachment; filename="rlm-history-${windowText}.csv"`,
    });
    res.end(text);
    return;
  }
  return json(res, 200, { window: windowText, records: withCosts(records, pricing) });
}

async function clearHistory({ gw, res }: RouteCall): Promise<void> {
  if (gw.history instanceof JsonlHistory) await gw.history.clear();
  gw.metrics.clear();
  gw.sources.clear();
  return json(res, 200, { cleared: true });
}

async function state({ gw, res }: RouteCall): Promise<void> {
  return json(res, 200, gw.state());
}

/** The team's use and machines; 404 when this gateway is not in a team. */
async function team({ gw, res }: RouteCall): Promise<void> {
  if (!gw.team)
    return sendError(
      res,
      404,
      'This gateway is not in a team: start it with --redis URL (or set rateLimitMonitor.team.redisUrl).',
      'invalid_request_error',
      'no_team',
    );
  return json(res, 200, await gw.team.view());
}

async function batches({ gw, res, q }: RouteCall): Promise<void> {
  const workspace = q.get('workspace') ?? DEFAULT_WORKSPACE;
  if (workspace !== DEFAULT_WORKSPACE && !gw.config.workspaces[workspace]) {
    return sendError(
      res,
      400,
      `workspace "${workspace}" is not configured: use one of ${[DEFAULT_WORKSPACE, ...Object.keys(gw.config.workspaces)].join(', ')}.`,
      'invalid_request_error',
      'unknown_workspace',
    );
  }
  const body: BatchJobsResponse = await gw.batchJobs.list(workspace);
  return json(res, 200, body);
}

async function getConfig({ gw, res }: RouteCall): Promise<void> {
  return json(res, 200, gw.config);
}

async function putConfig({ gw, req, res }: RouteCall): Promise<void> {
  const body = await readBody(req, CONFIG_BODY_LIMIT);
  if (body === 'too-large')
    return sendError(
      res,
      413,
      `The config is over ${CONFIG_BODY_LIMIT} bytes; a real one is a few kilobytes.`,
      'invalid_config',
      'body_too_large',
    );
  let raw: unknown;
  try {
    raw = JSON.parse(body.toString('utf8'));
  } catch {
    return sendError(res, 400, 'The config is not valid JSON.', 'invalid_config', 'invalid_json');
  }
  const result = gw.applyConfig(raw, parseConfigSource(req.headers[CONFIG_SOURCE_HEADER]), true);
  if (!result.ok) {
    const body: ConfigRejected = {
      error: {
        message: `The config was not applied; the previous one stays in force.\n${formatProblems(result.problems)}`,
        type: 'invalid_config',
        problems: result.problems,
      },
    };
    return json(res, 400, body);
  }
  return json(res, 200, result.config);
}

async function metrics({ gw, res, q }: RouteCall): Promise<void> {
  const windowText = q.get('window') ?? '1h';
  const span = parseTimeWindow(windowText);
  if (!span || span > MAX_WINDOW_MS) return badWindow(res, windowText);
  const now = Date.now();
  const filter = {
    ...(q.get('model') ? { model: q.get('model')! } : {}),
    ...(q.get('workspace') ? { workspace: q.get('workspace')! } : {}),
  };
  const pricing = pricingFor(gw.config);
  const report = priceReport(gw.metrics.report(now - span, now + 1, filter), pricing);
  const sources = gw.sources.report(now - span, now + 1, pricing, filter.model);
  const body: MetricsResponse = { window: windowText, ...report, sources };
  return json(res, 200, body);
}

/** What to do next (src/core/advice.ts), from the configuration, the metrics and the keys' forecasts. */
async function advice({ gw, res }: RouteCall): Promise<void> {
  const now = Date.now();
  const accountKeys = gw.state().keys.filter((k) => k.scope === 'account');
  const pricing = pricingFor(gw.config);
  // the last hour's use per model (fed the same records as the metrics): which models are in use, and by which lane
  const laneUse = gw.sources.laneUse(now - 3_600_000, now + 1, pricing);
  const items = adviceOf({
    config: gw.config,
    inUse: Object.keys(laneUse),
    peakTpmSince: (model, from) =>
      Math.max(0, ...gw.metrics.report(from, now + 1, { model }).rows.map((r) => r.peakTpm)),
    forecasts: Object.fromEntries(accountKeys.map((k) => [k.model, k.forecast])),
    laneUse,
    batchFactor: pricing.batchFactor,
    now,
  });
  return json(res, 200, { advice: items });
}

async function series({ gw, res, q }: RouteCall): Promise<void> {
  const windowText = q.get('window') ?? '1h';
  const span = parseTimeWindow(windowText);
  if (!span || span > MAX_WINDOW_MS) return badWindow(res, windowText);
  const stepText = q.get('step');
  const stepMs = stepText ? parseTimeWindow(stepText) : Math.max(60_000, Math.ceil(span / 120 / 60_000) * 60_000);
  if (!stepMs)
    return sendError(
      res,
      400,
      `step "${stepText}": use minutes or hours, e.g. 1m, 5m, 1h.`,
      'invalid_request_error',
      'invalid_step',
    );
  // A point per step: bound the answer, whatever window and step are asked for.
  if (span / stepMs > MAX_SERIES_POINTS) {
    const least = Math.ceil(span / MAX_SERIES_POINTS / 60_000);
    return sendError(
      res,
      400,
      `window ${windowText} at step ${stepText} is more than ${MAX_SERIES_POINTS} points: use a step of at least ${least}m.`,
      'invalid_request_error',
      'too_many_points',
    );
  }
  const now = Date.now();
  const filter = {
    ...(q.get('model') ? { model: q.get('model')! } : {}),
    ...(q.get('workspace') ? { workspace: q.get('workspace')! } : {}),
  };
  const body: SeriesResponse = {
    window: windowText,
    stepMs,
    points: gw.metrics.timeSeries(now - span, now + 1, stepMs, filter),
    seconds: gw.metrics.secondSeries(now - 120_000, now + 1, filter),
  };
  return json(res, 200, body);
}

async function requests({ gw, res, q }: RouteCall): Promise<void> {
  const limitText = q.get('limit');
  const limit = limitText === null ? 100 : Number(limitText);
  if (!Number.isInteger(limit) || limit < 1)
    return sendError(
      res,
      400,
      `limit "${limitText}": use a whole number ≥ 1.`,
      'invalid_request_error',
      'invalid_limit',
    );
  const outcome = q.get('outcome');
  if (outcome !== null && !OUTCOMES.includes(outcome as Outcome)) {
    return sendError(
      res,
      400,
      `outcome "${outcome}": use one of ${OUTCOMES.join(', ')}.`,
      'invalid_request_error',
      'invalid_outcome',
    );
  }
  const records = gw.history.recent({
    limit,
    ...(q.get('model') ? { model: q.get('model')! } : {}),
    ...(outcome ? { outcome: outcome as Outcome } : {}),
    ...(q.get('kind') ? { errorKind: q.get('kind')! } : {}),
  });
  return json(res, 200, { records: withCosts(records, pricingFor(gw.config)) });
}

async function events({ gw, res }: RouteCall): Promise<void> {
  if (gw.eventStreams.size >= MAX_EVENT_STREAMS)
    return sendError(
      res,
      503,
      `${MAX_EVENT_STREAMS} event streams are open already; close one (each VS Code window and open page holds one).`,
      'server_error',
      'too_many_streams',
    );
  res.writeHead(200, {
    'content-type': 'text/event-stream',
    'cache-control': 'no-cache',
    connection: 'keep-alive',
  });
  res.write(`data: ${JSON.stringify({ type: 'state', state: gw.state() })}\n\n`);
  gw.eventStreams.add(res);
  const unsubscribe = gw.subscribe((e) => {
    // A listener that stops reading is dropped, not buffered for without end.
    if (res.writableLength > SLOW_LISTENER_BYTES) return void res.destroy();
    res.write(`data: ${JSON.stringify(e)}\n\n`);
  });
  res.on('close', () => {
    unsubscribe();
    gw.eventStreams.delete(res);
  });
  return;
}

async function prometheus({ gw, res }: RouteCall): Promise<void> {
  res.writeHead(200, { 'content-type': 'text/plain; version=0.0.4; charset=utf-8' });
  res.end(prometheusText(gw));
  return;
}

/** Every control route, by method and path. */
const ROUTES: Record<string, (c: RouteCall) => Promise<void>> = {
  'GET /_rlm/health': health,
  'GET /_rlm/history/export': exportHistory,
  'DELETE /_rlm/history': clearHistory,
  'GET /_rlm/state': state,
  'GET /_rlm/team': team,
  'GET /_rlm/batches': batches,
  'GET /_rlm/config': getConfig,
  'PUT /_rlm/config': putConfig,
  'GET /_rlm/metrics': metrics,
  'GET /_rlm/advice': advice,
  'GET /_rlm/series': series,
  'GET /_rlm/requests': requests,
  'GET /_rlm/events': events,
  'GET /metrics': prometheus,
};

function badWindow(res: http.ServerResponse, text: string): void {
  sendError(
    res,
    400,
    `window "${text}": use 1h, 3h, 24h, 7d or a span such as 30m, 12h, 2d, up to 90d.`,
    'invalid_request_error',
    'invalid_window',
  );
}

function json(res: http.ServerResponse, status: number, body: unknown): void {
  const text = JSON.stringify(body);
  res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text) });
  res.end(text);
}
