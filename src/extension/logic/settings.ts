/**
 * VS Code settings → the one configuration schema. No `vscode` here: the host passes a
 * reader, so this is tested in plain Node. Problems name the setting a user must open.
 */
import * as l10n from '@vscode/l10n';
import { parseCount } from '../../core/format';
import { validateConfig, type ConfigProblem } from '../../core/config';
import { isProviderPreset, PROVIDER_PRESETS, SETTING_DEFAULTS } from '../../core/defaults';
import type { RateLimitConfig, TemporaryIncrease } from '../../core/types';

export const SECTION = 'rateLimitMonitor';

export const SETTING = {
  provider: 'provider',
  customBaseUrl: 'customBaseUrl',
  models: 'models',
  workspaces: 'workspaces',
  activeWorkspace: 'activeWorkspace',
  fallbacks: 'fallbacks',
  maxQueueMs: 'maxQueueMs',
  estimateSafetyFactor: 'estimateSafetyFactor',
  sourceLanes: 'sourceLanes',
  prices: 'prices',
  port: 'gateway.port',
  retentionDays: 'history.retentionDays',
  statusBarModel: 'statusBar.model',
  warningThreshold: 'statusBar.warningThreshold',
  injectTerminal: 'terminal.injectEnvironment',
  teamRedisUrl: 'team.redisUrl',
  teamMachineName: 'team.machineName',
} as const;

/** Editable starting points (docs/PROVIDER.md, international, at the time of writing). */
export const DEFAULT_MODELS = {
  'qwen-max': { rpm: 600, tpm: 1_000_000 },
  'qwen-plus': { rpm: 600, tpm: 1_000_000 },
  'qwen-turbo': { rpm: 600, tpm: 5_000_000 },
  'qwen-flash': { rpm: 600, tpm: 5_000_000 },
};

export type SettingsReader = (key: string) => unknown;

export interface SettingsProblem extends ConfigProblem {
  /** Full setting id, e.g. `rateLimitMonitor.models`. */
  setting: string;
}

const PATH_TO_SETTING: [RegExp, string][] = [
  [/^models\b/, SETTING.models],
  [/^workspaces\b/, SETTING.workspaces],
  [/^fallbacks\b/, SETTING.fallbacks],
  [/^maxQueueMs\b/, SETTING.maxQueueMs],
  [/^estimateSafetyFactor\b/, SETTING.estimateSafetyFactor],
  [/^sourceLanes\b/, SETTING.sourceLanes],
  [/^prices\b/, SETTING.prices],
  [/^baseUrl\b/, SETTING.customBaseUrl],
  [/^provider\b/, SETTING.provider],
];

export function settingOf(path: string): string {
  for (const [re, setting] of PATH_TO_SETTING) if (re.test(path)) return `${SECTION}.${setting}`;
  return SECTION;
}

export function formatSettingsProblem(p: SettingsProblem): string {
  return `Setting ${p.setting}: ${p.path}: ${p.message} — ${p.fix}`;
}

/** Read the settings (and the temporary increases kept as data) into a validated config. */
export function configFromSettings(
  read: SettingsReader,
  temporaryIncreases: TemporaryIncrease[],
): { ok: true; config: RateLimitConfig } | { ok: false; problems: SettingsProblem[] } {
  const p = read(SETTING.provider) ?? SETTING_DEFAULTS.provider;
  const problems: SettingsProblem[] = [];
  if (!isProviderPreset(p)) {
    problems.push({
      setting: `${SECTION}.${SETTING.provider}`,
      path: 'provider',
      message: `${JSON.stringify(p)} is not a provider preset`,
      fix: `choose one of ${Object.keys(PROVIDER_PRESETS).join(', ')}`,
    });
    return { ok: false, problems };
  }
  const preset = PROVIDER_PRESETS[p];
  const baseUrl = 'baseUrl' in preset ? preset.baseUrl : read(SETTING.customBaseUrl);
  if (p === 'custom' && (typeof baseUrl !== 'string' || baseUrl === '')) {
    problems.push({
      setting: `${SECTION}.${SETTING.customBaseUrl}`,
      path: 'baseUrl',
      message: 'is empty while the provider is "custom"',
      fix: 'set the OpenAI-compatible base URL, e.g. https://example.com/v1',
    });
    return { ok: false, problems };
  }
  const raw = {
    provider: preset.provider,
    baseUrl,
    models: read(SETTING.models) ?? DEFAULT_MODELS,
    workspaces: read(SETTING.workspaces) ?? {},
    fallbacks: read(SETTING.fallbacks) ?? {},
    maxQueueMs: read(SETTING.maxQueueMs) ?? SETTING_DEFAULTS.maxQueueMs,
    estimateSafetyFactor: read(SETTING.estimateSafetyFactor) ?? SETTING_DEFAULTS.estimateSafetyFactor,
    sourceLanes: read(SETTING.sourceLanes) ?? {},
    // empty (the default): the built-in price table alone
    ...(isEmptyPrices(read(SETTING.prices)) ? {} : { prices: read(SETTING.prices) }),
    temporaryIncreases,
  };
  const result = validateConfig(raw);
  if (result.ok) return result;
  return { ok: false, problems: result.problems.map((pr) => ({ ...pr, setting: settingOf(pr.path) })) };
}

/** Validate a number typed into an input box; returns the message to show, or undefined. */
export function validateLimitInput(
  text: string,
  what: 'rpm' | 'tpm',
  ceiling?: { value: number; name: string },
): string | undefined {
  if (text.trim() === '')
    return what === 'rpm' ? l10n.t('Enter the requests per minute.') : l10n.t('Enter the tokens per minute.');
  const n = parseCount(text);
  if (!Number.isInteger(n) || n <= 0)
    return l10n.t('"{0}" is not a whole number above 0 (500k and 1M work too).', text);
  if (ceiling && n > ceiling.value) return l10n.t('{0} exceeds {1} ({2}).', n, ceiling.name, ceiling.value);
  return undefined;
}

const isEmptyPrices = (v: unknown) =>
  v === undefined || (typeof v === 'object' && v !== null && Object.keys(v).length === 0);

export function parseLimitInput(text: string): number {
  return parseCount(text);
}

/** JSON with object keys sorted, so two equal configs compare equal whatever their key order. */
function stableJson(v: unknown): string {
  return JSON.stringify(v, (_key, value: unknown) =>
    value && typeof value === 'object' && !Array.isArray(value)
      ? Object.fromEntries(Object.entries(value).sort(([a], [b]) => a.localeCompare(b)))
      : value,
  );
}

/**
 * What to write to the settings (and the stored temporary increases) so that a config applied
 * outside VS Code — on the gateway's page, or PUT by a tool — outlives the next push of the
 * settings. Only what those can change is compared: limits, workspaces, fallbacks, queue time.
 */
export function settingsUpdatesFor(
  current: RateLimitConfig,
  incoming: RateLimitConfig,
  storedIncreases: readonly TemporaryIncrease[],
): { settings: { key: string; value: unknown }[]; newIncreases: TemporaryIncrease[] } {
  const settings: { key: string; value: unknown }[] = [];
  const compare = (key: string, now: unknown, next: unknown) => {
    if (stableJson(now) !== stableJson(next)) settings.push({ key, value: next });
  };
  compare(SETTING.models, current.models, incoming.models);
  compare(SETTING.workspaces, current.workspaces, incoming.workspaces);
  compare(SETTING.fallbacks, current.fallbacks, incoming.fallbacks);
  compare(SETTING.maxQueueMs, current.maxQueueMs, incoming.maxQueueMs);
  compare(SETTING.estimateSafetyFactor, current.estimateSafetyFactor, incoming.estimateSafetyFactor);
  compare(SETTING.sourceLanes, current.sourceLanes, incoming.sourceLanes);
  compare(SETTING.prices, current.prices ?? {}, incoming.prices ?? {});
  const known = new Set(storedIncreases.map(stableJson));
  const newIncreases = incoming.temporaryIncreases.filter((i) => !known.has(stableJson(i)));
  return { settings, newIncreases };
}
