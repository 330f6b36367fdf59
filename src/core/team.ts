/**
 * The team's shapes as the gateway serves them (GET /_rlm/team, the team part of
 * /_rlm/state and /_rlm/health) and the views read them. Behaviour: src/gateway/team/.
 */
import type { ModelLimits } from './types';
import { ENGLISH, type Translator } from './translate';

/**
 * connecting: the first connection is being made; online: the team store admits;
 * offline: it does not answer, this machine admits within its share; rejoining: it answers
 * again, and this machine stays at its share until the machines that shared are back too.
 */
export type TeamState = 'connecting' | 'online' | 'offline' | 'rejoining';

export interface TeamStatus {
  state: TeamState;
  node: { id: string; name: string };
  /** The Redis URL without its password. */
  url: string;
  /** Machines seen alive at the last heartbeat (this one included). */
  nodes: number;
  /** Offline or rejoining: this machine admits at most 1/of of the limits. */
  share?: { of: number };
  /** Online while other machines are still at their share: the part of the limits this one asks the store for. */
  storeFraction?: number;
  since: number;
  lastError?: string;
}

export interface TeamMachine {
  id: string;
  name: string;
  version: string;
  state: string;
  queue: number;
  /** How long ago its last heartbeat came (ms). */
  seenMsAgo: number;
  alive: boolean;
  minute: { requests: number; tokens: number };
  hour: { requests: number; tokens: number };
}

export interface TeamModel {
  model: string;
  /** The whole team's requests and tokens in the last 60 s. */
  requests: number;
  tokens: number;
  limits?: ModelLimits;
}

export interface TeamView extends TeamStatus {
  models: TeamModel[];
  machines: TeamMachine[];
}

/** The status bar's and sidebar's words for the team's state, or undefined when all is well. */
export function teamWarning(t: TeamStatus | undefined, l10n: Translator = ENGLISH): string | undefined {
  if (!t) return undefined;
  if (t.state === 'offline')
    return t.share
      ? l10n.t('team store offline — local share 1/{0}', t.share.of)
      : l10n.t('team store not reachable — admitting alone');
  if (t.state === 'rejoining')
    return l10n.t('team store back — at the local share 1/{0} until the team is back', t.share?.of ?? t.nodes);
  if (t.state === 'connecting') return l10n.t('team store: connecting');
  return undefined;
}
