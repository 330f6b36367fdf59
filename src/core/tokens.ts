/**
 * Token estimation for the bodies the gateway meters, before the provider has counted.
 *
 * The tokenizer is injected (`countText`) so this file stays pure; the gateway passes
 * gpt-tokenizer's o200k encoder. Provider tokenizers differ (Qwen's is not OpenAI's), so
 * the prompt estimate is multiplied by a per-model factor learnt from actual
 * `usage.prompt_tokens` (see Calibration).
 */
import type { Endpoint } from './types';
import { isPlainObject } from './values';

export type CountText = (text: string) => number;

/**
 * Allowances for parts we cannot tokenise locally. Qwen-VL charges an image by its pixels
 * (28×28 px per token, up to 16,384); 1,280 tokens covers a 1,000×1,000 px picture. Audio
 * and files are charged by length we do not know here.
 */
export const ALLOWANCES = {
  imageTokens: 1280,
  audioTokens: 1000,
  fileTokens: 2000,
  /** Per chat message: role and separators (OpenAI's cookbook figure). */
  perMessage: 4,
  /** Reply priming at the end of a chat prompt. */
  replyPriming: 3,
  /** Per tool definition, beyond its JSON. */
  perTool: 8,
};

export interface TokenEstimate {
  /** Prompt tokens as our tokenizer counts them (before calibration). */
  promptTokens: number;
  /** Output the request may produce: its own max, or the default allowance. */
  maxOutputTokens: number;
}

type Obj = Record<string, unknown>;
const isObj = (v: unknown): v is Obj => isPlainObject(v);

export function endpointOfPath(path: string): Endpoint {
  const p = path.replace(/\?.*$/, '').replace(/\/+$/, '');
  if (p.endsWith('/chat/completions')) return 'chat.completions';
  if (p.endsWith('/completions')) return 'completions';
  if (p.endsWith('/embeddings')) return 'embeddings';
  if (p.endsWith('/responses')) return 'responses';
  return 'other';
}

/** Counts a request body's prompt tokens the way providers do: text by the tokenizer, other parts by allowance. */
class PromptCounter {
  constructor(private readonly countText: CountText) {}

  text(v: unknown): number {
    return typeof v === 'string' ? this.countText(v) : 0;
  }

  /** A content part of chat or responses input. */
  part(p: unknown): number {
    if (typeof p === 'string') return this.countText(p);
    if (!isObj(p)) return 0;
    switch (p.type) {
      case 'text':
      case 'input_text':
      case 'output_text':
        return this.text(p.text);
      case 'image_url':
      case 'input_image':
      case 'image':
        return ALLOWANCES.imageTokens;
      case 'input_audio':
      case 'audio':
        return ALLOWANCES.audioTokens;
      case 'file':
      case 'input_file':
        return ALLOWANCES.fileTokens;
      default:
        return typeof p.text === 'string' ? this.countText(p.text) : this.countText(JSON.stringify(p));
    }
  }

  content(c: unknown): number {
    return Array.isArray(c) ? c.reduce<number>((n, p) => n + this.part(p), 0) : this.part(c);
  }

  message(m: unknown): number {
    if (!isObj(m)) return 0;
    let n = ALLOWANCES.perMessage + this.text(m.role) + this.text(m.name) + this.content(m.content);
    if (Array.isArray(m.tool_calls)) {
      for (const call of m.tool_calls) {
        if (!isObj(call) || !isObj(call.function)) continue;
        n += 3 + this.text(call.function.name) + this.text(call.function.arguments);
      }
    }
    if (typeof m.tool_call_id === 'string') n += this.countText(m.tool_call_id);
    return n;
  }

  tools(list: unknown): number {
    if (!Array.isArray(list)) return 0;
    return list.reduce<number>((n, t) => n + ALLOWANCES.perTool + this.countText(JSON.stringify(t)), 0);
  }

  responsesInput(input: unknown): number {
    if (typeof input === 'string') return this.countText(input);
    if (!Array.isArray(input)) return 0;
    return input.reduce<number>((n, item) => {
      if (!isObj(item)) return n + this.part(item);
      if (item.type === 'function_call') return n + 3 + this.text(item.name) + this.text(item.arguments);
      if (item.type === 'function_call_output') return n + 3 + this.text(item.output);
      return n + this.message(item);
    }, 0);
  }

  embeddingInput(input: unknown): number {
    if (typeof input === 'string') return this.countText(input);
    if (!Array.isArray(input)) return 0;
    if (input.every((x) => typeof x === 'number')) return input.length; // one pre-tokenised input
    return input.reduce<number>((n, x) => n + (Array.isArray(x) ? x.length : this.text(x)), 0);
  }

  /** Estimate a request body for an endpoint; `defaultMaxOutput` when it names no max. */
  estimate(endpoint: Endpoint, body: unknown, defaultMaxOutput: number): TokenEstimate {
    if (!isObj(body)) return { promptTokens: 0, maxOutputTokens: 0 };
    const choices = Math.max(1, firstNumber(body.n) ?? 1);
    switch (endpoint) {
      case 'chat.completions': {
        const messages = Array.isArray(body.messages) ? body.messages : [];
        const prompt = messages.reduce<number>((n, m) => n + this.message(m), 0) + ALLOWANCES.replyPriming;
        const max = firstNumber(body.max_completion_tokens, body.max_tokens) ?? defaultMaxOutput;
        return {
          promptTokens: prompt + this.tools(body.tools) + this.tools(body.functions),
          maxOutputTokens: max * choices,
        };
      }
      case 'completions': {
        const p = body.prompt;
        const prompt = typeof p === 'string' ? this.countText(p) : Array.isArray(p) ? this.embeddingInput(p) : 0;
        const max = firstNumber(body.max_tokens) ?? defaultMaxOutput;
        return { promptTokens: prompt + this.text(body.suffix), maxOutputTokens: max * choices };
      }
      case 'embeddings':
        return { promptTokens: this.embeddingInput(body.input), maxOutputTokens: 0 };
      case 'responses': {
        const input = this.responsesInput(body.input) + this.text(body.instructions);
        const prompt = input + this.tools(body.tools) + ALLOWANCES.replyPriming;
        return { promptTokens: prompt, maxOutputTokens: firstNumber(body.max_output_tokens) ?? defaultMaxOutput };
      }
      default:
        return { promptTokens: 0, maxOutputTokens: 0 };
    }
  }
}

function firstNumber(...vs: unknown[]): number | undefined {
  for (const v of vs) if (typeof v === 'number' && Number.isFinite(v) && v >= 0) return Math.floor(v);
  return undefined;
}

export function createEstimator(countText: CountText) {
  const counter = new PromptCounter(countText);
  return (endpoint: Endpoint, body: unknown, defaultMaxOutput: number): TokenEstimate =>
    counter.estimate(endpoint, body, defaultMaxOutput);
}

export type Estimator = ReturnType<typeof createEstimator>;

/**
 * Per-model online calibration: factor = actual prompt tokens / our estimate, as an
 * exponentially weighted mean. Until `minSamples` answers have come back the prior
 * factor holds, and the factor used for charging leans high (mean + one deviation),
 * because an under-charge costs a 429 and an over-charge only a short wait.
 */
export class Calibration {
  private readonly stats = new Map<string, { mean: number; variance: number; samples: number }>();

  /**
   * @param safety until a model has `minSamples` samples its factor is max(prior, learnt) ×
   *   this: a provider that counts 35 % more tokens than our tokenizer must not refuse one of
   *   the first requests (the "safe first minute").
   */
  constructor(
    private readonly prior = 1,
    private readonly alpha = 0.1,
    private readonly minSamples = 5,
    public safety = 1,
  ) {}

  observe(model: string, estimatedPrompt: number, actualPrompt: number): void {
    if (!(estimatedPrompt > 0) || !(actualPrompt >= 0)) return;
    const ratio = Math.min(10, Math.max(0.1, actualPrompt / estimatedPrompt));
    const s = this.stats.get(model);
    if (!s) {
      this.stats.set(model, { mean: ratio, variance: 0, samples: 1 });
      return;
    }
    const diff = ratio - s.mean;
    s.mean += this.alpha * diff;
    s.variance = (1 - this.alpha) * (s.variance + this.alpha * diff * diff);
    s.samples++;
  }

  /** The factor to multiply a prompt estimate by when charging. */
  factor(model: string): number {
    const s = this.stats.get(model);
    if (!s) return this.prior * this.safety;
    const learnt = s.mean + Math.sqrt(s.variance);
    return s.samples < this.minSamples ? Math.max(this.prior, learnt) * this.safety : learnt;
  }

  snapshot(): Record<string, { factor: number; samples: number }> {
    const out: Record<string, { factor: number; samples: number }> = {};
    for (const [model, s] of this.stats) out[model] = { factor: this.factor(model), samples: s.samples };
    return out;
  }
}
