// The fresh-connection client (like curl in a loop): a new TCP connection per request,
// `Connection: close`. Each connect lands on whatever listening socket the kernel picks,
// so this is the client that sees a SO_REUSEPORT split and stale processes (docs/origin.md).
import { HttpClientConnection, requestBytes } from './http-client-connection.js';
import { httpOutcome } from './http-outcome.js';
import { FAILURE_PAUSE_MS, pause } from './keepalive-client.js';
import { MAX_REQUESTS, pace, type LoadContext } from './load-context.js';
import type { LoadTarget, Outcome } from './types.js';

/** After the response, wait this long for the server's FIN so the TIME_WAIT stays on its side. */
const CLOSE_WAIT_MS = 200;

/** One request on a new connection; the outcome is not yet checked against the routing. */
export async function freshRequest(
  ctx: Pick<LoadContext, 'now' | 'timeoutMs' | 'tls'>,
  target: LoadTarget,
  path: string,
): Promise<{ start: number; end: number; outcome: Outcome }> {
  const start = ctx.now();
  const c = await HttpClientConnection.connect(
    target.frontend,
    ctx.timeoutMs,
    ctx.tls ? { settings: ctx.tls, host: target.host } : undefined,
  );
  if (!c.ok) return { start, end: ctx.now(), outcome: c };
  const remaining = Math.max(1, ctx.timeoutMs - (ctx.now() - start));
  const result = await c.conn.request(requestBytes(target.host, path, true), remaining);
  const end = ctx.now();
  if (result.ok) await c.conn.waitClosed(CLOSE_WAIT_MS);
  c.conn.destroy();
  return { start, end, outcome: httpOutcome(result, end - start) };
}

export async function runFreshClient(ctx: LoadContext, id: number, targets: readonly LoadTarget[]): Promise<void> {
  let lastStart = -Infinity;
  for (let n = 0; n < MAX_REQUESTS && !ctx.signal.aborted; n++) {
    await pace(ctx, lastStart);
    if (ctx.signal.aborted) break;
    const target = targets[n % targets.length]!;
    const r = await freshRequest(ctx, target, `${target.path}/fresh/${id}/${n}`);
    lastStart = r.start;
    const counted = ctx.tally.record('fresh', target, r.start, r.end, r.outcome);
    if (!counted.ok) await pause(FAILURE_PAUSE_MS);
  }
}
