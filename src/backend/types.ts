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
  | { readonly kind: 'admin'; readonly detail: string }; // operator (control API)

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
  /** True when this server may take a new request now: up (or starting with no checks), admin ready, weight > 0, and below maxconn. */
  available(): boolean;
  /** True when up and admin ready, regardless of maxconn (a candidate worth queueing for). */
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
  readonly servers: Readonly<Record<HealthKey, { readonly operational: OperationalState; readonly admin?: AdminState; readonly since: number }>>;
}
