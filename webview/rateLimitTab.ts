/**
 * The Rate Limit tab: per model and workspace the limits in force, what the last minute used,
 * the 1 s margin and why requests wait; limits edited inline (from the user's own limits, never
 * from an increase), the temporary-increase dialog and its history, and the tab's export.
 */
import { adviceAction, adviceMessage, type Advice } from '../src/core/advice';
import { forecastText } from '../src/core/forecast';
import { activeIncrease, editableLimits } from '../src/core/dashboard';
import { toCsv } from '../src/core/export';
import { parseCount } from '../src/core/format';
import {
  marginText,
  waitText,
  type DashboardAction,
  type DashboardSnapshot,
  type LimitEdit,
} from '../src/core/protocol';
import * as l10n from '@vscode/l10n';
import { dateTime, el, fmtNum, table, time } from './dom';

type LiveKey = DashboardSnapshot['state']['keys'][number];

/** What the tab borrows from the view: drafts and messages that outlive a refresh, and the host. */
export interface FormKit {
  readonly drafts: Map<string, string>;
  draftInput(id: string, initial: string, attrs: Record<string, string>): HTMLInputElement;
  messageSpan(id: string, attrs?: Record<string, string>): { el: HTMLElement; show: (text: string) => void };
  act(action: DashboardAction): void;
}

/** A count field: text, so "1M" and "500k" can be typed; a numeric keyboard where there is one. */
const COUNT_INPUT = { type: 'text', inputmode: 'numeric', size: '10', autocomplete: 'off' };

const effectiveText = (k: LiveKey) =>
  `${k.effective.rpm} RPM · ${fmtNum(k.effective.tpm)} TPM` +
  (k.adaptation < 1 ? l10n.t(' ({0} % after 429s)', Math.round(k.adaptation * 100)) : '');
/** A provider 429 and a local refusal never read alike. */
const marginCell = (k: LiveKey) => marginText(k.margin, time, l10n);
const why = (k: LiveKey) => waitText(k.wait, k.key, l10n);
const forecastCell = (k: LiveKey) => forecastText(k.forecast, l10n) || '—';
const usedNowText = (k: LiveKey) =>
  l10n.t(
    '{0} req · {1} tok / {2} req · {3} tok',
    k.minute.requests,
    fmtNum(k.minute.tokens),
    k.second.requests,
    fmtNum(k.second.tokens),
  );

export class RateLimitTab {
  private increaseOpen = false;

  constructor(private readonly kit: FormKit) {}

  render(panel: HTMLElement, s: DashboardSnapshot): void {
    if (s.defaultLimits && s.canRunCommands) panel.append(...this.defaultsNotice());
    if (s.advice.length > 0) panel.append(this.adviceList(s.advice, s.canRunCommands));
    const rows = s.state.keys;
    panel.append(
      table(
        l10n.t('Limits per model and workspace'),
        [
          { key: 'model', label: l10n.t('Model'), cell: (k) => k.model },
          {
            key: 'scope',
            label: l10n.t('Scope'),
            cell: (k) => (k.scope === 'account' ? l10n.t('account') : l10n.t('workspace {0}', k.workspace ?? '')),
          },
          { key: 'account', label: l10n.t('Account limit'), cell: (k) => this.accountCell(s, k.model) },
          {
            key: 'workspace',
            label: l10n.t('Workspace limit'),
            cell: (k) => (k.scope === 'workspace' ? `${k.configured.rpm} RPM · ${fmtNum(k.configured.tpm)} TPM` : '—'),
          },
          { key: 'effective', label: l10n.t('Effective'), cell: effectiveText },
          { key: 'now', label: l10n.t('Used now (60 s / 1 s)'), cell: usedNowText },
          { key: 'margin', label: l10n.t('1 s margin'), cell: marginCell },
          { key: 'waiting', label: l10n.t('Waiting, and why'), cell: why },
          { key: 'forecast', label: l10n.t('Forecast'), cell: forecastCell },
          { key: 'edit', label: l10n.t('Edit'), cell: (k) => this.editForm(s, k) },
        ],
        rows,
        (k) => ({ 'data-key': k.key }),
      ),
    );
    this.increaseDialog(panel, s);
    panel.append(el('h2', {}, l10n.t('Temporary increases')), increaseHistory(s));
  }

  /** What to do next, one line each, with its action where it has one (nothing when there is nothing to advise). */
  private adviceList(items: readonly Advice[], canRunCommands: boolean): HTMLElement {
    const item = (a: Advice) => {
      const li = el('li', { 'data-advice-kind': a.kind, 'data-model': a.model }, adviceMessage(a, l10n));
      const action = adviceAction(a, l10n);
      if (action?.kind === 'preferFallback') {
        const use = el('vscode-button', { secondary: '', 'data-prefer-fallback': a.model }, action.label);
        use.addEventListener('click', () =>
          this.kit.act({ action: 'preferFallback', model: a.model, fallback: action.fallback }),
        );
        li.append(' ', use);
      }
      // Run Batch File is a VS Code command: the gateway's own page has no button for it
      if (action?.kind === 'runBatchFile' && canRunCommands) {
        const run = el('vscode-button', { secondary: '', 'data-run-batch': a.model }, action.label);
        run.addEventListener('click', () => this.kit.act({ action: 'runFlow', flow: 'runBatchFile' }));
        li.append(' ', run);
      }
      return li;
    };
    return el('ul', { class: 'advice', 'aria-label': l10n.t('Advice'), 'data-advice': '' }, ...items.map(item));
  }

  /** Until the user sets or syncs their limits, say these are the published defaults. */
  private defaultsNotice(): HTMLElement[] {
    const sync = el('vscode-button', { secondary: '', 'data-sync-limits': '' }, l10n.t('Sync Limits from Provider'));
    sync.addEventListener('click', () => this.kit.act({ action: 'runFlow', flow: 'syncLimits' }));
    return [
      el(
        'p',
        { class: 'hint', 'data-default-limits': '' },
        l10n.t("These are Model Studio's published default limits, not necessarily your account's."),
      ),
      sync,
    ];
  }

  /** A row's edit form, from the user's own limits, checked as typed (a workspace's at most the account's). */
  private editForm(s: DashboardSnapshot, key: LiveKey): HTMLElement {
    if (key.scope === 'workspace' && key.workspace === 'default')
      return el('span', { class: 'muted' }, l10n.t('read-only'));
    // The user's own limits, never a temporary increase (saved, it would outlive its 30 days).
    const own = editableLimits(s.config, key) ?? key.configured;
    // text, not number: "1M" and "500k" are read as a user means them
    const rpm = this.kit.draftInput(`${key.key}:rpm`, String(own.rpm), {
      ...COUNT_INPUT,
      'aria-label': l10n.t('RPM for {0}', key.key),
      'data-edit': 'rpm',
    });
    const tpm = this.kit.draftInput(`${key.key}:tpm`, String(own.tpm), {
      ...COUNT_INPUT,
      'aria-label': l10n.t('TPM for {0}', key.key),
      'data-edit': 'tpm',
    });
    const save = el('vscode-button', { 'data-save': key.key }, l10n.t('Save'));
    const message = this.kit.messageSpan(`edit:${key.key}`);
    const check = (): string | undefined => {
      const r = parseCount(rpm.value);
      const t = parseCount(tpm.value);
      if (!Number.isInteger(r) || r <= 0) return l10n.t('RPM "{0}" is not a whole number above 0.', rpm.value);
      if (!Number.isInteger(t) || t <= 0) return l10n.t('TPM "{0}" is not a whole number above 0.', tpm.value);
      const a = s.config.models[key.model];
      if (key.scope === 'workspace' && a && (r > a.rpm || t > a.tpm))
        return l10n.t('A workspace limit may not exceed the account limit ({0} RPM, {1} TPM).', a.rpm, a.tpm);
      return undefined;
    };
    const validate = () => message.show(check() ?? '');
    rpm.addEventListener('input', validate);
    tpm.addEventListener('input', validate);
    if (this.kit.drafts.has(`${key.key}:rpm`) || this.kit.drafts.has(`${key.key}:tpm`)) validate();
    save.addEventListener('click', () => {
      const problem = check();
      if (problem) return message.show(problem);
      this.kit.drafts.delete(`${key.key}:rpm`);
      this.kit.drafts.delete(`${key.key}:tpm`);
      const edit: LimitEdit =
        key.scope === 'account'
          ? { scope: 'account', model: key.model, rpm: parseCount(rpm.value), tpm: parseCount(tpm.value) }
          : {
              scope: 'workspace',
              workspace: key.workspace!,
              model: key.model,
              rpm: parseCount(rpm.value),
              tpm: parseCount(tpm.value),
            };
      this.kit.act({ action: 'setLimit', edit });
    });
    return el('div', { class: 'edit' }, el('label', {}, 'RPM ', rpm), el('label', {}, 'TPM ', tpm), save, message.el);
  }

  /** The Increase Rate Limit Temporarily dialog: current quota, new TPM, the console's upper limit. */
  private increaseDialog(panel: HTMLElement, s: DashboardSnapshot): void {
    const models = Object.keys(s.config.models);
    const model = el(
      'select',
      { 'aria-label': l10n.t('Model'), 'data-increase': 'model' },
      ...models.map((m) => el('option', { value: m }, m)),
    );
    const current = el('span', { class: 'muted', 'data-increase': 'current' });
    const draftModel = this.kit.drafts.get('increase:model');
    if (draftModel && models.includes(draftModel)) model.value = draftModel;
    model.addEventListener('change', () => this.kit.drafts.set('increase:model', model.value));
    const newTpm = this.kit.draftInput('increase:tpm', '', { ...COUNT_INPUT, 'data-increase': 'tpm' });
    const upper = this.kit.draftInput('increase:upper', '', {
      ...COUNT_INPUT,
      placeholder: l10n.t('optional'),
      'data-increase': 'upper',
    });
    const message = this.kit.messageSpan('increase');
    const showCurrent = () => {
      const m = model.value;
      const active = activeIncrease(s.config.temporaryIncreases, m, Date.now());
      current.textContent = l10n.t(
        'current quota {0} TPM (default {1})',
        fmtNum(active?.tpm ?? s.config.models[m]?.tpm ?? 0),
        fmtNum(s.config.models[m]?.tpm ?? 0),
      );
    };
    model.addEventListener('change', showCurrent);
    showCurrent();
    const apply = el('vscode-button', { 'data-increase': 'apply' }, l10n.t('Increase for 30 days'));
    apply.addEventListener('click', () => this.applyIncrease(s, model.value, newTpm.value, upper.value, message.show));
    const dialog = el('details', { class: 'increase', ...(this.increaseOpen ? { open: '' } : {}) });
    dialog.addEventListener('toggle', () => (this.increaseOpen = dialog.open));
    panel.append(dialog);
    dialog.append(
      el('summary', {}, l10n.t('Increase Rate Limit Temporarily')),
      el(
        'p',
        { class: 'hint' },
        l10n.t('Model Studio raises TPM from its console for 30 days; record it here so the limiter uses it.'),
      ),
      el(
        'div',
        { class: 'edit' },
        el('label', {}, l10n.t('Model'), ' ', model),
        current,
        el('label', {}, l10n.t('New TPM'), ' ', newTpm),
        el('label', {}, l10n.t("Upper limit (the console's)"), ' ', upper),
        apply,
        message.el,
      ),
    );
  }

  /** Check the dialog's figures, then ask the host to record the increase. */
  private applyIncrease(
    s: DashboardSnapshot,
    model: string,
    tpmText: string,
    upperText: string,
    show: (t: string) => void,
  ): void {
    const tpm = parseCount(tpmText);
    const up = upperText.trim() ? parseCount(upperText) : undefined;
    const base = s.config.models[model]?.tpm ?? 0;
    if (!Number.isInteger(tpm) || tpm <= base)
      return show(l10n.t('The new TPM must be a whole number above the default {0}.', base));
    if (up !== undefined && !(up > 0))
      return show(l10n.t('Upper limit "{0}": a whole number such as 3000000 or 3M, or empty.', upperText));
    if (up !== undefined && tpm > up) return show(l10n.t('{0} exceeds the upper limit {1}.', tpm, up));
    show('');
    for (const f of ['model', 'tpm', 'upper']) this.kit.drafts.delete(`increase:${f}`);
    this.kit.act({
      action: 'recordIncrease',
      model,
      tpm,
      ...(up !== undefined ? { upperLimit: up } : {}),
    });
  }

  /** The account's own limit, and an increase in force as its own badge with End. */
  private accountCell(s: DashboardSnapshot, model: string): HTMLElement | string {
    const a = s.config.models[model];
    if (!a) return '—';
    const inc = activeIncrease(s.config.temporaryIncreases, model, Date.now());
    if (!inc) return `${a.rpm} RPM · ${fmtNum(a.tpm)} TPM`;
    const end = el(
      'vscode-button',
      { secondary: '', 'data-end-increase': model, title: l10n.t('End the increase of {0} now', model) },
      l10n.t('End'),
    );
    end.addEventListener('click', () => this.kit.act({ action: 'endIncrease', model }));
    const badge = el(
      'span',
      { class: 'increase-badge', 'data-increase-badge': model },
      l10n.t('temporarily {0} TPM until {1}', fmtNum(inc.tpm), dateTime(inc.expiresAt)),
    );
    return el('span', {}, `${a.rpm} RPM · ${fmtNum(a.tpm)} TPM `, badge, ' ', end);
  }

  /** Live figures in place: a re-render would wipe what the user is typing. */
  updateLiveCells(root: HTMLElement, keys: readonly LiveKey[]): void {
    for (const k of keys) {
      const row = root.querySelector(`tr[data-key="${CSS.escape(k.key)}"]`);
      if (!row) continue;
      const effective = row.querySelector('[data-cell="effective"]');
      const now = row.querySelector('[data-cell="now"]');
      if (effective) effective.textContent = effectiveText(k);
      if (now) now.textContent = usedNowText(k);
      const margin = row.querySelector('[data-cell="margin"]');
      if (margin) margin.textContent = marginCell(k);
      const waiting = row.querySelector('[data-cell="waiting"]');
      if (waiting) waiting.textContent = why(k);
      const forecast = row.querySelector('[data-cell="forecast"]');
      if (forecast) forecast.textContent = forecastCell(k);
    }
  }
}

/** The increases recorded, newest first, expired ones marked. */
function increaseHistory(s: DashboardSnapshot): HTMLElement {
  return s.increases.length === 0
    ? el('p', { class: 'muted' }, l10n.t('None recorded.'))
    : table(
        l10n.t('Temporary increases'),
        [
          { key: 'appliedAt', label: l10n.t('Applied at'), cell: (i) => dateTime(i.appliedAt) },
          { key: 'model', label: l10n.t('Model'), cell: (i) => i.model },
          { key: 'tpm', label: 'TPM', cell: (i) => `${fmtNum(i.previousTpm)} → ${fmtNum(i.tpm)}`, numeric: true },
          {
            key: 'expiresAt',
            label: l10n.t('Expires'),
            cell: (i) => `${dateTime(i.expiresAt)}${Date.parse(i.expiresAt) < Date.now() ? l10n.t(' (expired)') : ''}`,
          },
        ],
        [...s.increases].reverse(),
      );
}

/** The tab's export: what it shows, as CSV or JSON. */
export function exportLimits(s: DashboardSnapshot, format: 'csv' | 'json'): string {
  const limits = s.state.keys.map(limitRow);
  return format === 'csv'
    ? toCsv(LIMIT_EXPORT_COLUMNS, limits, (r, c) => r[c])
    : JSON.stringify({ at: s.state.at, limits }, null, 2);
}

const LIMIT_EXPORT_COLUMNS = [
  'key',
  'model',
  'scope',
  'workspace',
  'rpm',
  'tpm',
  'effectiveRpm',
  'effectiveTpm',
  'requestsLastMinute',
  'tokensLastMinute',
  'waiting',
  'why',
] as const;

/** A Rate Limit row as exported: the limits in force and what the last minute used. */
function limitRow(k: LiveKey): Record<(typeof LIMIT_EXPORT_COLUMNS)[number], string | number> {
  return {
    key: k.key,
    model: k.model,
    scope: k.scope,
    workspace: k.workspace ?? '',
    rpm: k.configured.rpm,
    tpm: k.configured.tpm,
    effectiveRpm: k.effective.rpm,
    effectiveTpm: k.effective.tpm,
    requestsLastMinute: k.minute.requests,
    tokensLastMinute: k.minute.tokens,
    waiting: k.queueLength,
    why: k.wait ? waitText(k.wait, k.key) : '',
  };
}
