/**
 * The headless gateway's --config file. An edit made on the gateway's page (or PUT by a
 * tool) is written back, so a restart does not lose it. Limits pushed from VS Code are not:
 * VS Code's settings are their own source. The file's own baseUrl stays as written (the
 * --upstream flag overrides it for this run only).
 */
import fs from 'node:fs';
import path from 'node:path';
import type { ConfigSource } from '../core/protocol';
import type { RateLimitConfig } from '../core/types';

export function configWriter(file: string, original: Record<string, unknown>, log: (line: string) => void) {
  return (config: RateLimitConfig, source: ConfigSource): void => {
    if (source === 'vscode') return;
    const { baseUrl: _applied, ...rest } = config;
    const out = { ...rest, ...(typeof original.baseUrl === 'string' ? { baseUrl: original.baseUrl } : {}) };
    const tmp = path.join(path.dirname(file), `.${path.basename(file)}.${process.pid}.tmp`);
    try {
      const mode = fs.statSync(file).mode & 0o777;
      fs.writeFileSync(tmp, JSON.stringify(out, null, 2) + '\n', { mode });
      fs.renameSync(tmp, file);
      log(`saved the new limits (${source}) to ${file}`);
    } catch (e) {
      fs.rmSync(tmp, { force: true });
      log(`the new limits apply now, but could not be saved to ${file}: ${(e as Error).message}`);
    }
  };
}
