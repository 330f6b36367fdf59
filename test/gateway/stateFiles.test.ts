/**
 * The state folder and the token file are trusted only when they are ours, real (not links)
 * and closed to others: a folder that is ours but too open is closed; a link or another
 * user's folder is refused with what to do.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { readOrCreateToken } from '../../src/gateway/cli';
import { sharedToken } from '../../src/gateway/leader';
import { UnsafeStateError } from '../../src/gateway/privateFiles';

describe('state folder and token file', () => {
  let dir: string;
  before(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'rlm-state-'));
  });
  after(() => fs.rmSync(dir, { recursive: true, force: true }));

  it('closes a folder of ours that others could read, and its token file', () => {
    const state = path.join(dir, 'open');
    fs.mkdirSync(state, { mode: 0o755 });
    fs.chmodSync(state, 0o755);
    const token = sharedToken(state);
    assert.match(token, /^[\w-]{16,}$/);
    assert.equal(fs.statSync(state).mode & 0o777, 0o700);
    assert.equal(fs.statSync(path.join(state, 'token')).mode & 0o777, 0o600);
  });

  it('refuses a state folder that is a link', () => {
    const real = path.join(dir, 'real');
    fs.mkdirSync(real, { mode: 0o700 });
    const link = path.join(dir, 'link');
    fs.symlinkSync(real, link);
    assert.throws(
      () => sharedToken(link),
      (e: Error) => e instanceof UnsafeStateError && /is a symbolic link/.test(e.message),
    );
  });

  it('refuses a token file that is a link (to /dev/zero it would never finish reading)', () => {
    const file = path.join(dir, 'token-link');
    fs.symlinkSync('/dev/zero', file);
    assert.throws(
      () => readOrCreateToken(file),
      (e: Error) => e instanceof UnsafeStateError && /Remove the link/.test(e.message),
    );
  });

  it(
    "refuses another user's state folder",
    { skip: process.getuid?.() !== 0 ? 'giving a folder away needs root' : false },
    () => {
      const theirs = path.join(dir, 'theirs');
      fs.mkdirSync(theirs, { mode: 0o700 });
      fs.chownSync(theirs, 4242, 4242);
      assert.throws(
        () => sharedToken(theirs),
        (e: Error) => e instanceof UnsafeStateError && /belongs to user 4242, not to you/.test(e.message),
      );
    },
  );
});
