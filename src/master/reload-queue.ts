// Reloads run one at a time. Requests that arrive while one runs are coalesced into ONE
// next run, which reads the newest config: the last request always wins, and no signal
// is ever dropped (HAProxy 2.6 drops a SIGUSR2 that arrives during a reload). Every
// requester is answered with the outcome of the run that covered its request.
//
// A pushed config (handoff apply) is a request too: pushes and reloads coalesce alike.
//
//   idle ──request──▶ running ──done, nothing pending──▶ idle
//                        │  ▲
//          request: pending │  └─ done, pending: the next run takes every pending requester
/** What a reload request asks for. */
export interface ReloadRequest {
  /** Load this config file instead of the master's. */
  readonly file?: string;
  /** A pushed config document (handoff apply): validated, written over the master's file, applied. */
  readonly text?: string;
  /** New worker processes even if the change could be applied live (handoff reload --restart). */
  readonly restart?: boolean;
}

export type RunReload<T> = (request: ReloadRequest, requests: number) => Promise<T>;

interface Waiter<T> {
  resolve(v: T): void;
  reject(e: unknown): void;
}

export class ReloadQueue<T> {
  private running = false;
  private pending: { waiters: Waiter<T>[]; request: ReloadRequest } | undefined;

  constructor(private readonly run: RunReload<T>) {}

  get busy(): boolean {
    return this.running;
  }

  request(request: ReloadRequest = {}): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      const w = { resolve, reject };
      if (!this.pending) this.pending = { waiters: [], request: {} };
      this.pending.waiters.push(w);
      this.pending.request = merge(this.pending.request, request);
      if (!this.running) void this.next();
    });
  }

  private async next(): Promise<void> {
    const batch = this.pending;
    if (!batch) return;
    this.pending = undefined;
    this.running = true;
    try {
      const result = await this.run(batch.request, batch.waiters.length);
      for (const w of batch.waiters) w.resolve(result);
    } catch (err) {
      for (const w of batch.waiters) w.reject(err);
    } finally {
      this.running = false;
    }
    if (this.pending) void this.next();
  }
}

/**
 * The newest request that names a config (a file or a pushed document) wins; one that names
 * none keeps the earlier one's. A restart asked by any request of the batch is kept.
 */
function merge(earlier: ReloadRequest, later: ReloadRequest): ReloadRequest {
  const source = later.file !== undefined || later.text !== undefined ? later : earlier;
  return {
    ...(source.file !== undefined ? { file: source.file } : {}),
    ...(source.text !== undefined ? { text: source.text } : {}),
    ...(earlier.restart || later.restart ? { restart: true } : {}),
  };
}
