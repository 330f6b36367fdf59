/**
 * Server-sent events from the provider, read event by event so the gateway can pass each
 * through as it comes, stamp the first content chunk (TTFT), pick up `usage`, spot an
 * error event (Model Studio sends them inside a 200 stream) and drop the usage chunk it
 * asked for on a caller's behalf.
 */
export interface UsageFigures {
  promptTokens: number;
  completionTokens: number;
  totalTokens: number;
  cachedTokens: number;
}

export { dataOf, SseSplitter } from '../core/sse';

export type SseEventInfo =
  | { kind: 'content'; usage?: UsageFigures }
  | { kind: 'usage-only'; usage: UsageFigures }
  | { kind: 'error'; error: unknown }
  | { kind: 'done' }
  | { kind: 'other'; usage?: UsageFigures };

type Obj = Record<string, unknown>;
const isObj = (v: unknown): v is Obj => typeof v === 'object' && v !== null;

/** Read `usage` in chat/completions/embeddings shape or the Responses API's shape. */
export function usageOf(v: unknown): UsageFigures | undefined {
  if (!isObj(v)) return undefined;
  if ('prompt_tokens' in v || 'completion_tokens' in v || ('total_tokens' in v && !('input_tokens' in v))) {
    return figures(v.prompt_tokens, v.completion_tokens, v.total_tokens, v.prompt_tokens_details);
  }
  if ('input_tokens' in v || 'output_tokens' in v) {
    return figures(v.input_tokens, v.output_tokens, v.total_tokens, v.input_tokens_details);
  }
  return undefined;
}

export function inspectEvent(data: string): SseEventInfo {
  if (data.trim() === '[DONE]') return { kind: 'done' };
  let obj: unknown;
  try {
    obj = JSON.parse(data);
  } catch {
    return { kind: 'other' };
  }
  if (!isObj(obj)) return { kind: 'other' };
  if (obj.error !== undefined && obj.error !== null) return { kind: 'error', error: obj };
  if (obj.type === 'error' || obj.type === 'response.failed') return { kind: 'error', error: obj };
  const usage = usageOf(obj.usage) ?? (isObj(obj.response) ? usageOf(obj.response.usage) : undefined);
  const choices = obj.choices;
  if (Array.isArray(choices)) {
    if (choices.length === 0) return usage ? { kind: 'usage-only', usage } : { kind: 'other' };
    const c = choices[0];
    if (isObj(c)) {
      const delta = isObj(c.delta) ? c.delta : undefined;
      const hasContent =
        (delta &&
          ((typeof delta.content === 'string' && delta.content !== '') ||
            (typeof delta.reasoning_content === 'string' && delta.reasoning_content !== '') ||
            Array.isArray(delta.tool_calls))) ||
        (typeof c.text === 'string' && c.text !== '');
      if (hasContent) return usage ? { kind: 'content', usage } : { kind: 'content' };
    }
  }
  if (typeof obj.type === 'string' && obj.type.endsWith('.delta')) return { kind: 'content' };
  return usage ? { kind: 'other', usage } : { kind: 'other' };
}

/**
 * Cheap test for an event that may carry usage, an error or the end. Inside JSON strings
 * quotes are escaped, so `"usage"` and `"error"` only match as keys or values.
 */
export function mayMatter(data: string): boolean {
  return data.includes('"usage"') || data.includes('"error"') || data.includes('[DONE]') || data.includes('"response.');
}

const num = (x: unknown) => (typeof x === 'number' && Number.isFinite(x) ? x : 0);

/** Chat Completions' and Responses' usage say the same under other names. */
function figures(prompt: unknown, completion: unknown, total: unknown, details: unknown): UsageFigures {
  const p = num(prompt);
  const c = num(completion);
  return {
    promptTokens: p,
    completionTokens: c,
    totalTokens: num(total) || p + c,
    cachedTokens: num(isObj(details) ? details.cached_tokens : 0),
  };
}
