/**
 * Team mode as three machines: gateways in processes of their own (separate state dirs and
 * ports), one real Redis, one fake provider counting the account's limits at arrival, and
 * the headline's load split unevenly between the machines.
 */
import type { FakeProcess } from './fakeProcess';
import { startGatewayProcess, type GatewayProcess } from './gatewayProcess';
import { runOverload, type OverloadOptions, type OverloadResult } from './overload';

export interface Machine {
  name: string;
  gateway: GatewayProcess;
  /** Its part of the offered load (0–1). */
  part: number;
}

export async function startMachines(
  fake: FakeProcess,
  config: unknown,
  redisUrl: string | undefined,
  parts: number[],
  clockOffsets: number[] = [],
): Promise<Machine[]> {
  return Promise.all(
    parts.map(async (part, i) => {
      const name = `machine-${i + 1}`;
      const offset = clockOffsets[i] ?? 0;
      const gateway = await startGatewayProcess(
        config,
        fake.url,
        redisUrl ? ['--redis', redisUrl, '--node-name', name] : [],
        offset
          ? {
              nodeArgs: ['--require', './test/support/skewClock.cjs'],
              env: { RLM_TEST_CLOCK_OFFSET_MS: String(offset) },
            }
          : {},
      );
      return { name, gateway, part };
    }),
  );
}

/** Every machine's share of `offeredPerSecond`, all at once, for `runMs`. */
export function loadMachines(
  machines: Machine[],
  o: Omit<OverloadOptions, 'gatewayUrl' | 'offeredPerSecond'> & { offeredPerSecond: number },
): Promise<OverloadResult[]> {
  return Promise.all(
    machines.map((m) =>
      runOverload({ ...o, gatewayUrl: m.gateway.url, offeredPerSecond: o.offeredPerSecond * m.part }),
    ),
  );
}

/** What the provider admitted from `from` to `to` (its arrival clock), as a share of the limit over that time. */
export function used(
  arrivals: { at: number; tokens: number }[],
  from: number,
  to: number,
  limits: { rpm: number; tpm: number },
) {
  const inside = arrivals.filter((a) => a.at > from && a.at <= to);
  const minutes = (to - from) / 60_000;
  return {
    requests: inside.length,
    tokens: inside.reduce((s, a) => s + a.tokens, 0),
    requestUse: inside.length / (limits.rpm * minutes),
    tokenUse: inside.reduce((s, a) => s + a.tokens, 0) / (limits.tpm * minutes),
  };
}

export async function stopMachines(machines: Machine[]): Promise<void> {
  await Promise.all(machines.map((m) => m.gateway.stop()));
}
