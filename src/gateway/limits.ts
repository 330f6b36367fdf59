/**
 * Turns the configuration into limiter keys and keeps their effective limits: configured
 * (temporary increases applied) × adaptation. A provider 429 means our picture was wrong,
 * so adaptation drops multiplicatively and climbs back additively while no 429s come.
 */
import { accountLimitsAt, workspaceLimitsAt } from '../core/config';
import type { Limiter, WaitInfo } from '../core/limiter';
import type { FallbackPreview, KeyState } from '../core/protocol';
import { DEFAULT_WORKSPACE, type ModelLimits, type RateLimitConfig } from '../core/types';
import { SecondMargins } from './margins';

export const accountKey = (model: string) => `account:${model}`;
export const workspaceKey = (workspace: string, model: string) => `workspace:${workspace}:${model}`;

export const ADAPTATION = {
  /** After an rpm/tpm 429 the effective limit is multiplied by this… */
  decrease: 0.8,
  floor: 0.25,
  /** …and recovers by this much per recovery step without a 429. */
  recoverStep: 0.05,
  /** After a burst 429 the per-second pacing is multiplied by this… */
  burstDecrease: 0.5,
  /** …and ramps back by this much per step. */
  burstRecoverStep: 0.1,
  stepMs: 5_000,
};

interface Adaptive {
  factor: number;
  last429At: number;
  lastBurstAt: number;
}

export class LimitsManager {
  private config: RateLimitConfig;
  private readonly adaptive = new Map<string, Adaptive>();
  readonly margins: SecondMargins;
  /** Keys a request must also be admitted on (team mode at its share: src/gateway/team/team.ts). */
  extraKeys: ((keys: readonly string[]) => string[]) | undefined;

  constructor(
    private readonly limiter: Limiter,
    config: RateLimitConfig,
    now: number,
    secondPadFloorMs?: number,
  ) {
    this.config = config;
    this.margins = new SecondMargins(limiter, secondPadFloorMs);
    this.apply(config, now);
  }

  get current(): RateLimitConfig {
    return this.config;
  }

  /** Install a (validated) configuration; keys already in use keep their windows and queues. */
  apply(config: RateLimitConfig, now: number): void {
    this.config = config;
    for (const model of Object.keys(config.models)) {
      this.install(accountKey(model), accountLimitsAt(config, model, now)!, now);
      for (const [ws, wsConfig] of Object.entries(config.workspaces)) {
        if (wsConfig.models[model])
          this.install(workspaceKey(ws, model), workspaceLimitsAt(config, ws, model, now)!, now);
      }
    }
  }

  private install(key: string, configured: ModelLimits, now: number): void {
    const a = this.adaptive.get(key) ?? { factor: 1, last429At: -Infinity, lastBurstAt: -Infinity };
    this.adaptive.set(key, a);
    this.limiter.setLimits(key, scaled(configured, a.factor));
    this.margins.install(key, now);
  }

  /** Is this model metered (does it have account limits)? */
  metered(model: string): boolean {
    return this.config.models[model] !== undefined;
  }

  workspaceKnown(workspace: string): boolean {
    return workspace === DEFAULT_WORKSPACE || this.config.workspaces[workspace] !== undefined;
  }

  /** The limiter keys a request for `model` in `workspace` must be admitted on. */
  keysFor(model: string, workspace: string): string[] {
    const keys = [accountKey(model)];
    if (this.config.workspaces[workspace]?.models[model]) keys.push(workspaceKey(workspace, model));
    if (this.extraKeys) keys.push(...this.extraKeys(keys));
    return keys;
  }

  /**
   * What the proxy would do with the first waiting request once its wait passes the maximum
   * queue time: the first backup in the chain that could start sooner (the proxy's own rule).
   */
  private fallbackPreview(model: string, workspace: string, wait: WaitInfo, now: number): FallbackPreview {
    const chain = this.config.fallbacks[model] ?? [];
    if (chain.length === 0) return null;
    const ownStart = wait.nextInMs === Infinity ? Infinity : now + wait.nextInMs;
    for (const backup of chain) {
      if (!this.metered(backup)) return { model: backup, startInMs: 0 };
      const start = this.limiter.estimateStart(this.keysFor(backup, workspace), wait.cost, now);
      if (start < Math.max(ownStart, now + 1)) return { model: backup, startInMs: Math.max(0, start - now) };
    }
    return { model: null, backups: chain.length };
  }

  configuredLimits(key: string, now: number): ModelLimits | undefined {
    const parts = key.split(':');
    if (parts[0] === 'account') return accountLimitsAt(this.config, parts.slice(1).join(':'), now);
    if (parts[0] !== 'workspace') return undefined;
    return workspaceLimitsAt(this.config, parts[1]!, parts.slice(2).join(':'), now);
  }

  /**
   * A provider 429 on these keys. `perSecond` names the keys whose 1 s window was full when
   * the refused request was admitted while their 60 s window had room: there the refusal is
   * the per-second rule seeing our requests closer together than we sent them, so the 1 s
   * pad widens and the limits stay. Elsewhere the local picture was wrong (another consumer
   * of the account, stale limits): hold the key and lower its limits.
   */
  onRateLimited(
    keys: string[],
    kind: 'rpm' | 'tpm' | 'burst',
    now: number,
    holdUntil: number,
    perSecond: readonly string[] = [],
  ): void {
    for (const key of keys) {
      const a = this.adaptive.get(key);
      if (!a) continue;
      if (kind !== 'burst' && perSecond.includes(key)) {
        this.margins.onPerSecondRefusal(key, now, kind === 'rpm' ? 'rps' : 'tps');
      } else if (kind === 'burst') {
        a.lastBurstAt = now;
        this.limiter.setRateFactor(key, this.limiter.rateFactorOf(key) * ADAPTATION.burstDecrease);
      } else {
        a.last429At = now;
        a.factor = Math.max(ADAPTATION.floor, a.factor * ADAPTATION.decrease);
        const configured = this.configuredLimits(key, now);
        if (configured) this.limiter.setLimits(key, scaled(configured, a.factor));
        this.limiter.hold(key, holdUntil);
      }
    }
  }

  /** Called every ADAPTATION.stepMs: recover additively, and follow expiring temporary increases. */
  recover(now: number): void {
    for (const [key, a] of this.adaptive) {
      if (a.factor < 1 && now - a.last429At >= ADAPTATION.stepMs)
        a.factor = Math.min(1, a.factor + ADAPTATION.recoverStep);
      if (now - a.lastBurstAt >= ADAPTATION.stepMs) {
        const rate = this.limiter.rateFactorOf(key);
        if (rate < 1) this.limiter.setRateFactor(key, rate + ADAPTATION.burstRecoverStep);
      }
      const configured = this.configuredLimits(key, now);
      if (configured) this.limiter.setLimits(key, scaled(configured, a.factor));
    }
    this.margins.recover(now);
  }

  /**
   * The keys on which a request admitted just now filled the 1 s window while the 60 s
   * window kept room: if the provider refuses it, blame the per-second rule.
   */
  perSecondTight(keys: readonly string[], cost: number, now: number): string[] {
    return keys.filter((key) => {
      const u = this.limiter.windows(key, now);
      const secondFull = u.second.requests >= u.second.requestLimit || u.second.tokens + cost > u.second.tokenLimit;
      const minuteRoom = u.minute.requests < u.minute.requestLimit && u.minute.tokens < u.minute.tokenLimit;
      return secondFull && minuteRoom;
    });
  }

  keyStates(now: number): KeyState[] {
    const out: KeyState[] = [];
    for (const key of this.limiter.keyNames()) {
      const configured = this.configuredLimits(key, now);
      const a = this.adaptive.get(key);
      if (!configured || !a) continue;
      const usage = this.limiter.usage(key, now);
      const parts = key.split(':');
      const state: KeyState = {
        key,
        scope: parts[0] === 'account' ? 'account' : 'workspace',
        model: parts[0] === 'account' ? parts.slice(1).join(':') : parts.slice(2).join(':'),
        configured,
        effective: usage.limits,
        adaptation: round3(a.factor),
        pacing: round3(usage.rateFactor),
        minute: usage.minute,
        second: usage.second,
        queueLength: usage.queueLength,
      };
      const margin = this.margins.state(key);
      if (margin) state.margin = margin;
      const wait = this.limiter.waitOf(key, now);
      if (wait) {
        state.wait = {
          ...wait,
          fallback: this.fallbackPreview(
            state.model,
            parts[0] === 'workspace' ? parts[1]! : DEFAULT_WORKSPACE,
            wait,
            now,
          ),
        };
      }
      if (parts[0] === 'workspace') state.workspace = parts[1]!;
      if (usage.heldUntil > now) state.heldUntil = usage.heldUntil;
      out.push(state);
    }
    return out;
  }
}

function scaled(limits: ModelLimits, factor: number): ModelLimits {
  return { rpm: Math.max(1, Math.floor(limits.rpm * factor)), tpm: Math.max(1, Math.floor(limits.tpm * factor)) };
}

const round3 = (n: number) => Math.round(n * 1000) / 1000;
