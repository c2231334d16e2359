// The stats listener (`stats.bind`), served by the master from the counters it aggregates:
//   /             a small HTML page
//   /status.json  the same report as `handoff status --json`
//   /metrics      Prometheus text format
// Node's http module is fine here: this is not the data path. The listener is bounded so
// that a flood of connections cannot take the master's file descriptors (which it needs to
// start workers): at most STATS_MAXCONN connections (the kernel hands the master more, it
// closes them at once), and a connection that does not send a complete request head
// within STATS_IDLE_TIMEOUT_MS, or sits idle that long, is closed.
import http from 'node:http';
import type { SocketAddress } from '../config/types.js';
import { createLogger, type Logger } from './logger.js';
import type { StatusReport } from '../protocol/control.js';

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
      const report = await this.status();
      if (path === '/status.json') {
        res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(report, null, 2) + '\n');
      } else if (path === '/metrics') {
        res.writeHead(200, { 'content-type': 'text/plain; version=0.0.4' }).end(renderMetrics(report));
      } else if (path === '/') {
        res.writeHead(200, { 'content-type': 'text/html; charset=utf-8' }).end(renderPage(report));
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

function esc(s: string): string {
  return s.replace(/[&<>"]/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;' })[c]!);
}

function label(v: string): string {
  return v.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\n/g, '\\n');
}

export function renderMetrics(r: StatusReport): string {
  const out: string[] = [];
  const metric = (name: string, type: 'counter' | 'gauge', help: string, samples: [Record<string, string>, number][]) => {
    out.push(`# HELP ${name} ${help}`, `# TYPE ${name} ${type}`);
    for (const [labels, value] of samples) {
      const l = Object.entries(labels).map(([k, v]) => `${k}="${label(v)}"`).join(',');
      out.push(`${name}${l ? `{${l}}` : ''} ${value}`);
    }
  };
  metric('handoff_requests_total', 'counter', 'HTTP requests answered, by status class (workers alive now).', Object.entries(r.totals.byClass).map(([k, v]) => [{ class: k }, v]));
  metric('handoff_connections', 'gauge', 'Client connections by state.', Object.entries(r.totals.connections).map(([k, v]) => [{ state: k }, v]));
  metric('handoff_connections_accepted_total', 'counter', 'Client connections accepted.', [[{}, r.totals.accepted]]);
  metric('handoff_retries_total', 'counter', 'Requests retried on another server.', [[{}, r.totals.retries]]);
  metric('handoff_migrated_connections_total', 'counter', 'Connections handed from a draining generation to the active one.', [[{}, r.totals.migratedIn]]);
  metric('handoff_log_lines_dropped_total', 'counter', 'Log lines lost because the reader stalled (bounded buffer full) or a write failed, by log.', Object.entries(r.totals.logDropped ?? {}).map(([k, v]) => [{ log: k }, v]));
  metric('handoff_generations', 'gauge', 'Generations alive, by state.', countBy(r.generations.filter((g) => g.workers.length > 0).map((g) => g.state)));
  metric('handoff_workers', 'gauge', 'Worker processes alive, by generation.', r.generations.filter((g) => g.workers.length > 0).map((g) => [{ generation: String(g.number) }, g.workers.length]));
  metric('handoff_reloads_total', 'counter', 'Reloads by outcome (recent history).', countBy(r.reloads.map((x) => x.outcome)));
  const queue: [Record<string, string>, number][] = [];
  const active: [Record<string, string>, number][] = [];
  const up: [Record<string, string>, number][] = [];
  for (const [b, bc] of Object.entries(r.backends)) {
    queue.push([{ backend: b }, bc.queue]);
    for (const [s, sc] of Object.entries(bc.servers)) {
      active.push([{ backend: b, server: s }, sc.active]);
      up.push([{ backend: b, server: s }, sc.operational === 'up' ? 1 : 0]);
    }
  }
  metric('handoff_backend_queue', 'gauge', 'Requests waiting for a server slot.', queue);
  metric('handoff_server_active', 'gauge', 'Requests or connections in flight to a server.', active);
  metric('handoff_server_up', 'gauge', 'Server operational state is up.', up);
  return out.join('\n') + '\n';
}

function countBy(values: string[]): [Record<string, string>, number][] {
  const m = new Map<string, number>();
  for (const v of values) m.set(v, (m.get(v) ?? 0) + 1);
  return [...m].map(([k, n]) => [{ state: k }, n]);
}

function renderPage(r: StatusReport): string {
  const rows = r.generations
    .map((g) => `<tr><td>${g.number}</td><td>${g.state}</td><td>${g.configHash}</td><td>${g.workers.map((w) => w.pid).join(', ')}</td></tr>`)
    .join('');
  const servers = Object.entries(r.backends)
    .flatMap(([b, bc]) => Object.entries(bc.servers).map(([s, sc]) => `<tr><td>${esc(b)}</td><td>${esc(s)}</td><td>${sc.operational}/${sc.admin}</td><td>${sc.active}</td><td>${sc.requests}</td><td>${bc.queue}</td></tr>`))
    .join('');
  return `<!doctype html><meta charset="utf-8"><title>handoff</title>
<style>body{font:14px system-ui;margin:2em}table{border-collapse:collapse;margin-bottom:2em}td,th{border:1px solid #ccc;padding:4px 8px;text-align:left}</style>
<h1>handoff ${esc(r.master.version)}</h1>
<p>master pid ${r.master.pid}, config ${esc(r.master.configFile)}; requests ${r.totals.requests}; migrated ${r.totals.migratedIn}</p>
<h2>Generations</h2><table><tr><th>#</th><th>state</th><th>config</th><th>workers</th></tr>${rows}</table>
<h2>Servers</h2><table><tr><th>backend</th><th>server</th><th>state</th><th>active</th><th>requests</th><th>queue</th></tr>${servers}</table>
<p><a href="/status.json">status.json</a> · <a href="/metrics">metrics</a></p>\n`;
}
