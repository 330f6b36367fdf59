/**
 * Team mode in the views: the whole team's last minute per model against the account's
 * limits, and its machines (node, state, requests and tokens this minute and in the last
 * hour, queue). The gateway sends it in its state (GatewayState.team); nothing here when the
 * gateway is not in a team.
 */
import { teamWarning, type TeamMachine, type TeamModel, type TeamView } from '../src/core/team';
import * as l10n from '@vscode/l10n';
import { bar, el, fmtNum, table } from './dom';

const ago = (ms: number) =>
  ms < 2_000 ? l10n.t('now') : ms < 120_000 ? l10n.t('{0} s ago', Math.round(ms / 1000)) : l10n.t('gone');

/** A machine's state in the user's words. */
function stateWord(state: string): string {
  if (state === 'online') return l10n.t('online');
  if (state === 'offline') return l10n.t('offline');
  if (state === 'rejoining') return l10n.t('rejoining');
  if (state === 'connecting') return l10n.t('connecting');
  return state;
}

/** One line on the team's state; a warning while the store is away. */
function teamHead(team: TeamView): HTMLElement {
  const alive = team.machines.filter((m) => m.alive).length || team.nodes;
  const warning = teamWarning(team, l10n);
  return el(
    'div',
    { class: 'team-head', 'data-team-state': team.state },
    el('strong', {}, l10n.t('Team')),
    ` · ${alive === 1 ? l10n.t('1 machine') : l10n.t('{0} machines', alive)} · ${l10n.t('this one: {0}', team.node.name)}`,
    warning ? el('span', { class: 'error', role: 'status' }, ` — ${warning}`) : '',
  );
}

/** The Overview's team section: the account's use by all machines, then the machines. */
export function teamSection(team: TeamView | undefined): HTMLElement | '' {
  if (!team) return '';
  const models = table<TeamModel>(
    l10n.t("The team's last minute"),
    [
      { key: 'model', label: l10n.t('Model'), cell: (m) => m.model },
      {
        key: 'rpm',
        label: l10n.t('Team RPM'),
        cell: (m) => `${m.requests} / ${m.limits ? fmtNum(m.limits.rpm) : '—'}`,
        numeric: true,
      },
      {
        key: 'tpm',
        label: l10n.t('Team TPM'),
        cell: (m) => `${fmtNum(m.tokens)} / ${m.limits ? fmtNum(m.limits.tpm) : '—'}`,
        numeric: true,
      },
    ],
    team.models,
    (m) => ({ 'data-team-model': m.model }),
  );
  const machines = table<TeamMachine>(
    l10n.t('Machines'),
    [
      {
        key: 'name',
        label: l10n.t('Machine'),
        cell: (m) => (m.id === team.node.id ? l10n.t('{0} (this one)', m.name) : m.name),
      },
      { key: 'state', label: l10n.t('State'), cell: (m) => (m.alive ? stateWord(m.state) : l10n.t('not seen')) },
      { key: 'minuteRequests', label: l10n.t('Requests (min)'), cell: (m) => String(m.minute.requests), numeric: true },
      { key: 'minuteTokens', label: l10n.t('Tokens (min)'), cell: (m) => fmtNum(m.minute.tokens), numeric: true },
      { key: 'hourRequests', label: l10n.t('Requests (hour)'), cell: (m) => String(m.hour.requests), numeric: true },
      { key: 'hourTokens', label: l10n.t('Tokens (hour)'), cell: (m) => fmtNum(m.hour.tokens), numeric: true },
      { key: 'queue', label: l10n.t('Queue'), cell: (m) => String(m.queue), numeric: true },
      { key: 'seen', label: l10n.t('Last seen'), cell: (m) => ago(m.seenMsAgo) },
    ],
    team.machines,
    (m) => ({ 'data-machine': m.name }),
  );
  return el(
    'section',
    { class: 'team', 'aria-label': l10n.t('Team') },
    teamHead(team),
    models,
    el('h3', {}, l10n.t('Machines')),
    team.machines.length
      ? machines
      : el('p', { class: 'muted' }, l10n.t('No machines to show while the store is away.')),
  );
}

/** The sidebar's team lines for one model: the team's RPM and TPM against the account's limits. */
export function teamBars(team: TeamView | undefined, model: string): (HTMLElement | string)[] {
  const use = team?.models.find((m) => m.model === model);
  if (!use?.limits) return [];
  return [bar(l10n.t('Team RPM'), use.requests, use.limits.rpm), bar(l10n.t('Team TPM'), use.tokens, use.limits.tpm)];
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
