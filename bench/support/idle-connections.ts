// Many idle keep-alive client connections held by the benchmark: opened in batches, each
// with one request answered (so the proxy holds each as an idle keep-alive connection),
// and later one more request on every one of them, with the outcome counted.
import { KeepAliveClient, type FailureKind } from './keep-alive-client.js';
import { variantOf } from './handoff-config.js';

const BATCH = 200;

/** Open n connections in batches, each with one request answered: idle keep-alive connections. */
export async function openIdle(port: number, n: number): Promise<{ clients: KeepAliveClient[]; failed: number }> {
  const clients: KeepAliveClient[] = [];
  let failed = 0;
  for (let start = 0; start < n; start += BATCH) {
    const batch = await Promise.all(
      Array.from({ length: Math.min(BATCH, n - start) }, async () => {
        try {
          const c = await KeepAliveClient.open(port, 10_000);
          const o = await c.request('/', 10_000);
          if (o.ok && c.usable) return c;
          c.destroy();
        } catch {
          // counted below
        }
        return undefined;
      }),
    );
    for (const c of batch) {
      if (c) clients.push(c);
      else failed++;
    }
  }
  return { clients, failed };
}

export interface RequestEachResult {
  readonly ok: number;
  readonly failed: Partial<Record<FailureKind, number>>;
  /** Successful responses that came from config variant `expectVariant` (handoff's response header). */
  readonly fromVariant: number;
}

/** One request on every connection (in batches); counts outcomes and responses from `expectVariant`. */
export async function requestEach(clients: readonly KeepAliveClient[], expectVariant?: number): Promise<RequestEachResult> {
  let ok = 0;
  let fromVariant = 0;
  const failed: Partial<Record<FailureKind, number>> = {};
  for (let start = 0; start < clients.length; start += BATCH) {
    const outcomes = await Promise.all(clients.slice(start, start + BATCH).map((c) => c.request('/', 10_000)));
    for (const o of outcomes) {
      if (o.ok) {
        ok++;
        if (expectVariant !== undefined && variantOf(o.head) === expectVariant) fromVariant++;
      } else failed[o.failure ?? 'error'] = (failed[o.failure ?? 'error'] ?? 0) + 1;
    }
  }
  return { ok, failed, fromVariant };
}
