/**
 * The headless gateway: `node dist/gateway.js [flags]`. Prints exactly one JSON line when
 * ready — {"event":"listening","url":"http://127.0.0.1:PORT"} — and drains on SIGTERM/SIGINT.
 */
import { SETTING_DEFAULTS } from '../core/defaults';
import { errorMessage, isPlainObject } from '../core/values';
import fs from 'node:fs';
import path from 'node:path';
import { ensurePrivate } from './privateFiles';
import { formatProblems, validateConfig } from '../core/config';
import type { RateLimitConfig } from '../core/types';
import { configWriter } from './configFile';
import { Gateway } from './server';
import { defaultStateDir, GatewayNode, sharedToken, type NodeEvent } from './leader';
import { generateToken } from './security';
import { batchMain } from './batchCli';
import { apiKeyFromEnv } from './env';
import { GATEWAY_VERSION } from './version';
import { checkRedisUrl } from './team/store';
import type { TeamOptions } from './team/team';

export const USAGE = `LLM Rate Limit Monitor gateway ${GATEWAY_VERSION}

Usage: node dist/gateway.js [options]
       node dist/gateway.js batch run FILE --model M [options]   (see: batch --help)

  --config FILE       configuration JSON (models, workspaces, fallbacks, maxQueueMs …);
                      limits edited on the gateway's page are saved back to it
  --upstream URL      provider base URL (overrides the config's baseUrl)
  --host HOST         address to bind (default 127.0.0.1)
  --port N            port (default ${SETTING_DEFAULTS['gateway.port']}; 0 = any free port)
  --history DIR       directory for request history (default STATE_DIR/history)
  --state-dir DIR     user-private directory for the shared token and leader info
                      (default $RLM_STATE_DIR or ~/.llm-rate-limit-monitor)
  --retention-days N  keep history this many days (default ${SETTING_DEFAULTS['history.retentionDays']})
  --token TOKEN       local token callers send as "Authorization: Bearer TOKEN"
  --token-file FILE   read the token from FILE (created with mode 0600 when missing)
  --admin-token TOKEN the owner's token for config changes, history and the page (default:
                      STATE_DIR/admin-token, created with mode 0600); callers' tokens cannot
  --redis URL         join a team: admit through this Redis (or Valkey) with the account's
                      other machines (redis:// or rediss://; default $RLM_REDIS_URL);
                      a password in the URL, or in $RLM_REDIS_PASSWORD
  --node-name NAME    this machine's name in the team's views (default user@hostname)
  --strict-fifo       no backfilling: waiters go strictly in order (for comparisons)
  --help              show this text

The provider key comes from the environment: RLM_API_KEY, else DASHSCOPE_API_KEY, else OPENAI_API_KEY.
On a fixed port, one gateway leads per user and machine: a second one started on the same
port follows the first (prints {"event":"following",...}) and takes over if it goes.
`;

/** The alphabet of generated tokens (base64url), at least 16 long. */
const TOKEN_SHAPE = /^[A-Za-z0-9_-]{16,}$/;

export interface CliOptions {
  config?: string;
  upstream?: string;
  host: string;
  port: number;
  history?: string;
  stateDir?: string;
  retentionDays: number;
  token?: string;
  tokenFile?: string;
  adminToken?: string;
  strictFifo?: boolean;
  redis?: string;
  nodeName?: string;
  help: boolean;
}

const VALUE_FLAGS = new Set([
  '--config',
  '--upstream',
  '--host',
  '--port',
  '--history',
  '--state-dir',
  '--retention-days',
  '--token',
  '--token-file',
  '--admin-token',
  '--redis',
  '--node-name',
]);

/** Parse flags; returns every problem rather than the first. */
export function parseArgs(argv: string[]): { ok: true; options: CliOptions } | { ok: false; problems: string[] } {
  const problems: string[] = [];
  const o: CliOptions = {
    host: '127.0.0.1',
    port: SETTING_DEFAULTS['gateway.port'],
    retentionDays: SETTING_DEFAULTS['history.retentionDays'],
    help: false,
  };
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    const [flag, inline] =
      arg.startsWith('--') && arg.includes('=')
        ? [arg.slice(0, arg.indexOf('=')), arg.slice(arg.indexOf('=') + 1)]
        : [arg, undefined];
    if (flag === '--help' || flag === '-h') {
      o.help = true;
      continue;
    }
    if (flag === '--strict-fifo') {
      o.strictFifo = true;
      continue;
    }
    if (!VALUE_FLAGS.has(flag)) {
      problems.push(`${arg}: unknown option (see --help)`);
      continue;
    }
    const value = inline ?? argv[++i];
    if (value === undefined || value.startsWith('--')) {
      problems.push(`${flag}: needs a value`);
      if (value?.startsWith('--')) i--;
      continue;
    }
    const problem = applyValue(o, flag, value);
    if (problem) problems.push(problem);
  }
  if (o.token && o.tokenFile) problems.push('--token and --token-file: give one, not both');
  return problems.length ? { ok: false, problems } : { ok: true, options: o };
}

/** Set one flag's value; say what is wrong with it, if anything. */
function applyValue(o: CliOptions, flag: string, value: string): string | undefined {
  const number = Number(value);
  switch (flag) {
    case '--config':
      o.config = value;
      return undefined;
    case '--upstream':
      o.upstream = value;
      return /^https?:\/\/\S+$/.test(value) ? undefined : `--upstream: "${value}" is not an http(s) URL`;
    case '--host':
      o.host = value;
      return undefined;
    case '--port':
      o.port = number;
      return Number.isInteger(number) && number >= 0 && number <= 65535
        ? undefined
        : `--port: "${value}" is not a port number (0–65535)`;
    case '--history':
      o.history = value;
      return undefined;
    case '--state-dir':
      o.stateDir = value;
      return undefined;
    case '--retention-days':
      o.retentionDays = number;
      return number > 0 && number <= 3650
        ? undefined
        : `--retention-days: "${value}" is not a number of days between 0 and 3650`;
    case '--token':
      o.token = value;
      return TOKEN_SHAPE.test(value)
        ? undefined
        : '--token: use at least 16 letters, digits, "-" or "_" (the alphabet of generated tokens; it travels in URLs and headers)';
    case '--token-file':
      o.tokenFile = value;
      return undefined;
    case '--redis':
      o.redis = value;
      return checkRedisUrl(value, '--redis');
    case '--node-name':
      o.nodeName = value;
      return value.trim() ? undefined : '--node-name: give a name, e.g. alice@laptop';
    case '--admin-token':
      o.adminToken = value;
      return TOKEN_SHAPE.test(value) ? undefined : '--admin-token: use at least 16 letters, digits, "-" or "_"';
    default:
      return undefined;
  }
}

export function readOrCreateToken(file: string): string {
  try {
    ensurePrivate(file, 'file'); // before reading: a link to /dev/zero would never end
    const t = fs.readFileSync(file, 'utf8').trim();
    if (TOKEN_SHAPE.test(t)) return t;
    throw new Error(
      `${file}: the token must be at least 16 letters, digits, "-" or "_"; delete the file to have one generated`,
    );
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw e;
  }
  fs.mkdirSync(path.dirname(path.resolve(file)), { recursive: true, mode: 0o700 });
  const token = generateToken();
  fs.writeFileSync(file, token + '\n', { mode: 0o600, flag: 'wx' });
  return token;
}

/** The --config file's object (empty without one), or what is wrong with it. */
function readConfigFile(file: string | undefined): Record<string, unknown> | string {
  if (!file) return {};
  try {
    const raw: unknown = JSON.parse(fs.readFileSync(file, 'utf8'));
    return isPlainObject(raw) ? raw : 'the file must hold one JSON object';
  } catch (e) {
    return errorMessage(e);
  }
}

/** The gateway node the CLI runs: leader or follower on the port, with the CLI's options. */
function makeNode(
  o: CliOptions,
  c: {
    config: RateLimitConfig;
    fileConfig: Record<string, unknown>;
    token: string;
    adminToken: string;
    stateDir: string;
    apiKey: string | undefined;
    log: (line: string) => void;
    team: TeamOptions | undefined;
  },
): GatewayNode {
  const { token, adminToken, stateDir, apiKey, log } = c;
  const print = (e: NodeEvent) => {
    if (e.event === 'error') process.stderr.write(`gateway: ${e.message}\n`);
    else process.stdout.write(JSON.stringify(e) + '\n');
  };
  return new GatewayNode({
    port: o.port,
    host: o.host,
    stateDir,
    ...(o.history ? { historyDir: o.history } : {}),
    retentionMs: o.retentionDays * 86_400_000,
    // A gateway on a random port is a private one: durable history only when asked for.
    durable: o.port !== 0 || o.history !== undefined,
    token,
    adminToken,
    makeGateway: ({ history, journal, port, host }) =>
      new Gateway({
        config: c.config,
        token,
        adminToken,
        apiKey: () => apiKey,
        host,
        port,
        ...(history ? { history } : {}),
        ...(journal ? { journal } : {}),
        log,
        ...(o.strictFifo ? { limiter: { backfill: false } } : {}),
        ...(c.team ? { team: c.team } : {}),
        ...(o.config ? { onConfigApplied: configWriter(o.config, c.fileConfig, c.log) } : {}),
      }),
    onEvent: print,
  });
}

/** The team to join (--redis, else RLM_REDIS_URL), none, or what is wrong with the URL. */
function teamOptions(o: CliOptions): TeamOptions | undefined | string {
  const url = o.redis ?? process.env.RLM_REDIS_URL;
  if (!url) return undefined;
  const setting = o.redis ? '--redis' : 'RLM_REDIS_URL';
  const problem = checkRedisUrl(url, setting);
  if (problem) return problem;
  const password = process.env.RLM_REDIS_PASSWORD;
  return {
    url,
    setting,
    version: GATEWAY_VERSION,
    ...(password ? { password } : {}),
    ...(o.nodeName ? { nodeName: o.nodeName } : {}),
  };
}

/** Run until SIGTERM or SIGINT, then stop within 10 s. */
function untilSignalled(node: GatewayNode): Promise<number> {
  return new Promise<number>((resolve) => {
    const stop = () => {
      process.off('SIGTERM', stop);
      process.off('SIGINT', stop);
      void node.stop(10_000).then(() => resolve(0));
    };
    process.on('SIGTERM', stop);
    process.on('SIGINT', stop);
  });
}

async function main(argv: string[]): Promise<number> {
  if (argv[0] === 'batch') return batchMain(argv.slice(1));
  const parsed = parseArgs(argv);
  if (!parsed.ok) {
    process.stderr.write(`gateway: cannot start:\n${parsed.problems.map((p) => `  ${p}`).join('\n')}\n\n${USAGE}`);
    return 2;
  }
  const o = parsed.options;
  if (o.help) {
    process.stdout.write(USAGE);
    return 0;
  }
  const fromFile = readConfigFile(o.config);
  if (typeof fromFile === 'string') {
    process.stderr.write(`gateway: --config ${o.config}: ${fromFile}\n`);
    return 2;
  }
  let raw = fromFile;
  const fileConfig = fromFile;
  if (o.upstream) raw = { ...raw, baseUrl: o.upstream };
  const log = (line: string) => process.stderr.write(`gateway: ${line}\n`);
  const result = validateConfig(raw);
  if (!result.ok) {
    process.stderr.write(
      `gateway: the configuration has problems:\n${formatProblems(result.problems).replace(/^/gm, '  ')}\n`,
    );
    return 2;
  }
  const stateDir = o.stateDir ?? defaultStateDir();
  let token: string;
  let adminToken: string;
  try {
    token = o.token ?? (o.tokenFile ? readOrCreateToken(o.tokenFile) : sharedToken(stateDir));
    adminToken = o.adminToken ?? sharedToken(stateDir, 'admin-token');
  } catch (e) {
    process.stderr.write(`gateway: ${(e as Error).message}\n`);
    return 2;
  }
  const apiKey = apiKeyFromEnv();
  if (!apiKey)
    process.stderr.write(
      'gateway: warning: no provider key in RLM_API_KEY, DASHSCOPE_API_KEY or OPENAI_API_KEY; requests will be answered 401\n',
    );
  const team = teamOptions(o);
  if (typeof team === 'string') {
    process.stderr.write(`gateway: ${team}\n`);
    return 2;
  }
  const node = makeNode(o, { config: result.config, fileConfig, token, adminToken, stateDir, apiKey, log, team });
  try {
    await node.start();
  } catch (e) {
    process.stderr.write(`gateway: cannot listen on ${o.host}:${o.port}: ${(e as Error).message}\n`);
    return 1;
  }
  if (node.role === 'stopped') return 1;
  return untilSignalled(node);
}

if (require.main === module) {
  void main(process.argv.slice(2)).then((code) => process.exit(code));
}
