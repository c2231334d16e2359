// The open connections of one echo server, so that a stop can wait for them to finish
// and, at its deadline, destroy the ones that did not.
import type { Socket } from 'node:net';

export class ConnectionSet {
  readonly #sockets = new Set<Socket>();
  readonly #emptyWaiters = new Set<() => void>();

  add(socket: Socket): void {
    this.#sockets.add(socket);
    socket.once('close', () => {
      this.#sockets.delete(socket);
      if (this.#sockets.size === 0) for (const wake of this.#emptyWaiters) wake();
    });
  }

  get size(): number {
    return this.#sockets.size;
  }

  destroyAll(): void {
    for (const socket of this.#sockets) socket.destroy();
  }

  /** Resolves true once no connection is open, or false after timeoutMs. */
  whenEmpty(timeoutMs: number): Promise<boolean> {
    if (this.#sockets.size === 0) return Promise.resolve(true);
    return new Promise((resolve) => {
      const done = (empty: boolean) => {
        clearTimeout(timer);
        this.#emptyWaiters.delete(wake);
        resolve(empty);
      };
      const wake = () => done(true);
      const timer = setTimeout(() => done(false), timeoutMs);
      this.#emptyWaiters.add(wake);
    });
  }
}
