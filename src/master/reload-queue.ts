// Reloads run one at a time. Requests that arrive while one runs are coalesced into ONE
// next run, which reads the newest config: the last request always wins, and no signal
// is ever dropped (HAProxy 2.6 drops a SIGUSR2 that arrives during a reload). Every
// requester is answered with the outcome of the run that covered its request.
//
//   idle ──request──▶ running ──done, nothing pending──▶ idle
//                        │  ▲
//          request: pending │  └─ done, pending: the next run takes every pending requester
export type RunReload<T> = (file: string | undefined, requests: number) => Promise<T>;

interface Waiter<T> {
  resolve(v: T): void;
  reject(e: unknown): void;
}

export class ReloadQueue<T> {
  private running = false;
  private pending: { waiters: Waiter<T>[]; file: string | undefined } | undefined;

  constructor(private readonly run: RunReload<T>) {}

  get busy(): boolean {
    return this.running;
  }

  request(file?: string): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      const w = { resolve, reject };
      if (!this.pending) this.pending = { waiters: [], file: undefined };
      this.pending.waiters.push(w);
      // The last request names the config; one without a file keeps an earlier one's.
      if (file !== undefined) this.pending.file = file;
      if (!this.running) void this.next();
    });
  }

  private async next(): Promise<void> {
    const batch = this.pending;
    if (!batch) return;
    this.pending = undefined;
    this.running = true;
    try {
      const result = await this.run(batch.file, batch.waiters.length);
      for (const w of batch.waiters) w.resolve(result);
    } catch (err) {
      for (const w of batch.waiters) w.reject(err);
    } finally {
      this.running = false;
    }
    if (this.pending) void this.next();
  }
}
