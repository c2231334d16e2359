// A private key file that group or others can read is a key that other local users can
// steal. handoff warns (as sshd refuses): it cannot know whether a group was meant to
// share it (ssl-cert on Debian), so it does not refuse.
import { stat } from 'node:fs/promises';

/** A warning when `file` is readable by group or others, else undefined. */
export async function keyPermissionWarning(file: string): Promise<string | undefined> {
  let mode: number;
  try {
    mode = (await stat(file)).mode & 0o777;
  } catch {
    return undefined; // reading it reports the problem
  }
  if ((mode & 0o044) === 0) return undefined;
  const who = (mode & 0o040 ? ['group'] : []).concat(mode & 0o004 ? ['others'] : []).join(' and ');
  return `the private key ${file} is readable by ${who} (mode 0${mode.toString(8)}): chmod 600 it`;
}
