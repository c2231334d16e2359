// The keep-alive client (like `ab -k -c 1`): sequential requests on one persistent
// connection, reconnecting only when the target closed it (between requests, or after a
// `Connection: close` answer). The long-lived connection is what pinned old HAProxy
// processes in docs/origin.md: a reload must neither break it nor leave it on the old config.
import { HttpClientConnection, requestBytes } from './http-client-connection.js';
import { httpOutcome } from './http-outcome.js';
import { MAX_REQUESTS, pace, type LoadContext } from './load-context.js';
import type { LoadTarget } from './types.js';

/** Pause after a failure, so a target that refuses everything does not turn the loop into a spin. */
export const FAILURE_PAUSE_MS = 5;

export async function runKeepAliveClient(ctx: LoadContext, id: number, targets: readonly LoadTarget[]): Promise<void> {
  const frontend = targets[0]!.frontend;
  let conn: HttpClientConnection | undefined;
  let lastStart = -Infinity;
  try {
    for (let n = 0; n < MAX_REQUESTS && !ctx.signal.aborted; n++) {
      await pace(ctx, lastStart);
      if (ctx.signal.aborted) break;
      const target = targets[n % targets.length]!;
      const start = ctx.now();
      lastStart = start;
      if (conn?.closed) {
        if (conn.closedIdle) ctx.tally.noteClosedIdle('keepalive');
        conn.destroy();
        conn = undefined;
      }
      if (!conn) {
        const c = await HttpClientConnection.connect(
          frontend,
          ctx.timeoutMs,
          ctx.tls ? { settings: ctx.tls, host: target.host } : undefined,
        );
        if (!c.ok) {
          ctx.tally.record('keepalive', target, start, ctx.now(), c);
          await pause(FAILURE_PAUSE_MS);
          continue;
        }
        conn = c.conn;
      }
      const remaining = Math.max(1, ctx.timeoutMs - (ctx.now() - start));
      const result = await conn.request(requestBytes(target.host, `${target.path}/keepalive/${id}/${n}`, false), remaining);
      const end = ctx.now();
      const counted = ctx.tally.record('keepalive', target, start, end, httpOutcome(result, end - start));
      if (!result.ok) {
        conn.destroy();
        conn = undefined;
      }
      if (!counted.ok) await pause(FAILURE_PAUSE_MS);
    }
  } finally {
    conn?.destroy();
  }
}

export function pause(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}
