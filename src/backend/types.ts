// The contract between the proxying code (worker frontends) and the backend runtime.
// Configuration (src/config/types.ts: Backend, Server) is what the user wrote; the
// runtime types here hold live state: health, load, queue.
import type { AdminState, Server } from '../config/types.js';

export type OperationalState = 'up' | 'down' | 'starting';

/** Why a server's state changed; logged with every change. */
export type StateCause =
  | { readonly kind: 'config' } // initial state from the config / a new server
  | { readonly kind: 'snapshot' } // imported from the previous generation's health state
  | { readonly kind: 'check'; readonly detail: string } // active health check (e.g. "connect ECONNREFUSED", "status 500")
  | { readonly kind: 'passive'; readonly detail: string } // consecutive connection failures seen by traffic
  | { readonly kind: 'admin'; readonly detail: string }; // the configured admin state changed (a live apply; detail 'config')

export interface StateChange {
  readonly backend: string;
  readonly server: string;
  readonly address: string; // SocketAddress.key
  readonly from: { readonly operational: OperationalState; readonly admin: AdminState };
  readonly to: { readonly operational: OperationalState; readonly admin: AdminState };
  readonly cause: StateCause;
  readonly at: number; // Date.now()
}

/** Live view of one server, as the proxying code and balancers see it. */
export interface ServerState {
  readonly config: Server;
  readonly backend: string;
  readonly operational: OperationalState;
  readonly admin: AdminState;
  /** Requests/connections currently holding a slot on this server (in this process). */
  readonly active: number;
  /** Removed from the config by a live apply (in-flight requests finish; nothing new, no pooling). */
  readonly retired: boolean;
  /** True when this server may take a new request now: up (or starting with no checks), admin ready, weight > 0, and below maxconn. */
  available(): boolean;
  /** True when up, admin ready and weight > 0, regardless of maxconn (a candidate worth queueing for). */
  usable(): boolean;
}

/** What a balancer needs to pick servers for one request. */
export interface SelectionContext {
  /** Client IP address (for `source`). */
  readonly clientAddress: string;
  /** Request path (for `uri`); empty for TCP. */
  readonly uri: string;
}

/** A held slot on a server: one in-flight request or TCP connection. Release exactly once. */
export interface Slot {
  readonly server: ServerState;
  /** Milliseconds this request waited in the backend queue before getting the slot. */
  readonly queuedMs: number;
  /** Give the slot back; wakes the next queued request. Idempotent. */
  release(): void;
  /** The connection to the server failed before any byte was sent (feeds passive health). */
  connectFailed(detail: string): void;
  /** The connection to the server succeeded (resets the passive failure count). */
  connectSucceeded(): void;
}

/** Key of a server in a health snapshot: survives reloads as long as name and address stay. */
export type HealthKey = string; // `${backend}/${server}@${address}`

export interface HealthSnapshot {
  readonly servers: Readonly<
    Record<HealthKey, { readonly operational: OperationalState; readonly admin?: AdminState; readonly since: number }>
  >;
}

/** Where a health decision is applied: a BackendRuntime in a worker, or a forwarder in the master. */
export interface HealthTarget {
  /** Set the server's operational state; unknown keys are ignored. */
  applyState(key: HealthKey, operational: OperationalState, cause: StateCause): unknown;
  /** The server's current operational state, when the target holds it (so passive failures and snapshots count). */
  currentState?(key: HealthKey): OperationalState | undefined;
}

export interface ServerCounters {
  /** Slots handed out (requests or TCP connections sent to this server). */
  readonly requests: number;
  /** Connection attempts reported failed through Slot.connectFailed. */
  readonly connectFailures: number;
  /** Changes of operational or admin state. */
  readonly stateChanges: number;
}

export interface ServerStats extends ServerCounters {
  readonly name: string;
  readonly address: string;
  readonly key: HealthKey;
  readonly backup: boolean;
  readonly weight: number;
  readonly maxconn?: number;
  readonly operational: OperationalState;
  readonly admin: AdminState;
  /** Date.now() of the last operational change (or of creation). */
  readonly since: number;
  readonly active: number;
  /** Consecutive connection failures since the last success. */
  readonly passiveFailures: number;
}

export interface QueueCounters {
  /** Requests that had to wait. */
  readonly queued: number;
  readonly timeouts: number;
  /** Turned away at once because the queue was at maxqueue. */
  readonly full: number;
  /** The client went away while waiting. */
  readonly aborted: number;
}

export interface BackendStats {
  readonly name: string;
  readonly balance: string;
  readonly queueLength: number;
  readonly queue: QueueCounters;
  readonly servers: readonly ServerStats[];
  readonly totals: {
    readonly active: number;
    readonly requests: number;
    readonly connectFailures: number;
    /** Requests rejected because no server was usable. */
    readonly noServer: number;
    readonly serversUp: number;
  };
}
