/** Small DOM helpers and number formats shared by the dashboard's views. */
import { formatCount, formatDateTime, formatTime } from '../src/core/format';
export function el<K extends keyof HTMLElementTagNameMap>(
  tag: K,
  attrs: Record<string, string> = {},
  ...children: (Node | string)[]
): HTMLElementTagNameMap[K] {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) e.setAttribute(k, v);
  e.append(...children);
  return e;
}

export const fmtMs = (v: number | undefined) => (v === undefined ? '—' : `${Math.round(v)} ms`);
export const fmtNum = formatCount;
export const pct = (v: number) => `${(v * 100).toFixed(1)} %`;
export const time = formatTime;
export const dateTime = formatDateTime;

/** A meter bar: used / limit, with the level as a class for theme colours. */
export function bar(label: string, used: number, limit: number, threshold = 0.8, calm = false): HTMLElement {
  const fill = limit > 0 ? used / limit : 0;
  // calm: a full window that is the normal paced state, not a warning (one request a second at ≤ 60 RPM)
  const level = calm ? 'ok' : fill >= 1 ? 'full' : fill >= threshold ? 'warn' : 'ok';
  const meter = el('div', {
    class: `meter ${level}`,
    role: 'meter',
    'aria-label': `${label} ${fmtNum(used)} of ${fmtNum(limit)}`,
    'aria-valuemin': '0',
    'aria-valuemax': String(limit),
    'aria-valuenow': String(Math.round(used)),
  });
  const inner = el('div', { class: 'meter-fill' });
  inner.style.width = `${Math.min(100, fill * 100).toFixed(1)}%`;
  meter.append(inner);
  return el(
    'div',
    { class: 'meter-row' },
    el('span', { class: 'meter-label' }, label),
    meter,
    el('span', { class: 'meter-value' }, `${fmtNum(used)}/${fmtNum(limit)}`),
  );
}

/** A table readable by screen readers: caption, th scope, and one row per item. */
export function table<T>(
  caption: string,
  columns: { key: string; label: string; cell: (row: T) => string | Node; numeric?: boolean }[],
  rows: T[],
  rowAttrs: (row: T) => Record<string, string> = () => ({}),
): HTMLTableElement {
  const t = el('table', {}, el('caption', { class: 'visually-hidden' }, caption));
  t.append(
    el(
      'thead',
      {},
      el(
        'tr',
        {},
        ...columns.map((c) =>
          el('th', { scope: 'col', 'data-key': c.key, ...(c.numeric ? { class: 'num' } : {}) }, c.label),
        ),
      ),
    ),
  );
  const body = el('tbody');
  for (const r of rows)
    body.append(
      el(
        'tr',
        rowAttrs(r),
        ...columns.map((c) => el('td', { 'data-cell': c.key, ...(c.numeric ? { class: 'num' } : {}) }, c.cell(r))),
      ),
    );
  t.append(body);
  return t;
}
