/**
 * Charts with Chart.js, registering only the parts used (tree-shaken). Colours come from
 * VS Code's --vscode-charts-* variables and are re-read when the theme changes.
 */
import { costOf, pricingFor } from '../src/core/cost';
import * as l10n from '@vscode/l10n';
import { formatHourMinute, formatTime } from '../src/core/format';
import {
  BarController,
  BarElement,
  CategoryScale,
  Chart,
  Legend,
  LinearScale,
  LineController,
  LineElement,
  PointElement,
  Tooltip,
  type ChartConfiguration,
} from 'chart.js';
import { accountLimitsAt } from '../src/core/config';
import type { DashboardSnapshot } from '../src/core/protocol';
import type { SeriesPoint } from '../src/core/metrics';
import { el } from './dom';

Chart.register(
  LineController,
  LineElement,
  PointElement,
  BarController,
  BarElement,
  CategoryScale,
  LinearScale,
  Legend,
  Tooltip,
);

function themeColor(name: string, fallback: string): string {
  return getComputedStyle(document.body).getPropertyValue(name).trim() || fallback;
}

function palette() {
  return {
    fg: themeColor('--vscode-foreground', '#888'),
    grid: themeColor('--vscode-charts-lines', 'rgba(128,128,128,0.3)'),
    blue: themeColor('--vscode-charts-blue', '#3794ff'),
    red: themeColor('--vscode-charts-red', '#f14c4c'),
    yellow: themeColor('--vscode-charts-yellow', '#cca700'),
    orange: themeColor('--vscode-charts-orange', '#d18616'),
    green: themeColor('--vscode-charts-green', '#89d185'),
    purple: themeColor('--vscode-charts-purple', '#b180d7'),
  };
}

const live: Chart[] = [];

export function destroyCharts(): void {
  while (live.length) live.pop()!.destroy();
}

function chart(container: HTMLElement, title: string, config: ChartConfiguration): void {
  const canvas = el('canvas', { role: 'img', 'aria-label': title });
  container.append(
    el('figure', { class: 'chart' }, el('figcaption', {}, title), el('div', { class: 'chart-box' }, canvas)),
  );
  const c = palette();
  config.options = {
    responsive: true,
    maintainAspectRatio: false,
    animation: false,
    color: c.fg,
    scales: {
      x: { ticks: { color: c.fg, maxTicksLimit: 8 }, grid: { color: c.grid } },
      y: { beginAtZero: true, ticks: { color: c.fg }, grid: { color: c.grid } },
    },
    plugins: { legend: { labels: { color: c.fg, boxWidth: 12 } } },
    ...config.options,
  };
  live.push(new Chart(canvas, config));
}

const hhmm = formatHourMinute;

type Palette = ReturnType<typeof palette>;

/** One line of a chart: a series in a theme colour, without point markers unless asked. */
const line = (label: string, data: (number | null)[], color: string, extra: Record<string, unknown> = {}) => ({
  label,
  data,
  borderColor: color,
  pointRadius: 0,
  borderWidth: 2,
  ...extra,
});

export function renderCharts(container: HTMLElement, s: DashboardSnapshot): void {
  destroyCharts();
  const c = palette();
  const labels = s.series.points.map((p) => hhmm(p.t));
  if (!s.chartModel) container.append(el('p', { class: 'hint' }, l10n.t('No model configured yet.')));
  perMinuteCharts(container, s, c, labels);
  costChart(container, s, c, labels);
  perSecondChart(container, s, c);
  latencyChart(container, s, c, labels);
  refusalsChart(container, s, c, labels);
}

/** RPM and TPM per step against the account limit in force at each point (an increase raises it only while it lasted). */
function perMinuteCharts(container: HTMLElement, s: DashboardSnapshot, c: Palette, labels: string[]): void {
  const points = s.series.points;
  const model = s.chartModel;
  const limitLine = (pick: (l: { rpm: number; tpm: number }) => number) =>
    model && s.config.models[model]
      ? [
          line(
            l10n.t('limit'),
            points.map((p) => pick(accountLimitsAt(s.config, model, p.t)!)),
            c.red,
            {
              borderDash: [6, 4],
              borderWidth: 1,
              stepped: true as const,
            },
          ),
        ]
      : [];
  for (const [name, value, color] of [
    ['RPM', (p: SeriesPoint) => p.rpm, c.blue],
    ['TPM', (p: SeriesPoint) => p.tpm, c.purple],
  ] as const) {
    const field = name === 'RPM' ? 'rpm' : 'tpm';
    const title =
      name === 'RPM'
        ? l10n.t('Requests per minute — {0}', model ?? '')
        : l10n.t('Tokens per minute — {0}', model ?? '');
    chart(container, title, {
      type: 'line',
      data: { labels, datasets: [line(name, points.map(value), color), ...limitLine((l) => l[field])] },
    });
  }
}

/** The chart model's estimated cost per step; without a price, a line saying so rather than a chart of zeros. */
function costChart(container: HTMLElement, s: DashboardSnapshot, c: Palette, labels: string[]): void {
  const model = s.chartModel;
  if (!model) return;
  const pricing = pricingFor(s.config);
  if (!pricing.models[model]) {
    const text = l10n.t('{0} has no price, so its cost is unknown (setting rateLimitMonitor.prices).', model);
    container.append(el('p', { class: 'hint', 'data-cost-unknown': model }, text));
    return;
  }
  const amounts = s.series.points.map((p) => costOf(pricing, model, p)?.amount ?? null);
  chart(container, l10n.t('Estimated cost per step ({0}) — {1}', pricing.currency, model), {
    type: 'bar',
    data: { labels, datasets: [{ label: l10n.t('cost'), data: amounts, backgroundColor: c.green }] },
  });
}

function perSecondChart(container: HTMLElement, s: DashboardSnapshot, c: Palette): void {
  const secs = s.series.seconds;
  chart(container, l10n.t('Requests and tokens per second (last 2 minutes)'), {
    type: 'line',
    data: {
      labels: secs.map((p) => formatTime(p.t)),
      datasets: [
        line(
          'RPS',
          secs.map((p) => p.calls),
          c.blue,
          { borderWidth: 1, yAxisID: 'y' },
        ),
        line(
          'TPS',
          secs.map((p) => p.tokens),
          c.purple,
          { borderWidth: 1, yAxisID: 'y1' },
        ),
      ],
    },
    options: {
      scales: {
        x: { ticks: { color: c.fg, maxTicksLimit: 6 }, grid: { color: c.grid } },
        y: { beginAtZero: true, ticks: { color: c.fg }, grid: { color: c.grid } },
        y1: { position: 'right', beginAtZero: true, ticks: { color: c.fg }, grid: { display: false } },
      },
    },
  });
}

function latencyChart(container: HTMLElement, s: DashboardSnapshot, c: Palette, labels: string[]): void {
  const points = s.series.points;
  const p50 = { pointRadius: 2, spanGaps: true };
  const p95 = { borderDash: [4, 3], borderWidth: 1, spanGaps: true };
  chart(container, l10n.t('Latency and TTFT, p50 / p95 (ms)'), {
    type: 'line',
    data: {
      labels,
      datasets: [
        ...(
          [
            [l10n.t('latency p50'), 'p50LatencyMs', c.green, p50],
            [l10n.t('latency p95'), 'p95LatencyMs', c.green, p95],
            ['TTFT p50', 'p50TtftMs', c.orange, p50],
            ['TTFT p95', 'p95TtftMs', c.orange, p95],
          ] as const
        ).map(([label, field, color, style]) =>
          line(
            label,
            points.map((p) => p[field] ?? null),
            color,
            style,
          ),
        ),
      ],
    },
  });
}

function refusalsChart(container: HTMLElement, s: DashboardSnapshot, c: Palette, labels: string[]): void {
  const points = s.series.points;
  const bar = (label: string, data: number[], color: string, stack: string) => ({
    label,
    data,
    backgroundColor: color,
    stack,
  });
  chart(container, l10n.t('Provider 429s by kind, and local refusals'), {
    type: 'bar',
    data: {
      labels,
      datasets: [
        bar(
          l10n.t('provider RPM'),
          points.map((p) => p.rateLimited.rpm),
          c.red,
          'provider',
        ),
        bar(
          l10n.t('provider TPM'),
          points.map((p) => p.rateLimited.tpm),
          c.orange,
          'provider',
        ),
        bar(
          l10n.t('provider burst'),
          points.map((p) => p.rateLimited.burst),
          c.yellow,
          'provider',
        ),
        bar(
          l10n.t('local refusals'),
          points.map((p) => p.localRejections),
          c.grid,
          'local',
        ),
      ],
    },
    options: {
      scales: {
        x: { stacked: true, ticks: { color: c.fg, maxTicksLimit: 8 }, grid: { color: c.grid } },
        y: { stacked: true, beginAtZero: true, ticks: { color: c.fg, precision: 0 }, grid: { color: c.grid } },
      },
    },
  });
}
