// What every frontend and connection in a worker shares.
import type net from 'node:net';
import type { Config, Frontend } from '../config/types.js';
import type { TcpHandle } from '../lib/node-handles.js';
import type { TunnelResume } from '../protocol/ipc.js';
import type { DeadlineSweeper } from './deadlines.js';
import type { UpstreamPool } from './upstream-pool.js';
import type { BackendRuntime } from '../backend/backend-runtime.js';
import type { Logger } from '../observe/logger.js';
import type { AccessLog } from '../observe/access-log.js';
import type { ConnectionRegistry } from './connections.js';
import type { Migrator } from './migrate.js';
import { durationKey, requestClass } from '../protocol/counters.js';
import { DURATION_BUCKETS, newHistogram, observe, type Histogram } from '../observe/histogram.js';

/** Counters that are cheapest kept as plain increments on the hot path. */
export interface TrafficCounters {
  accepted: number;
  requests: number;
  status1xx: number;
  status2xx: number;
  status3xx: number;
  status4xx: number;
  status5xx: number;
  /** Finished without a status (the client went away before the response). */
  statusOther: number;
  retries: number;
  migratedOut: number;
  migratedIn: number;
  bytesIn: number;
  bytesOut: number;
  /** Request durations by durationKey(frontend, backend, class): keys are bounded by the config's names. */
  readonly requestDuration: Map<string, Histogram>;
  /** Time waited in a backend's queue, by backend name. */
  readonly queueWait: Map<string, Histogram>;
  /** TLS failures by reason (bad-client-hello, client-hello-timeout, server-verify, server-handshake): a handful of keys. */
  readonly tlsFailures: Map<string, number>;
  /** TLS handshakes by "frontend outcome" (outcome: ok or a cause of HANDSHAKE_CAUSES): bounded keys. */
  readonly tls: Map<string, number>;
}

/**
 * One applied config as the worker runs it: the generation number it was applied as, and
 * the backends compiled for it. Frontends compiled for the same config hold it, so an
 * exchange that started under it finishes with its backends and rules (invariant I8);
 * the garbage collector frees it once no connection holds one of its frontends.
 */
export interface ConfigVersion {
  readonly generation: number;
  readonly config: Config;
  /** Filled when the version is committed (backends take over live state at that moment). */
  readonly backends: Map<string, BackendRuntime>;
}

/** A frontend compiled for one ConfigVersion. */
export interface CompiledFrontend {
  readonly config: Frontend;
  readonly version: ConfigVersion;
  /** A client connection accepted on one of its listeners. */
  accept(socket: net.Socket): void;
  /** A tunnel migrated from an older process generation. */
  adoptTunnel(client: TcpHandle, server: TcpHandle, resume: TunnelResume): void;
}

/** What is in force now: swapped in one assignment by a live apply's commit. */
export interface LiveConfig {
  readonly version: ConfigVersion;
  readonly frontends: ReadonlyMap<string, CompiledFrontend>;
}

/** Per worker process, the same across live applies. */
export interface WorkerContext {
  /** The process generation this worker was started as (its command line says so too). */
  readonly processGeneration: number;
  /** The config in force (a live apply replaces it). */
  live: LiveConfig;
  readonly pid: number;
  readonly connections: ConnectionRegistry;
  /** Keep-alive connections to servers, shared by every frontend and config version. */
  readonly pool: UpstreamPool;
  /** One timeout sweep for every connection of the worker. */
  readonly sweeper: DeadlineSweeper;
  readonly counters: TrafficCounters;
  readonly log: Logger;
  readonly accessLog: AccessLog;
  /** Present when this worker runs under a master that can pass connections on. */
  readonly migrator: Migrator | undefined;
}

export function newTrafficCounters(): TrafficCounters {
  return {
    accepted: 0,
    requests: 0,
    status1xx: 0,
    status2xx: 0,
    status3xx: 0,
    status4xx: 0,
    status5xx: 0,
    statusOther: 0,
    retries: 0,
    migratedOut: 0,
    migratedIn: 0,
    bytesIn: 0,
    bytesOut: 0,
    requestDuration: new Map(),
    queueWait: new Map(),
    tlsFailures: new Map(),
    tls: new Map(),
  };
}

/** One TLS failure (passthrough ClientHello refused, TLS to a server failed). */
export function countTlsFailure(c: TrafficCounters, reason: string): void {
  c.tlsFailures.set(reason, (c.tlsFailures.get(reason) ?? 0) + 1);
}

/** A finished HTTP request: its status class and its duration (by frontend, backend, class). */
export function countFinishedRequest(
  c: TrafficCounters,
  frontend: string,
  backend: string | undefined,
  status: number,
  durationMs: number,
): void {
  const cls = requestClass(status);
  if (cls === '5xx') c.status5xx++;
  else if (cls === '4xx') c.status4xx++;
  else if (cls === '3xx') c.status3xx++;
  else if (cls === '2xx') c.status2xx++;
  else if (cls === '1xx') c.status1xx++;
  else c.statusOther++;
  const key = durationKey(frontend, backend, cls);
  let h = c.requestDuration.get(key);
  if (!h) {
    h = newHistogram(DURATION_BUCKETS);
    c.requestDuration.set(key, h);
  }
  observe(h, DURATION_BUCKETS, durationMs / 1000);
}

/** A request (or TCP connection) got a server slot after waiting in `backend`'s queue. */
export function countQueueWait(c: TrafficCounters, backend: string, waitedMs: number): void {
  let h = c.queueWait.get(backend);
  if (!h) {
    h = newHistogram(DURATION_BUCKETS);
    c.queueWait.set(backend, h);
  }
  observe(h, DURATION_BUCKETS, waitedMs / 1000);
}

/** "1.2.3.4:5678" / "[::1]:5678" for logs. */
export function peerAddress(socket: { remoteAddress?: string | undefined; remotePort?: number | undefined }): string {
  const a = socket.remoteAddress ?? '?';
  return a.includes(':') ? `[${a}]:${socket.remotePort ?? 0}` : `${a}:${socket.remotePort ?? 0}`;
}
