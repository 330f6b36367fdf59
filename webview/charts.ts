/**
 * Charts with Chart.js, registering only the parts used (tree-shaken). Colours come from
 * VS Code's --vscode-charts-* variables and are re-read when the theme changes.
 */
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

const hhmm = (t: number) => new Date(t).toLocaleTimeString([], { hour: '2-digit', minute: '2-digit' });

export function renderCharts(container: HTMLElement, s: DashboardSnapshot): void {
  destroyCharts();
  const c = palette();
  const points = s.series.points;
  const labels = points.map((p) => hhmm(p.t));
  const model = s.chartModel;
  // The account limit in force at each point: a temporary increase raises the line only while it lasted.
  const limitAt = (t: number) => (model ? accountLimitsAt(s.config, model, t) : undefined);
  const limitLine = (pick: (l: { rpm: number; tpm: number }) => number) =>
    model && s.config.models[model]
      ? [
          {
            label: 'limit',
            data: points.map((p) => pick(limitAt(p.t)!)),
            borderColor: c.red,
            borderDash: [6, 4],
            pointRadius: 0,
            borderWidth: 1,
            stepped: true as const,
          },
        ]
      : [];
  if (!model) container.append(el('p', { class: 'hint' }, 'No model configured yet.'));
  chart(container, `Requests per minute — ${model ?? ''}`, {
    type: 'line',
    data: {
      labels,
      datasets: [
        { label: 'RPM', data: points.map((p) => p.rpm), borderColor: c.blue, pointRadius: 0, borderWidth: 2 },
        ...limitLine((l) => l.rpm),
      ],
    },
  });
  chart(container, `Tokens per minute — ${model ?? ''}`, {
    type: 'line',
    data: {
      labels,
      datasets: [
        { label: 'TPM', data: points.map((p) => p.tpm), borderColor: c.purple, pointRadius: 0, borderWidth: 2 },
        ...limitLine((l) => l.tpm),
      ],
    },
  });
  const secs = s.series.seconds;
  const secLabels = secs.map((p) => new Date(p.t).toLocaleTimeString());
  chart(container, 'Requests and tokens per second (last 2 minutes)', {
    type: 'line',
    data: {
      labels: secLabels,
      datasets: [
        {
          label: 'RPS',
          data: secs.map((p) => p.calls),
          borderColor: c.blue,
          pointRadius: 0,
          borderWidth: 1,
          yAxisID: 'y',
        },
        {
          label: 'TPS',
          data: secs.map((p) => p.tokens),
          borderColor: c.purple,
          pointRadius: 0,
          borderWidth: 1,
          yAxisID: 'y1',
        },
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
  chart(container, 'Latency and TTFT, p50 / p95 (ms)', {
    type: 'line',
    data: {
      labels,
      datasets: [
        {
          label: 'latency p50',
          data: points.map((p) => p.p50LatencyMs ?? null),
          borderColor: c.green,
          pointRadius: 2,
          borderWidth: 2,
          spanGaps: true,
        },
        {
          label: 'latency p95',
          data: points.map((p) => p.p95LatencyMs ?? null),
          borderColor: c.green,
          borderDash: [4, 3],
          pointRadius: 0,
          borderWidth: 1,
          spanGaps: true,
        },
        {
          label: 'TTFT p50',
          data: points.map((p) => p.p50TtftMs ?? null),
          borderColor: c.orange,
          pointRadius: 2,
          borderWidth: 2,
          spanGaps: true,
        },
        {
          label: 'TTFT p95',
          data: points.map((p) => p.p95TtftMs ?? null),
          borderColor: c.orange,
          borderDash: [4, 3],
          pointRadius: 0,
          borderWidth: 1,
          spanGaps: true,
        },
      ],
    },
  });
  chart(container, 'Provider 429s by kind, and local refusals', {
    type: 'bar',
    data: {
      labels,
      datasets: [
        {
          label: 'provider rpm',
          data: points.map((p) => p.rateLimited.rpm),
          backgroundColor: c.red,
          stack: 'provider',
        },
        {
          label: 'provider tpm',
          data: points.map((p) => p.rateLimited.tpm),
          backgroundColor: c.orange,
          stack: 'provider',
        },
        {
          label: 'provider burst',
          data: points.map((p) => p.rateLimited.burst),
          backgroundColor: c.yellow,
          stack: 'provider',
        },
        {
          label: 'local refusals',
          data: points.map((p) => p.localRejections),
          backgroundColor: c.grid,
          stack: 'local',
        },
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
