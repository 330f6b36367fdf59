/**
 * The state folder and the token file hold the key to the gateway: another local user, or a
 * link planted in their place, must not get it or feed us theirs. Each must be ours, not a
 * link, and closed to others (0700 / 0600). One that is ours but too open is closed; one
 * that is a link or someone else's is refused with what to do about it.
 */
import fs from 'node:fs';

export class UnsafeStateError extends Error {}

export function ensurePrivate(file: string, kind: 'directory' | 'file'): void {
  const st = fs.lstatSync(file);
  if (st.isSymbolicLink())
    throw new UnsafeStateError(
      `${file} is a symbolic link; the gateway's ${kind === 'directory' ? 'state folder' : 'token file'} must be ` +
        `a real ${kind}. Remove the link.`,
    );
  if (kind === 'directory' ? !st.isDirectory() : !st.isFile())
    throw new UnsafeStateError(`${file} is not a ${kind}. Remove it, or point RLM_STATE_DIR elsewhere.`);
  if (typeof process.getuid !== 'function') return; // Windows: ACLs, not modes
  if (st.uid !== process.getuid())
    throw new UnsafeStateError(
      `${file} belongs to user ${st.uid}, not to you (${process.getuid()}). Remove it, or point RLM_STATE_DIR at a folder of your own.`,
    );
  const wanted = kind === 'directory' ? 0o700 : 0o600;
  if ((st.mode & 0o077) !== 0) fs.chmodSync(file, wanted);
}
