// Counters a worker reports and the master aggregates (status, stats page, metrics).
// Plain numbers only, so aggregation is a sum. Some are gauges (connections by state, queue
// length, active requests: what is true now); the rest only grow in a worker's life, and
// the master keeps them after the worker exits (src/master/counter-archive.ts) through the
// flat form below (counterVector / inflateTotals).
import { DURATION_BUCKETS, newHistogram, type Histogram } from '../observe/histogram.js';

/** Where a client connection is in its life; HTTP states plus tunnels (TCP mode, Upgrade). */
export type ConnectionState = 'reading' | 'waiting' | 'writing' | 'idle' | 'tunnel' | 'closing';

export const CONNECTION_STATES: readonly ConnectionState[] = ['reading', 'waiting', 'writing', 'idle', 'tunnel', 'closing'];

export interface ServerCounters {
  operational: string;
  admin: string;
  active: number;
  requests: number;
  connectFailures: number;
}

export interface BackendCounters {
  /** Gauge: requests waiting now. */
  queue: number;
  /** Requests that had to wait, and how waits ended badly (timeout, queue full, client gone). */
  queued: number;
  queueTimeouts: number;
  queueFull: number;
  queueAborted: number;
  /** Requests refused because no server was usable. */
  noServer: number;
  servers: Record<string, ServerCounters>;
}

/** Status classes of answered requests; `other`: no status sent (the client went away first, a tunnel). */
export type RequestClass = '1xx' | '2xx' | '3xx' | '4xx' | '5xx' | 'other';
export const REQUEST_CLASSES: readonly RequestClass[] = ['1xx', '2xx', '3xx', '4xx', '5xx', 'other'];

export function requestClass(status: number): RequestClass {
  if (status >= 600 || status < 100) return 'other';
  return `${Math.floor(status / 100)}xx` as RequestClass;
}

/** Key of a request-duration histogram: "frontend backend class" (names never hold a space; backend '' when none). */
export function durationKey(frontend: string, backend: string | undefined, cls: RequestClass): string {
  return `${frontend} ${backend ?? ''} ${cls}`;
}

export interface WorkerCounters {
  pid: number;
  /** The process generation the worker was started as. */
  generation: number;
  /** The generation of the config it runs now (a live apply raises it; the process stays). */
  configGeneration: number;
  accepted: number;
  connections: Record<ConnectionState, number>;
  /** total counts requests started; the classes count requests finished. */
  requests: { total: number } & Record<RequestClass, number>;
  retries: number;
  migratedOut: number;
  migratedIn: number;
  bytesIn: number;
  bytesOut: number;
  /** Log lines this process could not write (buffer full while the reader stalled, or a write error). */
  logDropped: LogDropped;
  backends: Record<string, BackendCounters>;
  /** Request durations (DURATION_BUCKETS) by durationKey(frontend, backend, class). */
  requestDuration: Record<string, Histogram>;
  /** Time spent in a backend's queue by requests that waited (DURATION_BUCKETS), by backend. */
  queueWait: Record<string, Histogram>;
  /** TLS failures by reason (passthrough ClientHello refused, TLS to a server failed). */
  tlsFailures?: Record<string, number>;
  /** TLS handshakes by "frontend outcome" (ok, or a failure cause: src/tls/handshake-failures.ts). */
  tls?: Record<string, number>;
}

export interface LogDropped {
  access: number;
  operational: number;
}

export function emptyCounters(pid: number, generation: number): WorkerCounters {
  return {
    pid,
    generation,
    configGeneration: generation,
    accepted: 0,
    connections: { reading: 0, waiting: 0, writing: 0, idle: 0, tunnel: 0, closing: 0 },
    requests: { total: 0, '1xx': 0, '2xx': 0, '3xx': 0, '4xx': 0, '5xx': 0, other: 0 },
    retries: 0,
    migratedOut: 0,
    migratedIn: 0,
    bytesIn: 0,
    bytesOut: 0,
    logDropped: { access: 0, operational: 0 },
    backends: {},
    requestDuration: {},
    queueWait: {},
  };
}

/** Sum of several workers' gauges and counters (server states: the first worker's, they share the master's health). */
export function sumCounters(all: readonly WorkerCounters[]): Omit<WorkerCounters, 'pid' | 'generation' | 'configGeneration'> {
  const total = emptyCounters(0, 0);
  for (const c of all) {
    total.accepted += c.accepted;
    for (const k of Object.keys(total.connections) as ConnectionState[]) total.connections[k] += c.connections[k] ?? 0;
    for (const k of Object.keys(total.requests) as (keyof WorkerCounters['requests'])[]) total.requests[k] += c.requests[k] ?? 0;
    total.retries += c.retries;
    total.migratedOut += c.migratedOut;
    total.migratedIn += c.migratedIn;
    total.bytesIn += c.bytesIn;
    total.bytesOut += c.bytesOut;
    total.logDropped.access += c.logDropped?.access ?? 0;
    total.logDropped.operational += c.logDropped?.operational ?? 0;
    for (const [name, b] of Object.entries(c.backends)) {
      total.backends[name] ??= {
        queue: 0,
        queued: 0,
        queueTimeouts: 0,
        queueFull: 0,
        queueAborted: 0,
        noServer: 0,
        servers: {},
      };
      const t = total.backends[name];
      t.queue += b.queue;
      t.queued += b.queued ?? 0;
      t.queueTimeouts += b.queueTimeouts ?? 0;
      t.queueFull += b.queueFull ?? 0;
      t.queueAborted += b.queueAborted ?? 0;
      t.noServer += b.noServer ?? 0;
      for (const [sname, s] of Object.entries(b.servers)) {
        t.servers[sname] ??= { operational: s.operational, admin: s.admin, active: 0, requests: 0, connectFailures: 0 };
        const ts = t.servers[sname];
        ts.active += s.active;
        ts.requests += s.requests;
        ts.connectFailures += s.connectFailures;
      }
    }
  }
  const { pid: _pid, generation: _gen, configGeneration: _cg, ...rest } = total;
  return rest;
}

// ---- the counters that only grow, flat --------------------------------------------------------

/**
 * The counters of one worker that only grow during its life, as key → value. Keys are
 * words separated by spaces (config names never hold one). Flat, so that the master can
 * sum any number of workers and detect a counter that went back (a server removed and
 * added again by live applies restarts its count in a worker) without knowing the shape.
 */
export type CounterVector = Map<string, number>;

export function counterVector(c: WorkerCounters): CounterVector {
  const v: CounterVector = new Map();
  const put = (k: string, n: number | undefined) => {
    if (typeof n === 'number' && Number.isFinite(n) && n !== 0) v.set(k, n);
  };
  put('accepted', c.accepted);
  put('retries', c.retries);
  put('migratedIn', c.migratedIn);
  put('migratedOut', c.migratedOut);
  put('bytesIn', c.bytesIn);
  put('bytesOut', c.bytesOut);
  for (const cls of REQUEST_CLASSES) put(`requests ${cls}`, c.requests[cls]);
  put('logDropped access', c.logDropped?.access);
  put('logDropped operational', c.logDropped?.operational);
  for (const [reason, n] of Object.entries(c.tlsFailures ?? {})) put(`tlsFailures ${reason}`, n);
  const hist = (prefix: string, h: Histogram) => {
    for (const [i, n] of h.counts.entries()) put(`${prefix} ${i}`, n);
    put(`${prefix} sum`, h.sum);
  };
  for (const [k, h] of Object.entries(c.requestDuration ?? {})) hist(`duration ${k}`, h);
  for (const [b, h] of Object.entries(c.queueWait ?? {})) hist(`queueWait ${b}`, h);
  for (const [k, n] of Object.entries(c.tls ?? {})) put(`tls ${k}`, n);
  for (const [b, bc] of Object.entries(c.backends)) {
    put(`backend ${b} queued`, bc.queued);
    put(`backend ${b} queueTimeouts`, bc.queueTimeouts);
    put(`backend ${b} queueFull`, bc.queueFull);
    put(`backend ${b} queueAborted`, bc.queueAborted);
    put(`backend ${b} noServer`, bc.noServer);
    for (const [s, sc] of Object.entries(bc.servers)) {
      put(`server ${b} ${s} requests`, sc.requests);
      put(`server ${b} ${s} connectFailures`, sc.connectFailures);
    }
  }
  return v;
}

export interface BackendTotals {
  queued: number;
  queueTimeouts: number;
  queueFull: number;
  queueAborted: number;
  noServer: number;
  servers: Record<string, { requests: number; connectFailures: number }>;
}

/** Every counter since the master started: the workers alive and every worker that exited. */
export interface LifetimeTotals {
  accepted: number;
  retries: number;
  migratedIn: number;
  migratedOut: number;
  bytesIn: number;
  bytesOut: number;
  requests: Record<RequestClass, number>;
  logDropped: LogDropped;
  requestDuration: { frontend: string; backend: string; class: RequestClass; histogram: Histogram }[];
  queueWait: { backend: string; histogram: Histogram }[];
  backends: Record<string, BackendTotals>;
  /** TLS failures by reason. */
  tlsFailures: Record<string, number>;
  /** TLS handshakes by frontend and outcome (ok or a failure cause). */
  tls: { frontend: string; outcome: string; count: number }[];
}

/** The structured form of a (summed) CounterVector. */
export function inflateTotals(v: CounterVector): LifetimeTotals {
  const t: LifetimeTotals = {
    accepted: v.get('accepted') ?? 0,
    retries: v.get('retries') ?? 0,
    migratedIn: v.get('migratedIn') ?? 0,
    migratedOut: v.get('migratedOut') ?? 0,
    bytesIn: v.get('bytesIn') ?? 0,
    bytesOut: v.get('bytesOut') ?? 0,
    requests: Object.fromEntries(REQUEST_CLASSES.map((c) => [c, v.get(`requests ${c}`) ?? 0])) as Record<RequestClass, number>,
    logDropped: { access: v.get('logDropped access') ?? 0, operational: v.get('logDropped operational') ?? 0 },
    requestDuration: [],
    queueWait: [],
    backends: {},
    tlsFailures: {},
    tls: [],
  };
  const durations = new Map<string, Histogram>();
  const waits = new Map<string, Histogram>();
  const backend = (b: string) =>
    (t.backends[b] ??= { queued: 0, queueTimeouts: 0, queueFull: 0, queueAborted: 0, noServer: 0, servers: {} });
  const bucket = (m: Map<string, Histogram>, key: string, slot: string, n: number) => {
    const h = m.get(key) ?? newHistogram(DURATION_BUCKETS);
    m.set(key, h);
    if (slot === 'sum') h.sum += n;
    else h.counts[Number(slot)] = (h.counts[Number(slot)] ?? 0) + n;
  };
  for (const [k, n] of v) {
    const w = k.split(' ');
    switch (w[0]) {
      case 'duration':
        bucket(durations, `${w[1]} ${w[2]} ${w[3]}`, w[4]!, n);
        break;
      case 'queueWait':
        bucket(waits, w[1]!, w[2]!, n);
        break;
      case 'tlsFailures':
        t.tlsFailures[w[1]!] = (t.tlsFailures[w[1]!] ?? 0) + n;
        break;
      case 'tls':
        t.tls.push({ frontend: w[1]!, outcome: w[2]!, count: n });
        break;
      case 'backend': {
        const b = backend(w[1]!);
        const field = w[2] as Exclude<keyof BackendTotals, 'servers'>;
        if (field in b) b[field] += n;
        break;
      }
      case 'server': {
        const servers = backend(w[1]!).servers;
        servers[w[2]!] ??= { requests: 0, connectFailures: 0 };
        const s = servers[w[2]!]!;
        if (w[3] === 'requests') s.requests += n;
        else if (w[3] === 'connectFailures') s.connectFailures += n;
        break;
      }
    }
  }
  for (const [k, histogram] of durations) {
    const [frontend, backendName, cls] = k.split(' ') as [string, string, RequestClass];
    t.requestDuration.push({ frontend, backend: backendName, class: cls, histogram });
  }
  for (const [b, histogram] of waits) t.queueWait.push({ backend: b, histogram });
  return t;
}
