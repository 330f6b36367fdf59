/**
 * The full panel: Overview, Charts, Rate Limit, Requests and Batch Jobs tabs, a time-range selector
 * and export of what is shown. Renders snapshots; sends the host only typed requests.
 */
import * as l10n from '@vscode/l10n';
import { replaceWaitingSection } from './waiting';
import { replaceTeamSection } from './team';
import '@vscode-elements/elements/dist/vscode-button/index.js';
import '@vscode-elements/elements/dist/vscode-badge/index.js';
import {
  isTimeWindow,
  TIME_WINDOWS,
  type DashboardAction,
  type DashboardSnapshot,
  type HostToWebview,
  type PresetWindow,
  type TimeWindow,
} from '../src/core/protocol';
import { renderBatchJobs } from './batchJobs';
import { RateLimitTab } from './rateLimitTab';
import { exportShown, renderOverview, renderRequests, type TabKit } from './tables';
import { destroyCharts, renderCharts } from './charts';
import { el } from './dom';
import type { DashboardHost, SavedState } from './host';

const TABS = ['Overview', 'Charts', 'Rate Limit', 'Requests', 'Batch Jobs'] as const;
type Tab = (typeof TABS)[number];

/** The tabs that show a time range (the others show now, or the provider's list). */
const RANGED_TABS: readonly string[] = ['Overview', 'Charts', 'Requests'];

/** A tab's name in the user's language (its id, in data-tab and the saved state, stays English). */
function tabLabel(tab: (typeof TABS)[number]): string {
  if (tab === 'Overview') return l10n.t('Overview');
  if (tab === 'Charts') return l10n.t('Charts');
  if (tab === 'Rate Limit') return l10n.t('Rate Limit');
  if (tab === 'Requests') return l10n.t('Requests');
  return l10n.t('Batch Jobs');
}

export class DashboardView {
  private snapshot: DashboardSnapshot | undefined;
  private readonly saved: SavedState;
  private notice: { ok: boolean; message: string } | undefined;
  /**
   * What the user is typing in the Rate Limit tab, by field. A snapshot arriving mid-edit
   * rebuilds the tab; the drafts (and the open dialog) carry over, so nothing typed is lost.
   */
  private readonly drafts = new Map<string, string>();
  /** Messages shown beside a field (a bad range, a refused edit): they outlive refreshes until the field changes. */
  private readonly messages = new Map<string, string>();
  private paused = false;
  private pending: DashboardSnapshot | undefined;
  private readonly rateLimitTab: RateLimitTab;
  /** Time of the last render, for the dashboard benchmark. */

  constructor(
    private readonly root: HTMLElement,
    private readonly host: DashboardHost,
  ) {
    this.saved = { window: '1h', tab: 'Overview', sortBy: 'model', filters: {}, ...host.getState() };
    this.rateLimitTab = new RateLimitTab({
      drafts: this.drafts,
      draftInput: (id, initial, attrs) => this.draftInput(id, initial, attrs),
      messageSpan: (id, attrs) => this.messageSpan(id, attrs),
      act: (action) => void this.act(action),
    });
    // an edit that held back a refresh: show the newest once the focus leaves the form
    root.addEventListener('focusout', () =>
      setTimeout(() => {
        if (!this.paused && !this.editing() && this.pending) {
          this.snapshot = this.pending;
          this.pending = undefined;
          this.render();
        }
      }, 0),
    );
    host.onMessage((m) => this.receive(m));
    // re-theme charts when VS Code switches theme (it changes the body's class)
    new MutationObserver(() => {
      if (this.saved.tab === 'Charts') this.render();
    }).observe(document.body, { attributes: true, attributeFilter: ['class', 'data-theme'] });
    host.send({ type: 'ready' });
    if (this.saved.window !== '1h') host.send({ type: 'setWindow', window: this.saved.window });
  }

  private save(): void {
    this.host.setState(this.saved);
  }

  receive(m: HostToWebview): void {
    switch (m.type) {
      case 'snapshot':
        // paused, or a limit being typed: keep the newest and show it later (nothing moves, and
        // no field is swapped for a new one in the middle of an edit)
        if (this.paused || this.editing()) this.pending = m.snapshot;
        else {
          this.snapshot = m.snapshot;
          this.render();
        }
        break;
      case 'state':
        if (this.snapshot) {
          this.snapshot = { ...this.snapshot, state: m.state };
          // update the live cells in place: a re-render would wipe what the user is typing
          if (this.saved.tab === 'Rate Limit') this.rateLimitTab.updateLiveCells(this.root, m.state.keys);
          if (this.saved.tab === 'Overview') replaceTeamSection(this.root, m.state.team);
          if (this.saved.tab === 'Requests') replaceWaitingSection(this.root, m.state.waiting, m.state.queueLength);
        }
        break;
      case 'error':
        this.root.replaceChildren(el('p', { class: 'error', role: 'alert' }, m.message));
        break;
    }
  }

  render(): void {
    const s = this.snapshot;
    if (!s) return;
    // A refresh rebuilds the view; what the user was on stays: the focused control (found again
    // by its data attributes), the caret in a field, and the scroll position.
    const focusSelector = selectorOf(document.activeElement);
    const focused = document.activeElement instanceof HTMLInputElement ? document.activeElement : undefined;
    const caret = focused ? { start: focused.selectionStart, end: focused.selectionEnd } : undefined;
    const scrollTop = document.scrollingElement?.scrollTop ?? 0;
    destroyCharts();
    this.root.replaceChildren(this.header(s));
    const tabs = this.tabList(s.advice.length);
    const panel = el('section', {
      id: 'tabpanel',
      role: 'tabpanel',
      'aria-labelledby': `tab-${this.saved.tab}`,
      'data-panel': this.saved.tab,
    });
    this.root.append(tabs);
    // under the tabs, so a message never moves them
    if (this.notice) this.root.append(noticeOf(this.notice));
    this.root.append(panel);
    this.drawPanel(panel, s);
    if (focusSelector) {
      const again = this.root.querySelector<HTMLElement>(focusSelector);
      again?.focus({ preventScroll: true });
      if (again instanceof HTMLInputElement && caret?.start != null && caret.end != null)
        again.setSelectionRange(caret.start, caret.end);
    }
    if (document.scrollingElement) document.scrollingElement.scrollTop = scrollTop;
  }

  /** The tab strip: arrow keys move between tabs, as in VS Code's own; Rate Limit counts its advice. */
  private tabList(adviceCount: number): HTMLElement {
    const tabs = el('div', { class: 'tabs', role: 'tablist', 'aria-label': l10n.t('Views') });
    for (const tab of TABS) {
      const b = el(
        'button',
        {
          role: 'tab',
          id: `tab-${tab}`,
          'aria-selected': String(tab === this.saved.tab),
          'aria-controls': 'tabpanel',
          tabindex: tab === this.saved.tab ? '0' : '-1',
          'data-tab': tab,
        },
        tabLabel(tab),
      );
      if (tab === 'Rate Limit' && adviceCount > 0) {
        const label = l10n.t('{0} advice items', adviceCount);
        b.append(' ', el('span', { class: 'badge', 'data-advice-count': '', title: label }, String(adviceCount)));
        b.setAttribute('aria-label', `${tabLabel(tab)}, ${label}`);
      }
      b.addEventListener('click', () => this.selectTab(tab));
      b.addEventListener('keydown', (e) => {
        const i = TABS.indexOf(tab);
        if (e.key === 'ArrowRight') this.selectTab(TABS[(i + 1) % TABS.length]!, true);
        if (e.key === 'ArrowLeft') this.selectTab(TABS[(i + TABS.length - 1) % TABS.length]!, true);
      });
      tabs.append(b);
    }
    return tabs;
  }

  private drawPanel(panel: HTMLElement, s: DashboardSnapshot): void {
    if (
      s.metrics.summary.totalCalls === 0 &&
      (this.saved.tab === 'Overview' || this.saved.tab === 'Charts' || this.saved.tab === 'Requests')
    )
      panel.append(this.emptyState(s));
    else if (this.saved.tab === 'Overview') renderOverview(panel, s, this.tabKit);
    else if (this.saved.tab === 'Charts') {
      panel.append(this.chartModelPicker(s));
      renderCharts(panel, s);
    } else if (this.saved.tab === 'Rate Limit') this.rateLimitTab.render(panel, s);
    else if (this.saved.tab === 'Batch Jobs')
      renderBatchJobs(panel, s, (batchId) => void this.act({ action: 'downloadBatch', batchId }));
    else renderRequests(panel, s, this.tabKit);
  }

  /** Save what the tab shows (the host asks where, or the browser downloads it). */
  private exportShown(format: 'csv' | 'json'): void {
    if (this.snapshot) void this.act(exportShown(this.snapshot, this.saved, format));
  }

  /** What the Overview and Requests tabs borrow from the view. */
  private get tabKit(): TabKit {
    return {
      saved: this.saved,
      changed: () => {
        this.save();
        this.render();
      },
      openCharts: (model) => {
        this.host.send({ type: 'focusModel', model });
        this.selectTab('Charts');
      },
    };
  }

  /** Ask the host to do something and show its one reply (nothing, when it has nothing to say). */
  private async act(action: DashboardAction): Promise<void> {
    const reply = await this.host.request(action);
    if (!reply.message) return;
    this.notice = reply;
    this.render();
  }

  private selectTab(tab: Tab, focus = false): void {
    this.saved.tab = tab;
    this.notice = undefined;
    this.save();
    this.render();
    if (focus) document.getElementById(`tab-${tab}`)?.focus();
  }

  /** 1h / 3h / 24h / 7d, or any span typed (30m, 12h, 2d); what is typed survives refreshes like any draft. */
  private windowPicker(s: DashboardSnapshot): HTMLElement {
    const windows = el('div', { class: 'windows', role: 'group', 'aria-label': l10n.t('Time range') });
    const choose = (w: TimeWindow) => {
      this.saved.window = w;
      this.save();
      this.host.send({ type: 'setWindow', window: w });
    };
    for (const w of Object.keys(TIME_WINDOWS) as PresetWindow[]) {
      const b = el(
        'vscode-button',
        { 'data-window': w, 'aria-pressed': String(w === s.window), ...(w === s.window ? {} : { secondary: '' }) },
        w,
      );
      b.addEventListener('click', () => {
        this.drafts.delete('window:custom');
        choose(w);
      });
      windows.append(b);
    }
    // any other span: 30m, 12h, 2d …; what is typed survives refreshes like any draft
    const isPreset = s.window in TIME_WINDOWS;
    const custom = this.draftInput('window:custom', isPreset ? '' : s.window, {
      class: `custom-window${isPreset ? '' : ' active'}`,
      'data-window-custom': '',
      'aria-label': l10n.t('Custom time range, e.g. 30m, 12h or 2d'),
      placeholder: l10n.t('custom: 12h'),
      size: '9',
    });
    const error = this.messageSpan('window', { 'data-window-error': '' });
    const apply = () => {
      const text = custom.value.trim();
      if (!isTimeWindow(text)) {
        error.show(l10n.t('"{0}": use minutes, hours or days, e.g. 30m, 12h, 2d (up to 90d).', text));
        return;
      }
      this.drafts.delete('window:custom');
      choose(text);
    };
    custom.addEventListener('keydown', (e) => {
      if (e.key === 'Enter') apply();
    });
    custom.addEventListener('input', () => error.show(''));
    windows.append(custom, error.el);
    return windows;
  }

  private header(s: DashboardSnapshot): HTMLElement {
    const windows = this.windowPicker(s);
    const pause = el(
      'vscode-button',
      { secondary: '', 'data-pause': '', 'aria-pressed': String(this.paused) },
      this.paused ? l10n.t('Resume live updates') : l10n.t('Pause live updates'),
    );
    pause.addEventListener('click', () => this.togglePause());
    const exportCsv = el('vscode-button', { secondary: '', 'data-export': 'csv' }, l10n.t('Export CSV'));
    exportCsv.addEventListener('click', () => this.exportShown('csv'));
    const exportJson = el('vscode-button', { secondary: '', 'data-export': 'json' }, l10n.t('Export JSON'));
    exportJson.addEventListener('click', () => this.exportShown('json'));
    // a time range only where the tab shows one: Rate Limit shows now, Batch Jobs the provider's list
    const ranged = RANGED_TABS.includes(this.saved.tab);
    return el(
      'header',
      {},
      el('h1', {}, l10n.t('LLM Rate Limit Monitor')),
      el('span', { class: 'workspace' }, l10n.t('workspace: {0}', s.workspace)),
      ranged ? windows : '',
      el('div', { class: 'exports' }, pause, exportCsv, exportJson),
    );
  }

  /** Is a limit or an increase being typed (a field of those forms has the focus)? */
  private editing(): boolean {
    const a = document.activeElement;
    return (
      a instanceof HTMLInputElement &&
      this.root.contains(a) &&
      (a.hasAttribute('data-edit') || a.hasAttribute('data-increase'))
    );
  }

  private togglePause(): void {
    this.paused = !this.paused;
    if (!this.paused && this.pending) {
      this.snapshot = this.pending;
      this.pending = undefined;
    }
    this.render();
  }

  /** A message span whose text is kept across refreshes (in `messages`) until it is cleared. */
  private messageSpan(
    id: string,
    attrs: Record<string, string> = {},
  ): { el: HTMLElement; show: (text: string) => void } {
    const span = el('span', { class: 'field-error', role: 'alert', ...attrs }, this.messages.get(id) ?? '');
    return {
      el: span,
      show: (text: string) => {
        span.textContent = text;
        if (text) this.messages.set(id, text);
        else this.messages.delete(id);
      },
    };
  }

  private emptyState(s: DashboardSnapshot): HTMLElement {
    const box = el(
      'div',
      { class: 'empty' },
      el('h2', {}, l10n.t('No requests yet')),
      el(
        'p',
        {},
        l10n.t(
          'Point a program at the gateway (Copy Gateway Environment gives the two shell lines) or send a test request through it.',
        ),
      ),
    );
    if (s.canRunCommands && s.apiKeyMissing) {
      // first things first: without a key every request would be refused
      const setKey = el('vscode-button', { 'data-set-key': '' }, l10n.t('Set API Key'));
      setKey.addEventListener('click', () => void this.act({ action: 'runFlow', flow: 'setApiKey' }));
      box.append(
        el('p', { class: 'error', role: 'alert' }, l10n.t('No provider API key is set for this workspace yet.')),
        setKey,
      );
    }
    if (s.canRunCommands) {
      const copy = el('vscode-button', {}, l10n.t('Copy Gateway Environment'));
      copy.addEventListener('click', () => void this.act({ action: 'runFlow', flow: 'copyGatewayEnvironment' }));
      const test = el('vscode-button', { secondary: '' }, l10n.t('Send Test Request'));
      test.addEventListener('click', () => void this.act({ action: 'runFlow', flow: 'sendTestRequest' }));
      box.append(copy, test);
    } else
      box.append(el('p', {}, l10n.t("Set OPENAI_BASE_URL to this gateway's /v1 and OPENAI_API_KEY to its token.")));
    return box;
  }

  /** Which model the charts show: every configured model and any other with traffic. */
  private chartModelPicker(s: DashboardSnapshot): HTMLElement {
    const models = [...new Set([...Object.keys(s.config.models), ...s.metrics.rows.map((r) => r.model)])].sort();
    const picker = el(
      'select',
      { 'aria-label': l10n.t('Model shown in the charts'), 'data-chart-model': '' },
      ...models.map((m) => el('option', { value: m }, m)),
    );
    if (s.chartModel) picker.value = s.chartModel;
    picker.addEventListener('change', () => this.host.send({ type: 'focusModel', model: picker.value }));
    return el('div', { class: 'toolbar' }, el('label', {}, `${l10n.t('Model')} `, picker));
  }

  /** An input whose typed value is kept in `drafts` until it is saved. */
  private draftInput(id: string, initial: string, attrs: Record<string, string>): HTMLInputElement {
    const input = el('input', { ...attrs, 'data-draft': id, value: this.drafts.get(id) ?? initial });
    input.addEventListener('input', () => this.drafts.set(id, input.value));
    return input;
  }
}

/** A command's reply, under the tabs. */
function noticeOf(n: { ok: boolean; message: string }): HTMLElement {
  return el(
    'p',
    {
      class: n.ok ? 'notice' : 'error',
      role: n.ok ? 'status' : 'alert',
      'data-notice': n.ok ? 'ok' : 'error',
    },
    n.message,
  );
}

/** A selector that finds the same control again after a refresh: its tag and data attributes. */
function selectorOf(node: Element | null): string | undefined {
  if (!node || node === document.body) return undefined;
  const data = [...node.attributes].filter((a) => a.name.startsWith('data-') || a.name === 'id');
  if (data.length === 0) return undefined;
  return node.tagName.toLowerCase() + data.map((a) => `[${a.name}="${CSS.escape(a.value)}"]`).join('');
}
