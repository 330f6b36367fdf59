/** The lines that point a terminal at the gateway. */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { environmentLines } from '../../src/extension/logic/environment';

describe('gateway environment lines', () => {
  it('writes gateway environment lines for bash/zsh, fish and PowerShell', () => {
    const lines = environmentLines('http://127.0.0.1:8787', 'tok');
    assert.deepEqual(
      lines.map((l) => l.shell),
      ['bash/zsh', 'fish', 'PowerShell'],
    );
    assert.equal(lines[0]!.text, 'export OPENAI_BASE_URL=http://127.0.0.1:8787/v1\nexport OPENAI_API_KEY=tok');
    assert.equal(lines[2]!.text, '$env:OPENAI_BASE_URL = "http://127.0.0.1:8787/v1"\n$env:OPENAI_API_KEY = "tok"');
  });
});
