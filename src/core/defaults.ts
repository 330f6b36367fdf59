/**
 * One source for the provider presets and the settings' defaults. The manifest
 * (package.json) repeats them for VS Code's settings editor; `npm run test:package` checks that
 * it says the same as this file.
 */
import type { ProviderId } from './types';

export interface ProviderPresetInfo {
  provider: ProviderId;
  label: string;
  /** Absent for `custom`: the user's URL. */
  baseUrl?: string;
  /** Model Studio's region of the preset (its management API lives there). */
  region?: string;
}

export const PROVIDER_PRESETS = {
  'dashscope-singapore': {
    provider: 'dashscope',
    label: 'Model Studio — Singapore',
    baseUrl: 'https://dashscope-intl.aliyuncs.com/compatible-mode/v1',
    region: 'ap-southeast-1',
  },
  'dashscope-beijing': {
    provider: 'dashscope',
    label: 'Model Studio — Beijing',
    baseUrl: 'https://dashscope.aliyuncs.com/compatible-mode/v1',
    region: 'cn-beijing',
  },
  'dashscope-virginia': {
    provider: 'dashscope',
    label: 'Model Studio — Virginia',
    baseUrl: 'https://dashscope-us.aliyuncs.com/compatible-mode/v1',
    region: 'us-east-1',
  },
  openai: { provider: 'openai', label: 'OpenAI', baseUrl: 'https://api.openai.com/v1' },
  custom: { provider: 'custom', label: 'Custom OpenAI-compatible URL' },
} as const satisfies Record<string, ProviderPresetInfo>;

export type ProviderPreset = keyof typeof PROVIDER_PRESETS;

export function isProviderPreset(v: unknown): v is ProviderPreset {
  return typeof v === 'string' && Object.hasOwn(PROVIDER_PRESETS, v);
}

/** The settings' defaults, by setting name under `rateLimitMonitor.`. */
export const SETTING_DEFAULTS = {
  provider: 'dashscope-singapore' as ProviderPreset,
  maxQueueMs: 30_000,
  estimateSafetyFactor: 1.5,
  'gateway.port': 8787,
  'history.retentionDays': 7,
  'statusBar.model': 'qwen-plus',
  'statusBar.warningThreshold': 0.8,
  'terminal.injectEnvironment': true,
  'team.redisUrl': '',
  'team.machineName': '',
};
