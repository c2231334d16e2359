// Counters a worker reports and the master aggregates (status, stats page, metrics).
// Plain numbers only, so aggregation is a sum.

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
  queue: number;
  servers: Record<string, ServerCounters>;
}

export interface WorkerCounters {
  pid: number;
  /** The process generation the worker was started as. */
  generation: number;
  /** The generation of the config it runs now (a live apply raises it; the process stays). */
  configGeneration: number;
  accepted: number;
  connections: Record<ConnectionState, number>;
  requests: { total: number; '1xx': number; '2xx': number; '3xx': number; '4xx': number; '5xx': number };
  retries: number;
  migratedOut: number;
  migratedIn: number;
  bytesIn: number;
  bytesOut: number;
  /** Log lines this process could not write (buffer full while the reader stalled, or a write error). */
  logDropped: LogDropped;
  backends: Record<string, BackendCounters>;
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
    requests: { total: 0, '1xx': 0, '2xx': 0, '3xx': 0, '4xx': 0, '5xx': 0 },
    retries: 0,
    migratedOut: 0,
    migratedIn: 0,
    bytesIn: 0,
    bytesOut: 0,
    logDropped: { access: 0, operational: 0 },
    backends: {},
  };
}

/** Sum of several workers' counters (server states: the first worker's, they share the master's health). */
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
      const t = (total.backends[name] ??= { queue: 0, servers: {} });
      t.queue += b.queue;
      for (const [sname, s] of Object.entries(b.servers)) {
        const ts = (t.servers[sname] ??= { operational: s.operational, admin: s.admin, active: 0, requests: 0, connectFailures: 0 });
        ts.active += s.active;
        ts.requests += s.requests;
        ts.connectFailures += s.connectFailures;
      }
    }
  }
  const { pid: _pid, generation: _gen, configGeneration: _cg, ...rest } = total;
  return rest;
}
