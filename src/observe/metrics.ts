// /metrics: the status report in the Prometheus text exposition format (version 0.0.4).
//
// Naming follows Prometheus practice: base units (seconds, bytes), `_total` on counters,
// `handoff_build_info` for the version. Every label takes its values from a fixed set or
// from the config's names (frontends, backends, servers): never a generation number, pid or
// anything else that grows with time; the generations in force are gauges instead.
// Counters come from status.lifetime (src/master/counter-archive.ts): they include the
// workers that exited, so they never go back while the master runs.
import { DURATION_BUCKETS, RELOAD_BUCKETS, histogramCount, type Histogram } from './histogram.js';
import { CONNECTION_STATES, REQUEST_CLASSES } from '../protocol/counters.js';
import type { StatusReport } from '../protocol/control.js';

type Labels = Record<string, string>;
type Sample = [Labels, number];

const GENERATION_STATES = ['starting', 'active', 'draining'] as const;
const WORKER_STATES = ['starting', 'ready', 'draining'] as const;
const OPERATIONAL_STATES = ['up', 'down', 'starting'] as const;
const ADMIN_STATES = ['ready', 'drain', 'maint'] as const;
const RELOAD_KINDS = ['live', 'process', 'unchanged', 'none'] as const;
const RELOAD_OUTCOMES = ['ok', 'failed'] as const;

function labelValue(v: string): string {
  return v.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\n/g, '\\n');
}

function labelText(labels: Labels): string {
  const l = Object.entries(labels)
    .map(([k, v]) => `${k}="${labelValue(v)}"`)
    .join(',');
  return l ? `{${l}}` : '';
}

class Exposition {
  private readonly out: string[] = [];

  family(name: string, type: 'counter' | 'gauge', help: string, samples: readonly Sample[]): void {
    this.out.push(`# HELP ${name} ${help}`, `# TYPE ${name} ${type}`);
    for (const [labels, value] of samples) this.out.push(`${name}${labelText(labels)} ${value}`);
  }

  histogram(name: string, help: string, buckets: readonly number[], series: readonly [Labels, Histogram][]): void {
    this.out.push(`# HELP ${name} ${help}`, `# TYPE ${name} histogram`);
    for (const [labels, h] of series) {
      let cumulative = 0;
      buckets.forEach((le, i) => {
        cumulative += h.counts[i] ?? 0;
        this.out.push(`${name}_bucket${labelText({ ...labels, le: String(le) })} ${cumulative}`);
      });
      const count = histogramCount(h);
      this.out.push(`${name}_bucket${labelText({ ...labels, le: '+Inf' })} ${count}`);
      this.out.push(`${name}_sum${labelText(labels)} ${h.sum}`);
      this.out.push(`${name}_count${labelText(labels)} ${count}`);
    }
  }

  text(): string {
    return `${this.out.join('\n')}\n`;
  }
}

/** The active generation's numbers (0 before the first one is active). */
export function activeGenerations(r: StatusReport): { process: number; config: number } {
  const g = r.generations.find((x) => x.state === 'active');
  return { process: g?.number ?? 0, config: g?.configGeneration ?? 0 };
}

/** Seconds since the oldest generation still alive was told to drain; 0 when none drains. */
export function oldestDrainingAgeSeconds(r: StatusReport, now = Date.now()): number {
  let oldest: number | undefined;
  for (const g of r.generations) {
    if (g.state !== 'draining' || g.workers.length === 0 || g.drainStartedAt === undefined) continue;
    oldest = oldest === undefined ? g.drainStartedAt : Math.min(oldest, g.drainStartedAt);
  }
  return oldest === undefined ? 0 : Math.max(0, (now - oldest) / 1000);
}

export function renderMetrics(r: StatusReport, now = Date.now()): string {
  const x = new Exposition();
  const t = r.lifetime;
  const alive = r.generations.filter((g) => g.workers.length > 0);
  const active = activeGenerations(r);

  // ---- the master and its generations
  x.family('handoff_build_info', 'gauge', 'Always 1; the handoff version and the Node.js version the master runs.', [
    [{ version: r.master.version, node: r.master.node }, 1],
  ]);
  x.family('handoff_start_time_seconds', 'gauge', 'When the master started, in seconds since the epoch.', [
    [{}, r.master.startedAt / 1000],
  ]);
  x.family('handoff_ready', 'gauge', '1 while the master serves (stats /ready answers 200), 0 from the moment a stop begins.', [
    [{}, r.master.state === 'running' ? 1 : 0],
  ]);
  x.family('handoff_master_resident_memory_bytes', 'gauge', 'Resident memory of the master process.', [[{}, r.master.memory.rss]]);
  x.family('handoff_config_generation', 'gauge', 'Generation number of the config in force (each applied config takes the next one).', [
    [{}, active.config],
  ]);
  x.family('handoff_process_generation', 'gauge', 'Generation number of the active worker processes (raised by process reloads only).', [
    [{}, active.process],
  ]);
  x.family(
    'handoff_generations',
    'gauge',
    'Process generations with workers alive, by state.',
    GENERATION_STATES.map((s) => [{ state: s }, alive.filter((g) => g.state === s).length]),
  );
  x.family(
    'handoff_workers',
    'gauge',
    'Worker processes alive, by state.',
    WORKER_STATES.map((s) => [{ state: s }, alive.reduce((n, g) => n + g.workers.filter((w) => w.state === s).length, 0)]),
  );
  x.family(
    'handoff_oldest_draining_process_age_seconds',
    'gauge',
    'Seconds since the oldest generation still alive was told to drain; 0 when none drains.',
    [[{}, oldestDrainingAgeSeconds(r, now)]],
  );

  // ---- reloads
  const reloadCount = (kind: string, outcome: string) =>
    r.reloadTotals.byKindOutcome.find((e) => e.kind === kind && e.outcome === outcome)?.count ?? 0;
  x.family(
    'handoff_reloads_total',
    'counter',
    'Reloads since the master started, by kind (live, process, unchanged; none: failed before a kind was chosen) and outcome.',
    RELOAD_KINDS.flatMap((kind) => RELOAD_OUTCOMES.map((outcome): Sample => [{ kind, outcome }, reloadCount(kind, outcome)])),
  );
  x.histogram(
    'handoff_reload_duration_seconds',
    'Reload durations, from the request to the new config in force (or the failure), by kind.',
    RELOAD_BUCKETS,
    Object.entries(r.reloadTotals.duration).map(([kind, h]) => [{ kind }, h]),
  );
  x.family(
    'handoff_last_reload_success_timestamp_seconds',
    'gauge',
    'When the last successful reload finished (the start counts as one), in seconds since the epoch.',
    [[{}, r.reloadTotals.lastSuccessAt / 1000]],
  );
  x.family('handoff_last_reload_successful', 'gauge', '1 if the last reload succeeded, 0 if it failed.', [
    [{}, r.reloadTotals.lastFailureAt !== undefined && r.reloadTotals.lastFailureAt > r.reloadTotals.lastSuccessAt ? 0 : 1],
  ]);

  // ---- traffic
  x.family(
    'handoff_connections',
    'gauge',
    'Client connections open now, by state.',
    CONNECTION_STATES.map((s) => [{ state: s }, r.totals.connections[s] ?? 0]),
  );
  x.family('handoff_connections_accepted_total', 'counter', 'Client connections accepted.', [[{}, t.accepted]]);
  x.family(
    'handoff_requests_total',
    'counter',
    'HTTP requests finished, by status class (other: no status was sent).',
    REQUEST_CLASSES.map((c) => [{ class: c }, t.requests[c]]),
  );
  x.histogram(
    'handoff_request_duration_seconds',
    'HTTP request durations, from the request head to the end of the response, by frontend, backend ("" when none was chosen) and status class.',
    DURATION_BUCKETS,
    t.requestDuration.map((d) => [{ frontend: d.frontend, backend: d.backend, class: d.class }, d.histogram]),
  );
  x.family('handoff_retries_total', 'counter', 'Requests retried on another server.', [[{}, t.retries]]);
  x.family(
    'handoff_tls_failures_total',
    'counter',
    'TLS failures: ClientHellos refused by a passthrough frontend (bad-client-hello, client-hello-timeout), TLS to servers failed (server-verify, server-handshake).',
    Object.entries(t.tlsFailures ?? {}).map(([reason, n]) => [{ reason }, n]),
  );
  x.family('handoff_migrated_connections_total', 'counter', 'Connections handed from a draining generation to the active one.', [
    [{}, t.migratedIn],
  ]);
  x.family('handoff_client_received_bytes_total', 'counter', 'Bytes received from clients (HTTP requests, TCP tunnels).', [
    [{}, t.bytesIn],
  ]);
  x.family('handoff_client_sent_bytes_total', 'counter', 'Bytes sent to clients (HTTP responses, TCP tunnels).', [[{}, t.bytesOut]]);
  x.family(
    'handoff_log_lines_dropped_total',
    'counter',
    'Log lines lost because the reader stalled (bounded buffer full) or a write failed, by log.',
    [
      [{ log: 'access' }, r.totals.logDropped.access],
      [{ log: 'operational' }, r.totals.logDropped.operational],
    ],
  );

  // ---- backends and servers
  const backendNames = [...new Set([...Object.keys(r.backends), ...Object.keys(t.backends)])].sort();
  const bt = (b: string) => t.backends[b];
  x.family(
    'handoff_backend_queue_length',
    'gauge',
    'Requests waiting for a server slot now.',
    Object.entries(r.backends).map(([b, bc]) => [{ backend: b }, bc.queue]),
  );
  x.family(
    'handoff_backend_queued_total',
    'counter',
    'Requests that had to wait in the backend queue.',
    backendNames.map((b) => [{ backend: b }, bt(b)?.queued ?? 0]),
  );
  x.family(
    'handoff_backend_queue_rejected_total',
    'counter',
    'Queued requests turned away, by reason (timeout: timeouts.queue passed; full: maxqueue; client-abort: the client left).',
    backendNames.flatMap((b): Sample[] => [
      [{ backend: b, reason: 'timeout' }, bt(b)?.queueTimeouts ?? 0],
      [{ backend: b, reason: 'full' }, bt(b)?.queueFull ?? 0],
      [{ backend: b, reason: 'client-abort' }, bt(b)?.queueAborted ?? 0],
    ]),
  );
  x.histogram(
    'handoff_backend_queue_wait_seconds',
    'Time spent in the backend queue by requests (and TCP connections) that waited for a server slot and got one.',
    DURATION_BUCKETS,
    t.queueWait.map((w) => [{ backend: w.backend }, w.histogram]),
  );
  x.family(
    'handoff_backend_no_server_total',
    'counter',
    'Requests refused because no server of the backend was usable.',
    backendNames.map((b) => [{ backend: b }, bt(b)?.noServer ?? 0]),
  );

  const active_: Sample[] = [];
  const up: Sample[] = [];
  const state: Sample[] = [];
  const admin: Sample[] = [];
  for (const [b, bc] of Object.entries(r.backends)) {
    for (const [s, sc] of Object.entries(bc.servers)) {
      const l = { backend: b, server: s };
      active_.push([l, sc.active]);
      up.push([l, sc.operational === 'up' ? 1 : 0]);
      for (const st of OPERATIONAL_STATES) state.push([{ ...l, state: st }, sc.operational === st ? 1 : 0]);
      for (const st of ADMIN_STATES) admin.push([{ ...l, state: st }, sc.admin === st ? 1 : 0]);
    }
  }
  x.family('handoff_server_up', 'gauge', '1 when the server is up (health), else 0.', up);
  x.family('handoff_server_state', 'gauge', 'The server operational state: 1 for the current one of up, down, starting.', state);
  x.family('handoff_server_admin_state', 'gauge', 'The server admin state: 1 for the current one of ready, drain, maint.', admin);
  x.family('handoff_server_active_requests', 'gauge', 'Requests (or TCP connections) in flight to the server now.', active_);
  const serverCounter = (field: 'requests' | 'connectFailures'): Sample[] =>
    backendNames.flatMap((b) => Object.entries(bt(b)?.servers ?? {}).map(([s, sc]): Sample => [{ backend: b, server: s }, sc[field]]));
  x.family('handoff_server_requests_total', 'counter', 'Requests (or TCP connections) sent to the server.', serverCounter('requests'));
  x.family('handoff_server_connect_failures_total', 'counter', 'Connections to the server that failed.', serverCounter('connectFailures'));

  // ---- TLS (issue 11)
  x.family(
    'handoff_tls_certificate_expiry_seconds',
    'gauge',
    'Seconds until the certificate expires (negative once expired), by frontend and certificate file name.',
    (r.tls ?? []).map((c) => [{ frontend: c.frontend, cert: c.cert }, Math.round((c.notAfter - now) / 1000)]),
  );
  x.family(
    'handoff_tls_handshakes_total',
    'counter',
    'TLS handshakes on frontends with tls, by outcome (ok, or why it failed: timeout, plain-http, protocol-version, no-shared-cipher, client-certificate, closed, other).',
    (t.tls ?? []).map((e) => [{ frontend: e.frontend, outcome: e.outcome }, e.count]),
  );
  return x.text();
}
