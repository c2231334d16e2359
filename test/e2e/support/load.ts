// Bounded load loops for reload tests: a keep-alive client (sequential requests on one
// persistent connection, like `ab -k`) and a fresh-connection client (one TCP connection
// per request, like curl). Every failure is recorded with its kind; nothing is retried.
import { KeepAliveClient, request, RequestFailure, servedBy, type Response } from '../../helpers/http-client.js';

export interface LoadStats {
  sent: number;
  ok: number;
  failures: { kind: string; detail: string; at: number }[];
  /** Backend name → responses from it. */
  servedBy: Map<string, number>;
  /** Times a keep-alive client had to open a new connection (the server closed it). */
  reconnects: number;
}

export interface LoadOptions {
  port: number;
  host: string;
  path?: string;
  /** Accept a response: default status 200. Return a string to record a failure of that kind. */
  check?: (r: Response) => string | undefined;
  /** Hard bounds. */
  maxRequests?: number;
  maxMs?: number;
  timeoutMs?: number;
}

export function newStats(): LoadStats {
  return { sent: 0, ok: 0, failures: [], servedBy: new Map(), reconnects: 0 };
}

function record(stats: LoadStats, o: LoadOptions, r: Response) {
  const bad = o.check ? o.check(r) : r.status === 200 ? undefined : `status ${r.status}`;
  if (bad) stats.failures.push({ kind: bad, detail: r.body.toString('utf8').slice(0, 200), at: Date.now() });
  else stats.ok++;
  const who = servedBy(r) ?? '?';
  stats.servedBy.set(who, (stats.servedBy.get(who) ?? 0) + 1);
}

export interface LoadLoop {
  stats: LoadStats;
  stop(): Promise<void>;
}

/** Sequential requests on a persistent connection until stopped (or a bound is hit). */
export function keepAliveLoop(o: LoadOptions): LoadLoop {
  const stats = newStats();
  let running = true;
  const started = Date.now();
  const done = (async () => {
    let client = new KeepAliveClient(o.port);
    while (running && stats.sent < (o.maxRequests ?? 200_000) && Date.now() - started < (o.maxMs ?? 120_000)) {
      stats.sent++;
      try {
        const r = await client.request(o.path ?? '/', { host: o.host, timeoutMs: o.timeoutMs ?? 5000 });
        record(stats, o, r);
        if (r.headers.connection?.toLowerCase() === 'close') {
          // The server said so on a response: reconnecting is the client's normal duty.
          client.close();
          client = new KeepAliveClient(o.port);
          stats.reconnects++;
        }
      } catch (err) {
        const f = err instanceof RequestFailure ? err : new RequestFailure('error', String(err));
        stats.failures.push({ kind: f.kind, detail: f.message, at: Date.now() });
        client.close();
        client = new KeepAliveClient(o.port);
        stats.reconnects++;
      }
    }
    client.close();
  })();
  return {
    stats,
    async stop() {
      running = false;
      await done;
    },
  };
}

/** One new connection per request until stopped (or a bound is hit). */
export function freshLoop(o: LoadOptions): LoadLoop {
  const stats = newStats();
  let running = true;
  const started = Date.now();
  const done = (async () => {
    while (running && stats.sent < (o.maxRequests ?? 200_000) && Date.now() - started < (o.maxMs ?? 120_000)) {
      stats.sent++;
      try {
        record(stats, o, await request(o.port, o.path ?? '/', { host: o.host, timeoutMs: o.timeoutMs ?? 5000 }));
      } catch (err) {
        const f = err instanceof RequestFailure ? err : new RequestFailure('error', String(err));
        stats.failures.push({ kind: f.kind, detail: f.message, at: Date.now() });
      }
    }
  })();
  return {
    stats,
    async stop() {
      running = false;
      await done;
    },
  };
}
