// What every load client shares: the storm's clock, the tally, the per-request timeout, the
// pacing, and the signal that ends the load. Clients are closed loops (one request at a
// time, like `ab -c 1`), bounded in time by the signal and in count by MAX_REQUESTS.
import type { ClientTls } from './client-tls.js';
import type { LoadTally } from './load-tally.js';

/** Per client: a backstop only; the signal ends the load long before. */
export const MAX_REQUESTS = 50_000_000;

export interface LoadContext {
  /** ms since the storm started (monotonic). */
  readonly now: () => number;
  readonly tally: LoadTally;
  readonly timeoutMs: number;
  /** Requests per second per client; 0 = no pause. */
  readonly rate: number;
  /** Aborted when the load must stop: clients finish the request in flight and close. */
  readonly signal: AbortSignal;
  /** --tls: HTTP clients speak TLS. */
  readonly tls?: ClientTls;
}

/** Wait until the next request may start (rate limit), or the load stops. Yields to the event loop either way. */
export function pace(ctx: LoadContext, lastStart: number): Promise<void> {
  const wait = ctx.rate > 0 ? Math.max(0, lastStart + 1000 / ctx.rate - ctx.now()) : 0;
  return new Promise((resolve) => {
    if (ctx.signal.aborted) return resolve();
    const done = () => {
      clearTimeout(timer);
      ctx.signal.removeEventListener('abort', done);
      resolve();
    };
    const timer = setTimeout(done, wait);
    ctx.signal.addEventListener('abort', done, { once: true });
  });
}
