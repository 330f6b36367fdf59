/**
 * What GET /_rlm/team answers: the team's use of each model against the account's limits,
 * and its machines with their requests and tokens this minute and in the last hour.
 */
import type { TeamMachine, TeamModel } from '../../core/team';
import type { ModelLimits } from '../../core/types';
import type { WindowEntry } from '../../core/teamShare';
import type { SeenNode } from './store';
import type { Team } from './team';

export const ALIVE_MS = 5_000;

/** The team's use of each model in the windows as last read, against the account's limits. */
export function teamModels(
  windows: ReadonlyMap<string, WindowEntry[]>,
  limitsOf: (key: string) => ModelLimits | undefined,
): TeamModel[] {
  const models: TeamModel[] = [];
  for (const [key, entries] of windows) {
    if (!key.startsWith('account:')) continue;
    const m: TeamModel = {
      model: key.slice('account:'.length),
      requests: entries.length,
      tokens: entries.reduce((s, e) => s + e.tokens, 0),
    };
    const limits = limitsOf(key);
    if (limits) m.limits = limits;
    models.push(m);
  }
  return models;
}

/** The machines with their heartbeats and counters; none while the store is out of reach. */
export async function readMachines(team: Team): Promise<TeamMachine[]> {
  if (!team.store.ready) return [];
  try {
    return await machinesFromStore(team);
  } catch {
    // the store went away between the check and the reads: no machines to show
    return [];
  }
}

async function machinesFromStore(team: Team): Promise<TeamMachine[]> {
  const now = await team.store.time();
  const nodes = await team.store.nodes();
  const minutes = await team.store.counters(Math.floor(now / 60_000), 60);
  return nodes
    .map((n: SeenNode) => {
      const sum = (from: number, to: number) => {
        const out = { requests: 0, tokens: 0 };
        for (const counters of minutes.slice(from, to))
          for (const [field, value] of Object.entries(counters)) {
            const id = field.slice(0, field.indexOf('|'));
            const kind = field.slice(field.lastIndexOf('|') + 1);
            if (id !== n.id) continue;
            if (kind === 'r') out.requests += Number(value);
            else if (kind === 't') out.tokens += Number(value);
          }
        return out;
      };
      return {
        id: n.id,
        name: n.name,
        version: n.version,
        state: n.state,
        queue: n.queue,
        seenMsAgo: Math.max(0, Math.round(now - n.seenAt)),
        alive: now - n.seenAt <= ALIVE_MS,
        minute: sum(0, 1),
        hour: sum(0, 60),
      };
    })
    .sort((a, b) => b.hour.requests - a.hour.requests || a.name.localeCompare(b.name));
}
