// The worker's side of 'listener?' / 'listener-again': ask the master for a listening socket
// once more (the accept gate closed this worker's copy at a frontend's maxconn) and resolve
// with the handle, or undefined when the master does not grant it, the channel is gone, or
// no answer came in time (the gate asks again at the next connection that ends).
import type { TcpHandle } from '../lib/node-handles.js';
import type { WorkerMessage } from '../protocol/ipc.js';

const ANSWER_TIMEOUT_MS = 5000;

export class ListenerRequests {
  private readonly pending = new Map<string, { resolve: (h: TcpHandle | undefined) => void; timer: NodeJS.Timeout }>();

  constructor(private readonly send: (message: WorkerMessage, done: (err: Error | null) => void) => void) {}

  request(key: string): Promise<TcpHandle | undefined> {
    return new Promise((resolve) => {
      this.pending.get(key)?.resolve(undefined);
      const timer = setTimeout(() => this.settle(key, undefined), ANSWER_TIMEOUT_MS);
      timer.unref();
      this.pending.set(key, { resolve, timer });
      this.send({ type: 'listener?', key }, (err) => {
        if (err) this.settle(key, undefined);
      });
    });
  }

  /** The master's answer; returns false when nobody was waiting for it (the caller closes the handle). */
  answer(key: string, handle: TcpHandle | undefined): boolean {
    if (!this.pending.has(key)) return false;
    this.settle(key, handle);
    return true;
  }

  private settle(key: string, handle: TcpHandle | undefined) {
    const p = this.pending.get(key);
    if (!p) return;
    this.pending.delete(key);
    clearTimeout(p.timer);
    p.resolve(handle);
  }
}
