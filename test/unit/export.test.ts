import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { csvCell } from '../../src/core/export';

describe('CSV cells', () => {
  it('quotes per RFC 4180', () => {
    assert.equal(csvCell('plain'), 'plain');
    assert.equal(csvCell('a,b'), '"a,b"');
    assert.equal(csvCell('say "hi"'), '"say ""hi"""');
    assert.equal(csvCell(undefined), '');
    assert.equal(csvCell(-3), '-3', 'a negative number stays a number');
  });
  it('keeps text a spreadsheet would run as a formula from running', () => {
    assert.equal(csvCell('=HYPERLINK("http://x")'), `"'=HYPERLINK(""http://x"")"`);
    assert.equal(csvCell('+1'), "'+1");
    assert.equal(csvCell('@cmd'), "'@cmd");
    assert.equal(csvCell('-2+3'), "'-2+3");
  });
});
