/**
 * A real Redis (Debian's redis-server, installed by scripts/setup-redis.sh) on a free port of
 * 127.0.0.1 with persistence off, as the team-mode tests use it. `kill` and `restart` stand in
 * for an outage: the restarted server is empty, as a restarted cache without persistence is.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import net from 'node:net';
import { runSetupScript } from './setupScript';

export interface RedisProcess {
  url: string;
  port: number;
  /** SIGKILL, as a crash; resolves once it is gone. */
  kill(): Promise<void>;
  /** Start again on the same port. */
  restart(): Promise<void>;
  stop(): Promise<void>;
}

let redisServer: string | undefined;

async function freePort(): Promise<number> {
  const server = net.createServer();
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const port = (server.address() as net.AddressInfo).port;
  await new Promise((r) => server.close(r));
  return port;
}

async function launch(binary: string, port: number, password?: string): Promise<ChildProcess> {
  const args = ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'];
  if (password) args.push('--requirepass', password);
  const child = spawn(binary, args, { stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  child.stdout!.on('data', (d: Buffer) => (output += d.toString()));
  child.stderr!.on('data', (d: Buffer) => (output += d.toString()));
  const deadline = Date.now() + 10_000;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`redis-server exited (${child.exitCode}):\n${output}`);
    if (/Ready to accept connections/.test(output)) return child;
    if (Date.now() > deadline) throw new Error(`redis-server did not start within 10 s:\n${output}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

export async function startRedis(options: { password?: string } = {}): Promise<RedisProcess> {
  redisServer ??= runSetupScript('scripts/setup-redis.sh').trim().split('\n').pop()!;
  const port = await freePort();
  let child = await launch(redisServer, port, options.password);
  const kill = async () => {
    if (child.exitCode !== null || child.signalCode !== null) return;
    const gone = new Promise((r) => child.once('exit', r));
    child.kill('SIGKILL');
    await gone;
  };
  return {
    url: `redis://127.0.0.1:${port}`,
    port,
    kill,
    restart: async () => {
      await kill();
      child = await launch(redisServer!, port, options.password);
    },
    stop: kill,
  };
}
