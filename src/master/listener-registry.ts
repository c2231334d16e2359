// The master's listening sockets: bound once (without listening: workers listen on them),
// kept for the life of the service, one kernel socket per address whatever the number of
// workers and generations (invariant I1). A reload keeps every socket whose address stays
// and binds the new ones as a transaction: one bind error and the ones just bound are
// closed again, nothing changes.
import type { Config, SocketAddress } from '../config/types.js';
import { BindError, bindListenHandle, closeHandle, handleInode, type TcpHandle } from '../lib/node-handles.js';

export interface Listener {
  readonly address: SocketAddress;
  readonly handle: TcpHandle;
  /** Kernel socket inode, for status and tests (stable for the listener's life). */
  readonly inode: number | undefined;
  frontend: string;
}

export class ListenerRegistry {
  private readonly listeners = new Map<string, Listener>();

  get(key: string): Listener | undefined {
    return this.listeners.get(key);
  }

  all(): Listener[] {
    return [...this.listeners.values()];
  }

  /**
   * Make sure every address of `config` has a socket. Returns the keys newly bound (to
   * close again if the reload fails). Throws BindError (with the OS error and the address)
   * after closing anything it bound.
   */
  async ensure(config: Config): Promise<string[]> {
    const added: string[] = [];
    try {
      for (const f of config.frontends) {
        for (const b of f.binds) {
          const have = this.listeners.get(b.key);
          if (have) continue;
          const handle = bindListenHandle(b);
          this.listeners.set(b.key, { address: b, handle, inode: handleInode(handle), frontend: f.name });
          added.push(b.key);
        }
      }
    } catch (err) {
      await this.close(added);
      throw err instanceof BindError ? err : new BindError('?', (err as Error).message);
    }
    return added;
  }

  /** Record which frontend owns each address in the config now active. */
  assign(config: Config): void {
    for (const f of config.frontends)
      for (const b of f.binds) {
        const l = this.listeners.get(b.key);
        if (l) l.frontend = f.name;
      }
  }

  /** Keys of listeners the config does not use. */
  unused(config: Config): string[] {
    const wanted = new Set(config.frontends.flatMap((f) => f.binds.map((b) => b.key)));
    return [...this.listeners.keys()].filter((k) => !wanted.has(k));
  }

  async close(keys: readonly string[]): Promise<void> {
    await Promise.all(
      keys.map(async (k) => {
        const l = this.listeners.get(k);
        if (!l) return;
        this.listeners.delete(k);
        await closeHandle(l.handle);
      }),
    );
  }

  async closeAll(): Promise<void> {
    await this.close([...this.listeners.keys()]);
  }
}
