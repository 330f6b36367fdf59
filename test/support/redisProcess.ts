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

/** TLS only (rediss://): the server's certificate and key files. */
export interface RedisTls {
  certFile: string;
  keyFile: string;
}

interface LaunchOptions {
  password?: string;
  tls?: RedisTls;
}

async function launch(binary: string, port: number, o: LaunchOptions): Promise<ChildProcess> {
  const listen = o.tls
    ? ['--port', '0', '--tls-port', String(port), '--tls-cert-file', o.tls.certFile, '--tls-key-file', o.tls.keyFile]
    : ['--port', String(port)];
  const args = [...listen, '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'];
  if (o.tls) args.push('--tls-auth-clients', 'no');
  if (o.password) args.push('--requirepass', o.password);
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

export async function startRedis(options: LaunchOptions = {}): Promise<RedisProcess> {
  redisServer ??= runSetupScript('scripts/setup-redis.sh').trim().split('\n').pop()!;
  const port = await freePort();
  let child = await launch(redisServer, port, options);
  const kill = async () => {
    if (child.exitCode !== null || child.signalCode !== null) return;
    const gone = new Promise((r) => child.once('exit', r));
    child.kill('SIGKILL');
    await gone;
  };
  return {
    url: `${options.tls ? 'rediss' : 'redis'}://127.0.0.1:${port}`,
    port,
    kill,
    restart: async () => {
      await kill();
      child = await launch(redisServer!, port, options);
    },
    stop: kill,
  };
}
