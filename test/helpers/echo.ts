// Real backend processes: `handoff echo` from this build.
import { handoff, type Tracked } from './processes.js';

export interface EchoBackend {
  readonly name: string;
  readonly port: number;
  readonly address: string; // "127.0.0.1:PORT"
  readonly proc: Tracked;
}

/**
 * Start `handoff echo --port 0 --name NAME [--tcp]` and wait for its
 * "listening on HOST:PORT" line (the echo command prints it once ready).
 */
export async function startEcho(name: string, opts: { tcp?: boolean; port?: number; extra?: string[] } = {}): Promise<EchoBackend> {
  const args = ['echo', '--port', String(opts.port ?? 0), '--name', name];
  if (opts.tcp) args.push('--tcp');
  if (opts.extra) args.push(...opts.extra);
  const proc = handoff(args);
  const m = await proc.waitFor(/listening on (\S+):(\d+)/);
  const port = Number(m[2]);
  return { name, port, address: `127.0.0.1:${port}`, proc };
}
