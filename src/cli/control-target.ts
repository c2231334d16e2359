// Which control socket a CLI command talks to: -s SOCK, or the `control` of -f FILE (read
// leniently: a config with errors must still lead to its master, which reports them), or
// ./handoff.yaml, or the built-in demo's socket.
import { existsSync, readFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { tmpdir } from 'node:os';
import { parse as parseYaml } from 'yaml';

export const DEFAULT_CONFIG = 'handoff.yaml';

/** Where the built-in demo (`handoff start` without -f) keeps its config and control socket. */
export function demoDir(): string {
  return resolve(tmpdir(), `handoff-demo-${process.getuid?.() ?? 0}`);
}

export function controlOfFile(file: string): string {
  let control = './handoff.sock';
  try {
    const doc = parseYaml(readFileSync(file, 'utf8')) as unknown;
    if (doc && typeof doc === 'object' && typeof (doc as { control?: unknown }).control === 'string') control = (doc as { control: string }).control;
  } catch {
    // unreadable or invalid: the default, next to the file
  }
  return resolve(dirname(resolve(file)), control);
}

export interface ControlTarget {
  socket: string;
  /** The config file named on the command line (absolute), if any. */
  file: string | undefined;
}

export function controlTarget(values: { file?: string | undefined; socket?: string | undefined }): ControlTarget {
  if (values.socket) return { socket: resolve(values.socket), file: values.file ? resolve(values.file) : undefined };
  if (values.file) return { socket: controlOfFile(values.file), file: resolve(values.file) };
  if (existsSync(DEFAULT_CONFIG)) return { socket: controlOfFile(DEFAULT_CONFIG), file: undefined };
  return { socket: resolve(demoDir(), 'handoff.sock'), file: undefined };
}
