/**
 * What the status bar shows for the selected model: the tightest of RPM and TPM now against
 * its limit, the queue while requests wait, a warning at the threshold and an error after a
 * recent 429. Pure, so its cases are unit-tested.
 */
import { forecastText } from '../../core/forecast';
import { formatCount } from '../../core/format';
import { marginText, waitText, type GatewayState, type KeyState } from '../../core/protocol';
import * as l10n from '@vscode/l10n';
import { formatTime } from '../../core/format';
import { teamWarning, type TeamView } from '../../core/team';

export type StatusLevel = 'normal' | 'warning' | 'error';

export interface StatusView {
  text: string;
  level: StatusLevel;
  tooltip: string;
  /** used ÷ limit of the tightest dimension, 0–1+ */
  fill: number;
}

/** A 429 this recent colours the item red. */
export const RECENT_429_MS = 60_000;

export function pickKey(state: GatewayState, model: string, workspace: string): KeyState | undefined {
  const ws = state.keys.find((k) => k.scope === 'workspace' && k.model === model && k.workspace === workspace);
  const account = state.keys.find((k) => k.scope === 'account' && k.model === model);
  if (!ws) return account;
  if (!account) return ws;
  const fillOf = (k: KeyState) =>
    Math.max(k.minute.requests / k.minute.requestLimit, k.minute.tokens / k.minute.tokenLimit);
  return fillOf(ws) >= fillOf(account) ? ws : account;
}

export function statusView(
  state: GatewayState | undefined,
  model: string,
  workspace: string,
  threshold: number,
  now: number,
  apiKeyMissing = false,
): StatusView {
  // Before anything fails: with no provider key every request would be answered 401.
  if (apiKeyMissing) {
    return {
      text: `$(key) ${l10n.t('Rate limits: no API key')}`,
      level: 'warning',
      tooltip:
        l10n.t(
          'No provider API key for workspace `{0}`: requests through the gateway will be refused (401).',
          workspace,
        ) +
        `\n\n[${l10n.t('Set API Key')}](command:rateLimitMonitor.setApiKey) · ` +
        l10n.t('or set `DASHSCOPE_API_KEY` in the environment VS Code starts from.'),
      fill: 0,
    };
  }
  if (!state)
    return {
      text: `$(pulse) ${l10n.t('Rate limits: starting…')}`,
      level: 'normal',
      tooltip: l10n.t('The metering gateway is starting.'),
      fill: 0,
    };
  const key = pickKey(state, model, workspace);
  if (!key) {
    return {
      text: `$(pulse) ${l10n.t('{0}: no limits', model)}`,
      level: 'warning',
      tooltip: l10n.t(
        'No limits are configured for {0}. Run "Rate Limit Monitor: Set Account Limits for a Model".',
        model,
      ),
      fill: 0,
    };
  }
  const reqFill = key.minute.requests / key.minute.requestLimit;
  const tokFill = key.minute.tokens / key.minute.tokenLimit;
  const byTokens = tokFill > reqFill;
  const fill = Math.max(reqFill, tokFill);
  const main = byTokens
    ? `${formatCount(key.minute.tokens)}/${formatCount(key.minute.tokenLimit)} TPM`
    : `${key.minute.requests}/${key.minute.requestLimit} RPM`;
  const queue = key.queueLength > 0 ? ` $(watch) ${key.queueLength}` : '';
  const recent429 = state.last429 && state.last429.model === model && now - state.last429.at < RECENT_429_MS;
  const team = teamWarning(state.team, l10n);
  const level: StatusLevel = recent429 ? 'error' : fill >= threshold || team ? 'warning' : 'normal';
  const text = `$(pulse) ${model} ${main}${queue}${team ? ` $(warning) ${team}` : ''}`;
  return { text, level, tooltip: tooltipOf(state, key, model), fill };
}

/** In team mode: the whole team's last minute on this model against the account's limits, and its machines. */
function teamLines(team: TeamView | undefined, model: string): string[] {
  if (!team) return [];
  const use = team.models.find((m) => m.model === model);
  const alive = team.machines.filter((m) => m.alive).length || team.nodes;
  const figures =
    use && use.limits
      ? `${use.requests}/${use.limits.rpm} RPM · ${formatCount(use.tokens)}/${formatCount(use.limits.tpm)} TPM`
      : l10n.t('no use yet');
  const warning = teamWarning(team, l10n);
  const who =
    alive === 1
      ? l10n.t('Team ({0}, 1 machine)', team.node.name)
      : l10n.t('Team ({0}, {1} machines)', team.node.name, alive);
  return [`${who}: ${figures}${warning ? ` — **${warning}**` : ''}.`];
}

/** The Markdown tooltip: the four windows against their limits, why requests wait, the margin, the last 429. */
function tooltipOf(state: GatewayState, key: KeyState, model: string): string {
  return [
    `**${model}** — ${key.scope === 'workspace' ? l10n.t('workspace `{0}` limits', key.workspace ?? '') : l10n.t('account limits')}` +
      (key.adaptation < 1 ? ` ${l10n.t('(lowered to {0} % after 429s)', Math.round(key.adaptation * 100))}` : ''),
    '',
    `| | ${l10n.t('used')} | ${l10n.t('limit')} |`,
    '|---|---:|---:|',
    `| RPM | ${key.minute.requests} | ${key.minute.requestLimit} |`,
    `| TPM | ${Math.round(key.minute.tokens)} | ${key.minute.tokenLimit} |`,
    `| RPS | ${key.second.requests} | ${key.second.requestLimit} |`,
    `| TPS | ${Math.round(key.second.tokens)} | ${key.second.tokenLimit} |`,
    '',
    key.wait
      ? l10n.t('Why requests wait: {0}', waitText(key.wait, key.key, l10n).replace(/\.?$/, '.'))
      : l10n.t('Nothing waiting.'),
    ...(key.forecast ? [l10n.t('Forecast: {0}.', forecastText(key.forecast, l10n))] : []),
    l10n.t('Margin on the 1 s window: {0}.', marginText(key.margin, formatTime, l10n)),
    state.last429
      ? l10n.t(
          'Last 429: **{0}** on {1} at {2}.',
          state.last429.kind,
          state.last429.model,
          formatTime(state.last429.at),
        )
      : l10n.t('No 429 so far.'),
    ...teamLines(state.team, model),
    '',
    `[${l10n.t('Open Monitor')}](command:rateLimitMonitor.openMonitor) · ` +
      `[${l10n.t('Change Limits')}](command:rateLimitMonitor.setAccountLimits) · ` +
      `[${l10n.t('Select Model')}](command:rateLimitMonitor.selectStatusBarModel)`,
  ].join('\n');
}
