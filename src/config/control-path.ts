// Where a service's control socket is, for clients that only know its config file (the
// CLI, doctor). Read leniently: a config with errors must still lead to its master, which
// reports them.
import { readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, resolve } from 'node:path';
import { parse as parseYaml } from 'yaml';

/** The `control` of a config file, absolute (default ./handoff.sock beside the file). */
export function controlPathOfFile(file: string): string {
  let control = './handoff.sock';
  try {
    const doc = parseYaml(readFileSync(file, 'utf8')) as unknown;
    if (doc && typeof doc === 'object' && typeof (doc as { control?: unknown }).control === 'string')
      control = (doc as { control: string }).control;
  } catch {
    // unreadable or invalid: the default, next to the file
  }
  return resolve(dirname(resolve(file)), control);
}

/** Where the built-in demo (`handoff start` without -f) keeps its config and control socket. */
export function demoDir(): string {
  return resolve(tmpdir(), `handoff-demo-${process.getuid?.() ?? 0}`);
}
