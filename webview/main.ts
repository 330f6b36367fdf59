/**
 * The monitoring dashboard app. It renders what the host sends (a typed protocol) and asks
 * the host for nothing but a time window or a command. Theme colours come from --vscode-*
 * variables (media/monitor.css); state survives hiding through getState/setState.
 */
import '@vscode-elements/elements/dist/vscode-button/index.js';
import '@vscode-elements/elements/dist/vscode-badge/index.js';
import type { HostToWebview, WebviewToHost } from '../src/core/protocol';
import type { ModelRow } from '../src/core/metrics';

interface VsCodeApi {
  postMessage(m: WebviewToHost): void;
  getState(): SavedState | undefined;
  setState(s: SavedState): void;
}
declare function acquireVsCodeApi(): VsCodeApi;

interface SavedState {
  window: string;
  sortBy: keyof ModelRow;
}

const vscode = acquireVsCodeApi();
const saved: SavedState = vscode.getState() ?? { window: '1h', sortBy: 'model' };
const root = document.getElementById('app')!;

const fmtMs = (v: number | undefined) => (v === undefined ? '—' : `${Math.round(v)} ms`);
const fmtNum = (v: number) => (v >= 10_000 ? `${(v / 1000).toFixed(1)}k` : String(Math.round(v * 10) / 10));
const pct = (v: number) => `${(v * 100).toFixed(1)} %`;

function el<K extends keyof HTMLElementTagNameMap>(tag: K, attrs: Record<string, string> = {}, ...children: (Node | string)[]): HTMLElementTagNameMap[K] {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) e.setAttribute(k, v);
  e.append(...children);
  return e;
}

function render(msg: Extract<HostToWebview, { type: 'snapshot' }>): void {
  const { summary, rows } = msg.metrics;
  root.replaceChildren();
  const windows = el('div', { class: 'windows', role: 'group', 'aria-label': 'Time range' });
  for (const w of ['1h', '3h', '24h', '7d']) {
    const b = el('vscode-button', { 'data-window': w, ...(w === msg.window ? {} : { secondary: '' }) }, w);
    b.addEventListener('click', () => {
      saved.window = w;
      vscode.setState(saved);
      vscode.postMessage({ type: 'setWindow', window: w as '1h' });
    });
    windows.append(b);
  }
  root.append(el('header', {}, el('h1', {}, 'LLM Rate Limit Monitor'), el('span', { class: 'workspace' }, `workspace: ${msg.workspace}`), windows));
  if (summary.totalCalls === 0) {
    const empty = el('section', { class: 'empty' }, el('h2', {}, 'No requests yet'), el('p', {}, 'Point a program at the gateway (Copy Gateway Environment) or send a test request through it.'));
    const copy = el('vscode-button', {}, 'Copy Gateway Environment');
    copy.addEventListener('click', () => vscode.postMessage({ type: 'runCommand', command: 'copyGatewayEnvironment' }));
    const test = el('vscode-button', { secondary: '' }, 'Send Test Request');
    test.addEventListener('click', () => vscode.postMessage({ type: 'runCommand', command: 'sendTestRequest' }));
    empty.append(copy, test);
    root.append(empty);
    return;
  }
  const cards = el('section', { class: 'cards', 'aria-label': 'Summary' });
  const card = (label: string, value: string) => el('div', { class: 'card' }, el('div', { class: 'label' }, label), el('div', { class: 'value', 'data-card': label }, value));
  cards.append(
    card('Total Models', String(summary.totalModels)),
    card('Total Calls', String(summary.totalCalls)),
    card('Failures', `${summary.failures} (${pct(summary.failureRate)})`),
    card('Avg TTFT', fmtMs(summary.avgTtftMs)),
    card('Avg Latency', fmtMs(summary.avgLatencyMs)),
    card('429s rpm / tpm / burst', `${summary.rateLimited.rpm} / ${summary.rateLimited.tpm} / ${summary.rateLimited.burst}`),
  );
  root.append(cards);
  const cols: [keyof ModelRow, string, (r: ModelRow) => string][] = [
    ['model', 'Model', (r) => r.model],
    ['workspace', 'Workspace', (r) => r.workspace],
    ['avgTpm', 'Avg TPM', (r) => fmtNum(r.avgTpm)],
    ['avgRpm', 'Avg RPM', (r) => fmtNum(r.avgRpm)],
    ['totalCalls', 'Total Calls', (r) => String(r.totalCalls)],
    ['failedCalls', 'Failed Calls', (r) => String(r.failedCalls)],
    ['failureRate', 'Failure Rate', (r) => pct(r.failureRate)],
    ['avgTtftMs', 'Avg TTFT', (r) => fmtMs(r.avgTtftMs)],
    ['avgLatencyMs', 'Avg Latency', (r) => fmtMs(r.avgLatencyMs)],
    ['peakRpm', 'Peak RPM', (r) => String(r.peakRpm)],
    ['peakTpm', 'Peak TPM', (r) => fmtNum(r.peakTpm)],
  ];
  const sorted = [...rows].sort((a, b) => {
    const x = a[saved.sortBy];
    const y = b[saved.sortBy];
    return typeof x === 'number' && typeof y === 'number' ? y - x : String(x).localeCompare(String(y));
  });
  const table = el('table', { 'aria-label': 'Per-model usage' });
  const head = el('tr');
  for (const [key, label] of cols) {
    const th = el('th', { scope: 'col', tabindex: '0', 'aria-sort': saved.sortBy === key ? 'descending' : 'none' }, label);
    const sort = () => {
      saved.sortBy = key;
      vscode.setState(saved);
      render(msg);
    };
    th.addEventListener('click', sort);
    th.addEventListener('keydown', (e) => {
      if (e.key === 'Enter' || e.key === ' ') sort();
    });
    head.append(th);
  }
  table.append(el('thead', {}, head));
  const body = el('tbody');
  for (const r of sorted) body.append(el('tr', { 'data-model': r.model }, ...cols.map(([, , f]) => el('td', {}, f(r)))));
  table.append(body);
  root.append(table);
}

window.addEventListener('message', (e: MessageEvent<HostToWebview>) => {
  const msg = e.data;
  if (msg.type === 'snapshot') render(msg);
  else if (msg.type === 'error') root.replaceChildren(el('p', { class: 'error', role: 'alert' }, msg.message));
});

vscode.postMessage({ type: 'ready' });
if (saved.window !== '1h') vscode.postMessage({ type: 'setWindow', window: saved.window as '1h' });
