/**
 * Run one of scripts/setup-*.sh and return its standard output. The script's full output
 * goes to a log file; when it fails, the last 30 lines are printed, so a CI log says why
 * (the apt lock, a registry error, a build of native modules) instead of "Command failed".
 */
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

export function runSetupScript(script: string): string {
  const log = path.join(os.tmpdir(), `rlm-${path.basename(script, '.sh')}-${process.pid}.log`);
  const r = spawnSync('bash', ['-c', `set -o pipefail; bash "$0" 2> >(tee -a "$1" >&2) | tee -a "$1"`, script, log], {
    encoding: 'utf8',
    stdio: ['ignore', 'pipe', 'inherit'],
    maxBuffer: 64 * 1024 * 1024,
  });
  if (r.status === 0) return r.stdout;
  const lines = fs.existsSync(log) ? fs.readFileSync(log, 'utf8').trimEnd().split('\n') : [];
  const tail = lines.slice(-30).join('\n');
  throw new Error(`${script} failed (exit ${r.status ?? r.signal}). Its last 30 lines (full log: ${log}):\n${tail}`);
}
