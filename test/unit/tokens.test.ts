import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import { encodeChat } from 'gpt-tokenizer';
import { ALLOWANCES, Calibration } from '../../src/core/tokens';
import { estimateTokens } from '../../src/gateway/tokenizer';

interface CorpusItem {
  name: string;
  lang: string;
  messages: { role: 'system' | 'user' | 'assistant' | 'tool'; content: string }[];
}
const corpus = JSON.parse(fs.readFileSync('test/fixtures/corpus/prompts.json', 'utf8')) as CorpusItem[];

describe('token estimation', () => {
  it('stays within 10 % of the reference chat count on the committed corpus (reported)', () => {
    const rows = corpus.map((item) => {
      // Reference: gpt-tokenizer's exact chat encoding for gpt-4o (roles and separators included).
      const reference = encodeChat(
        item.messages.map((m) => ({ role: m.role === 'tool' ? 'user' : m.role, content: m.content })),
        'gpt-4o',
      ).length;
      const estimate = estimateTokens('chat.completions', { messages: item.messages }, 0).promptTokens;
      return { name: item.name, lang: item.lang, reference, estimate, error: (estimate - reference) / reference };
    });
    const meanAbs = rows.reduce((s, r) => s + Math.abs(r.error), 0) / rows.length;
    console.log(`# estimation error vs reference: mean |error| ${(meanAbs * 100).toFixed(1)} %`);
    for (const r of rows)
      console.log(
        `#   ${r.name.padEnd(22)} ${r.lang.padEnd(6)} ref ${String(r.reference).padStart(4)} est ${String(r.estimate).padStart(4)} ${(r.error * 100).toFixed(1)} %`,
      );
    for (const r of rows)
      assert.ok(
        Math.abs(r.error) <= 0.1 || Math.abs(r.estimate - r.reference) <= 3,
        `${r.name}: ${(r.error * 100).toFixed(1)} %`,
      );
  });

  it('counts tool definitions, tool calls, images by allowance, and the requested output', () => {
    const messages = [{ role: 'user', content: 'weather?' }];
    const plain = estimateTokens('chat.completions', { messages }, 100);
    assert.equal(plain.maxOutputTokens, 100, 'the default allowance when max_tokens is absent');
    const tools = [
      {
        type: 'function',
        function: {
          name: 'get_weather',
          description: 'Current weather for a city',
          parameters: { type: 'object', properties: { city: { type: 'string' } }, required: ['city'] },
        },
      },
    ];
    const withTools = estimateTokens('chat.completions', { messages, tools, max_completion_tokens: 50, n: 2 }, 100);
    assert.ok(withTools.promptTokens >= plain.promptTokens + 20, `${withTools.promptTokens} vs ${plain.promptTokens}`);
    assert.equal(withTools.maxOutputTokens, 100, 'max_completion_tokens × n');
    const call = estimateTokens(
      'chat.completions',
      {
        messages: [
          ...messages,
          {
            role: 'assistant',
            content: null,
            tool_calls: [
              { id: 'c1', type: 'function', function: { name: 'get_weather', arguments: '{"city":"Hangzhou"}' } },
            ],
          },
        ],
      },
      0,
    );
    assert.ok(call.promptTokens > plain.promptTokens + 8);
    const image = estimateTokens(
      'chat.completions',
      {
        messages: [
          {
            role: 'user',
            content: [
              { type: 'text', text: 'weather?' },
              { type: 'image_url', image_url: { url: 'data:image/png;base64,AAAA' } },
            ],
          },
        ],
      },
      0,
    );
    assert.equal(image.promptTokens - plain.promptTokens, ALLOWANCES.imageTokens);
  });

  it('estimates completions, embeddings and responses bodies', () => {
    assert.deepEqual(estimateTokens('completions', { prompt: 'hello world', max_tokens: 7 }, 100), {
      promptTokens: 2,
      maxOutputTokens: 7,
    });
    assert.deepEqual(estimateTokens('embeddings', { input: ['hello world', 'hello'] }, 100), {
      promptTokens: 3,
      maxOutputTokens: 0,
    });
    assert.deepEqual(estimateTokens('embeddings', { input: [1, 2, 3, 4] }, 100), {
      promptTokens: 4,
      maxOutputTokens: 0,
    });
    const r = estimateTokens(
      'responses',
      {
        input: [{ role: 'user', content: [{ type: 'input_text', text: 'hello world' }] }],
        instructions: 'Be brief.',
        max_output_tokens: 64,
      },
      100,
    );
    assert.equal(r.maxOutputTokens, 64);
    assert.ok(r.promptTokens >= 2 + 3 + ALLOWANCES.perMessage);
  });

  it('calibrates per model from actual usage, leaning high while it has few samples', () => {
    const c = new Calibration(1.1);
    assert.equal(c.factor('qwen-plus'), 1.1);
    c.observe('qwen-plus', 100, 80);
    assert.equal(c.factor('qwen-plus'), 1.1, 'one sample below the prior does not lower it yet');
    for (let i = 0; i < 60; i++) c.observe('qwen-plus', 100, 130);
    assert.ok(Math.abs(c.factor('qwen-plus') - 1.3) < 0.05, `factor ${c.factor('qwen-plus')}`);
    assert.equal(c.factor('qwen-turbo'), 1.1, 'models calibrate separately');
    c.observe('m', 0, 50);
    assert.equal(c.snapshot().m, undefined, 'a zero estimate teaches nothing');
  });
});
