// Which control socket a CLI command talks to: -s SOCK, or the `control` of -f FILE, or
// ./handoff.yaml, or the built-in demo's socket.
import { existsSync } from 'node:fs';
import { resolve } from 'node:path';
import { controlPathOfFile, demoDir } from '../config/control-path.js';

export const DEFAULT_CONFIG = 'handoff.yaml';

export interface ControlTarget {
  socket: string;
  /** The config file named on the command line (absolute), if any. */
  file: string | undefined;
}

export function controlTarget(values: { file?: string | undefined; socket?: string | undefined }): ControlTarget {
  if (values.socket) return { socket: resolve(values.socket), file: values.file ? resolve(values.file) : undefined };
  if (values.file) return { socket: controlPathOfFile(values.file), file: resolve(values.file) };
  if (existsSync(DEFAULT_CONFIG)) return { socket: controlPathOfFile(DEFAULT_CONFIG), file: undefined };
  return { socket: resolve(demoDir(), 'handoff.sock'), file: undefined };
}
