// The backends storm's load reaches through the target: one `handoff echo` server per
// ${backend.NAME} in the templates, run in this process (they need no clean-up beyond
// close(), and die with storm whatever happens), or an address the user gave with
// --backend NAME=ADDR. Each echo server answers with `X-Server: NAME`, which is how storm
// tells which backend a response came from.
import { startEchoServer } from '../echo/echo-server.js';
import type { EchoServer } from '../echo/types.js';
import { loopbackAddress } from './loopback.js';

export interface BackendAddress {
  readonly host: string;
  readonly port: number;
}

export class StormBackends {
  private constructor(
    private readonly started: readonly EchoServer[],
    readonly addresses: ReadonlyMap<string, BackendAddress>,
  ) {}

  /** Start an echo server for every name not in `given`; given addresses must be loopback. */
  static async start(names: Iterable<string>, given: Readonly<Record<string, string>>): Promise<StormBackends> {
    const addresses = new Map<string, BackendAddress>();
    for (const [name, text] of Object.entries(given)) {
      const a = loopbackAddress(text, `--backend ${name}`);
      addresses.set(name, { host: a.host, port: a.port });
    }
    const started: EchoServer[] = [];
    try {
      for (const name of [...new Set(names)].sort()) {
        if (addresses.has(name)) continue;
        const server = await startEchoServer({ port: 0, host: '127.0.0.1', name });
        started.push(server);
        addresses.set(name, { host: server.host, port: server.port });
      }
    } catch (err) {
      await Promise.all(started.map((s) => s.close(0)));
      throw err;
    }
    return new StormBackends(started, addresses);
  }

  /** The backend name at "HOST:PORT", if it is one of ours. */
  nameAt(host: string, port: number): string | undefined {
    for (const [name, a] of this.addresses) if (a.port === port && a.host === host) return name;
    return undefined;
  }

  /** name → "HOST:PORT", for the report. */
  describe(): Record<string, string> {
    const out: Record<string, string> = {};
    for (const [name, a] of this.addresses) out[name] = a.host.includes(':') ? `[${a.host}]:${a.port}` : `${a.host}:${a.port}`;
    return out;
  }

  async close(): Promise<void> {
    await Promise.all(this.started.map((s) => s.close(500)));
  }
}
