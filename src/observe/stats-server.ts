// The stats listener (`stats.bind`), served by the master from the counters it aggregates:
//   /             the stats page: live, read-only (stats-page.ts)
//   /status.json  the same report as `handoff status --json`
//   /metrics      Prometheus text format (metrics.ts)
//   /ready        200 while the master serves; 503 from the moment a stop begins (for a load
//                 balancer in front: it stops sending before the listeners close)
//   /live         200 while the master runs (its event loop answers)
// /ready and /live never ask the workers anything: they answer at once.
// Node's http module is fine here: this is not the data path. The listener is bounded so
// that a flood of connections cannot take the master's file descriptors (which it needs to
// start workers): at most STATS_MAXCONN connections (the kernel hands the master more, it
// closes them at once), and a connection that does not send a complete request head
// within STATS_IDLE_TIMEOUT_MS, or sits idle that long, is closed.
import http from 'node:http';
import type { SocketAddress } from '../config/types.js';
import { createLogger, type Logger } from './logger.js';
import type { StatusReport } from '../protocol/control.js';
import { renderMetrics } from './metrics.js';
import { STATS_PAGE, STATS_PAGE_HEADERS } from './stats-page.js';

/** Connections the stats listener holds at once. */
export const STATS_MAXCONN = 64;
/** A stats connection that sends no complete request head, or idles, this long is closed. */
export const STATS_IDLE_TIMEOUT_MS = 10_000;
/** After a response, a keep-alive connection waits this long for the next request. */
const STATS_KEEPALIVE_MS = 5_000;

export class StatsServer {
  private server: http.Server | undefined;

  constructor(
    private readonly bind: SocketAddress,
    private readonly status: () => Promise<StatusReport>,
    /** True while the master serves (state running). */
    private readonly ready: () => boolean,
    private readonly log: Logger = createLogger('stats'),
  ) {}

  async start(): Promise<void> {
    const server = http.createServer(
      // Node checks the head and request timeouts every connectionsCheckingInterval (30 s by default).
      { headersTimeout: STATS_IDLE_TIMEOUT_MS, requestTimeout: STATS_IDLE_TIMEOUT_MS, connectionsCheckingInterval: 1000 },
      (req, res) => void this.handle(req, res),
    );
    server.keepAliveTimeout = STATS_KEEPALIVE_MS;
    server.timeout = STATS_IDLE_TIMEOUT_MS; // inactivity: the socket is destroyed
    server.maxConnections = STATS_MAXCONN;
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen({ host: this.bind.host, port: this.bind.port, ipv6Only: this.bind.family === 6 }, () => {
        server.off('error', reject);
        resolve();
      });
    });
    // accept() errors (EMFILE at the fd limit) must not end the master: the listener goes on.
    server.on('error', (err) => this.log.warn('stats listener error', { error: err.message }));
    server.on('clientError', (_err, socket) => socket.destroy());
    this.server = server;
  }

  private async handle(req: http.IncomingMessage, res: http.ServerResponse) {
    const path = (req.url ?? '/').split('?')[0];
    try {
      if (req.method !== 'GET' && req.method !== 'HEAD') {
        res.writeHead(405, { allow: 'GET, HEAD' }).end();
        return;
      }
      const plain = { 'content-type': 'text/plain; charset=utf-8', 'cache-control': 'no-store' };
      if (path === '/ready') {
        const ready = this.ready();
        res.writeHead(ready ? 200 : 503, plain).end(ready ? 'ready\n' : 'not ready: stopping\n');
      } else if (path === '/live') {
        res.writeHead(200, plain).end('live\n');
      } else if (path === '/') {
        res.writeHead(200, STATS_PAGE_HEADERS).end(STATS_PAGE);
      } else if (path === '/status.json') {
        const report = await this.status();
        res.writeHead(200, { 'content-type': 'application/json', 'cache-control': 'no-store' }).end(`${JSON.stringify(report, null, 2)}\n`);
      } else if (path === '/metrics') {
        const report = await this.status();
        res
          .writeHead(200, { 'content-type': 'text/plain; version=0.0.4; charset=utf-8', 'cache-control': 'no-store' })
          .end(renderMetrics(report));
      } else {
        res.writeHead(404, { 'content-type': 'text/plain' }).end('not found\n');
      }
    } catch (err) {
      res.writeHead(500, { 'content-type': 'text/plain' }).end(`${(err as Error).message}\n`);
    }
  }

  async close(): Promise<void> {
    const s = this.server;
    this.server = undefined;
    if (!s) return;
    s.closeAllConnections();
    await new Promise<void>((resolve) => s.close(() => resolve()));
  }
}
