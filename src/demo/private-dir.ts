// The demo's folder lives in a shared place ($TMPDIR, often /tmp), where another local user
// can create `handoff-demo-<uid>` first, with a symlink inside: following it, root would
// overwrite a file of its choosing, and load a config (and error pages) the other user
// wrote. So the folder must be ours, created 0700 or verified with lstat (owner, not a
// symlink), and files in it are written without ever following a symlink.
import { chmodSync, closeSync, lstatSync, mkdirSync, openSync, renameSync, unlinkSync, writeSync, constants } from 'node:fs';
import { join, basename } from 'node:path';
import { HandoffError, systemCode } from '../lib/errors.js';

/** Create `dir` 0700, or accept it if it exists, is a real folder and belongs to this user. */
export function ensurePrivateDir(dir: string): void {
  try {
    mkdirSync(dir, { mode: 0o700 });
  } catch (err) {
    if (systemCode(err) !== 'EEXIST') throw err;
  }
  const st = lstatSync(dir);
  const uid = process.getuid?.() ?? 0;
  const refuse = (why: string) =>
    new HandoffError(
      'HANDOFF_ERR_UNSAFE_PATH',
      'config',
      `${dir} ${why}: refusing to use it for the demo's config. Remove it, or set TMPDIR to a folder of your own.`,
    );
  if (st.isSymbolicLink()) throw refuse('is a symbolic link');
  if (!st.isDirectory()) throw refuse('is not a folder');
  if (st.uid !== uid) throw refuse(`belongs to uid ${st.uid}, not to you (uid ${uid})`);
  // Ours but open to others (made by an older handoff with the umask's mode): close it.
  if ((st.mode & 0o077) !== 0) chmodSync(dir, 0o700);
}

/**
 * Write `file` (in a folder ensurePrivateDir accepted) without following a symlink: a new
 * temporary file (O_CREAT|O_EXCL|O_NOFOLLOW, 0600), renamed over the name. A symlink that
 * was there is replaced, its target never touched.
 */
export function writeFileNoFollow(file: string, text: string): void {
  const tmp = join(file, '..', `.${basename(file)}.${process.pid}.tmp`);
  const fd = openSync(tmp, constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL | constants.O_NOFOLLOW, 0o600);
  try {
    writeSync(fd, text);
  } finally {
    closeSync(fd);
  }
  try {
    renameSync(tmp, file);
  } catch (err) {
    unlinkSync(tmp);
    throw err;
  }
}
