/**
 * `node dist/gateway.js batch run FILE --model M [options]`: the paced batch runner, headless.
 * Uses a running gateway (--gateway URL with --token or the shared token), or starts its own
 * on a free port from --config / --upstream with the provider key from the environment.
 */
import fs from 'node:fs';
import path from 'node:path';
import { validateConfig, formatProblems } from '../core/config';
import { formatDuration } from '../core/format';
import { runBatch } from './batchRunner';
import { apiKeyFromEnv } from './env';
import { defaultStateDir, sharedToken } from './leader';
import { generateToken } from './security';
import { Gateway } from './server';

export const BATCH_USAGE = `Usage: node dist/gateway.js batch run FILE [options]

  --model M          use this model for every line (default: each line's body.model)
  --gateway URL      a running gateway (default: start one for this run)
  --token TOKEN      its token (default: the shared token in the state directory)
  --config FILE      limits for the gateway this run starts
  --upstream URL     provider base URL for the gateway this run starts
  --concurrency N    requests in flight (default 8; the gateway paces them)
  --workspace ID     provider workspace (x-rlm-workspace)

Results and errors go beside FILE as FILE.results.jsonl and FILE.errors.jsonl; a second run
skips lines that already have a result.
`;

/** The run's flags, and every problem with them. */
function readBatchFlags(file: string, rest: string[]) {
  const flags: Record<string, string> = {};
  const problems: string[] = [];
  for (let i = 0; i < rest.length; i++) {
    const flag = rest[i]!;
    if (!['--model', '--gateway', '--token', '--config', '--upstream', '--concurrency', '--workspace'].includes(flag))
      problems.push(`${flag}: unknown option`);
    else if (rest[i + 1] === undefined) problems.push(`${flag}: needs a value`);
    else flags[flag.slice(2)] = rest[++i]!;
  }
  if (!fs.existsSync(file)) problems.push(`${file}: no such file`);
  const concurrency = Number(flags.concurrency ?? 8);
  if (!Number.isInteger(concurrency) || concurrency < 1 || concurrency > 256)
    problems.push(`--concurrency: "${flags.concurrency}" is not a whole number from 1 to 256`);
  return { flags, concurrency, problems };
}

export async function batchMain(argv: string[]): Promise<number> {
  const [verb, file, ...rest] = argv;
  if (verb !== 'run' || !file || file.startsWith('--')) {
    process.stderr.write(BATCH_USAGE);
    return 2;
  }
  const { flags, concurrency, problems } = readBatchFlags(file, rest);
  if (problems.length) {
    process.stderr.write(`batch: ${problems.join('\nbatch: ')}\n\n${BATCH_USAGE}`);
    return 2;
  }
  let gatewayUrl = flags.gateway;
  let token = flags.token;
  let own: Gateway | undefined;
  if (!gatewayUrl) {
    let raw: Record<string, unknown> = {};
    if (flags.config) raw = JSON.parse(fs.readFileSync(flags.config, 'utf8')) as Record<string, unknown>;
    if (flags.upstream) raw.baseUrl = flags.upstream;
    const cfg = validateConfig(raw);
    if (!cfg.ok) {
      process.stderr.write(`batch: the configuration has problems:\n${formatProblems(cfg.problems)}\n`);
      return 2;
    }
    const key = apiKeyFromEnv();
    token = generateToken();
    own = new Gateway({ config: cfg.config, token, apiKey: () => key, port: 0 });
    gatewayUrl = await own.start();
  }
  token ??= sharedToken(defaultStateDir());
  const controller = new AbortController();
  process.once('SIGINT', () => controller.abort());
  process.once('SIGTERM', () => controller.abort());
  const started = Date.now();
  let last = 0;
  const result = await runBatch({
    file: path.resolve(file),
    gatewayUrl,
    token,
    concurrency,
    signal: controller.signal,
    ...(flags.model ? { model: flags.model } : {}),
    ...(flags.workspace ? { workspace: flags.workspace } : {}),
    onProgress: (p) => {
      if (Date.now() - last < 1000 && p.done + p.failed < p.total) return;
      last = Date.now();
      const rate = (p.done - p.skipped) / Math.max(1, (Date.now() - started) / 1000);
      const eta = rate > 0 ? formatDuration(((p.total - p.done - p.failed) / rate) * 1000) : '…';
      process.stderr.write(`batch: ${p.done}/${p.total} done, ${p.failed} failed, ${p.tokens} tokens, ETA ${eta}\n`);
    },
  });
  await own?.close(1000);
  for (const m of result.malformed) process.stderr.write(`batch: skipped ${m}\n`);
  process.stdout.write(JSON.stringify({ event: 'batch-done', ...result, malformed: result.malformed.length }) + '\n');
  return result.cancelled ? 130 : result.failed > 0 || result.malformed.length > 0 ? 1 : 0;
}
