/**
 * Team mode in the views: the whole team's last minute per model against the account's
 * limits, and its machines (node, state, requests and tokens this minute and in the last
 * hour, queue). The gateway sends it in its state (GatewayState.team); nothing here when the
 * gateway is not in a team.
 */
import { teamWarning, type TeamMachine, type TeamModel, type TeamView } from '../src/core/team';
import { bar, el, fmtNum, table } from './dom';

const ago = (ms: number) => (ms < 2_000 ? 'now' : ms < 120_000 ? `${Math.round(ms / 1000)} s ago` : 'gone');

/** One line on the team's state; a warning while the store is away. */
function teamHead(team: TeamView): HTMLElement {
  const alive = team.machines.filter((m) => m.alive).length || team.nodes;
  const warning = teamWarning(team);
  return el(
    'div',
    { class: 'team-head', 'data-team-state': team.state },
    el('strong', {}, 'Team'),
    ` · ${alive} machine${alive === 1 ? '' : 's'} · this one: ${team.node.name}`,
    warning ? el('span', { class: 'error', role: 'status' }, ` — ${warning}`) : '',
  );
}

/** The Overview's team section: the account's use by all machines, then the machines. */
export function teamSection(team: TeamView | undefined): HTMLElement | '' {
  if (!team) return '';
  const models = table<TeamModel>(
    "The team's last minute",
    [
      { key: 'model', label: 'Model', cell: (m) => m.model },
      {
        key: 'rpm',
        label: 'Team RPM',
        cell: (m) => `${m.requests} / ${m.limits ? fmtNum(m.limits.rpm) : '—'}`,
        numeric: true,
      },
      {
        key: 'tpm',
        label: 'Team TPM',
        cell: (m) => `${fmtNum(m.tokens)} / ${m.limits ? fmtNum(m.limits.tpm) : '—'}`,
        numeric: true,
      },
    ],
    team.models,
    (m) => ({ 'data-team-model': m.model }),
  );
  const machines = table<TeamMachine>(
    'Machines',
    [
      { key: 'name', label: 'Machine', cell: (m) => (m.id === team.node.id ? `${m.name} (this one)` : m.name) },
      { key: 'state', label: 'State', cell: (m) => (m.alive ? m.state : 'not seen') },
      { key: 'minuteRequests', label: 'Requests (min)', cell: (m) => String(m.minute.requests), numeric: true },
      { key: 'minuteTokens', label: 'Tokens (min)', cell: (m) => fmtNum(m.minute.tokens), numeric: true },
      { key: 'hourRequests', label: 'Requests (hour)', cell: (m) => String(m.hour.requests), numeric: true },
      { key: 'hourTokens', label: 'Tokens (hour)', cell: (m) => fmtNum(m.hour.tokens), numeric: true },
      { key: 'queue', label: 'Queue', cell: (m) => String(m.queue), numeric: true },
      { key: 'seen', label: 'Last seen', cell: (m) => ago(m.seenMsAgo) },
    ],
    team.machines,
    (m) => ({ 'data-machine': m.name }),
  );
  return el(
    'section',
    { class: 'team', 'aria-label': 'Team' },
    teamHead(team),
    models,
    el('h3', {}, 'Machines'),
    team.machines.length ? machines : el('p', { class: 'muted' }, 'No machines to show while the store is away.'),
  );
}

/** The sidebar's team lines for one model: the team's RPM and TPM against the account's limits. */
export function teamBars(team: TeamView | undefined, model: string): (HTMLElement | string)[] {
  const use = team?.models.find((m) => m.model === model);
  if (!use?.limits) return [];
  return [bar('Team RPM', use.requests, use.limits.rpm), bar('Team TPM', use.tokens, use.limits.tpm)];
}

/** The sidebar's one line on the team. */
export function teamLine(team: TeamView | undefined): HTMLElement | '' {
  return team ? teamHead(team) : '';
}

/** A state tick on the Overview: the team section alone is drawn again (nothing else moves). */
export function replaceTeamSection(root: HTMLElement, team: TeamView | undefined): void {
  const old = root.querySelector('section.team');
  const next = teamSection(team);
  if (old && next) old.replaceWith(next);
}
