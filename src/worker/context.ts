// What every frontend and connection in a worker shares.
import type { Config } from '../config/types.js';
import type { BackendRuntime } from '../backend/backend-runtime.js';
import type { Logger } from '../observe/logger.js';
import type { AccessLog } from '../observe/access-log.js';
import type { ConnectionRegistry } from './connections.js';
import type { Migrator } from './migrate.js';

/** Counters that are cheapest kept as plain increments on the hot path. */
export interface TrafficCounters {
  accepted: number;
  requests: number;
  status1xx: number;
  status2xx: number;
  status3xx: number;
  status4xx: number;
  status5xx: number;
  retries: number;
  migratedOut: number;
  migratedIn: number;
  bytesIn: number;
  bytesOut: number;
}

export interface WorkerContext {
  readonly config: Config;
  readonly generation: number;
  readonly pid: number;
  readonly backends: ReadonlyMap<string, BackendRuntime>;
  readonly connections: ConnectionRegistry;
  readonly counters: TrafficCounters;
  readonly log: Logger;
  readonly accessLog: AccessLog;
  /** Present when this worker runs under a master that can pass connections on. */
  readonly migrator: Migrator | undefined;
}

export function newTrafficCounters(): TrafficCounters {
  return { accepted: 0, requests: 0, status1xx: 0, status2xx: 0, status3xx: 0, status4xx: 0, status5xx: 0, retries: 0, migratedOut: 0, migratedIn: 0, bytesIn: 0, bytesOut: 0 };
}

/** "1.2.3.4:5678" / "[::1]:5678" for logs. */
export function peerAddress(socket: { remoteAddress?: string | undefined; remotePort?: number | undefined }): string {
  const a = socket.remoteAddress ?? '?';
  return a.includes(':') ? `[${a}]:${socket.remotePort ?? 0}` : `${a}:${socket.remotePort ?? 0}`;
}
