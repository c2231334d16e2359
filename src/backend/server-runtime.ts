// Live state of one server: operational state (up | down | starting, decided by health
// checks, passive failures or a snapshot) apart from admin state (ready | drain | maint,
// decided by the operator), the slots it holds in this process, and its counters.
//
//   const s = new ServerRuntime(serverConfig, 'app', { initial: 'starting' });
//   s.onStateChange((change) => ...);          // returns an unsubscribe function
//   s.setState({ operational: 'up' }, { kind: 'check', detail: 'status 200' });
//   s.available()                              // usable() and below maxconn
//
// Every state change goes through setState: it emits one StateChange to the listeners and
// logs one line (component "backend"). Slot bookkeeping (takeSlot/releaseSlot) is for
// BackendRuntime; proxies hold Slots, never call those directly.
import type { AdminState, Server } from '../config/types.js';
import { createLogger, type Logger } from '../observe/logger.js';
import { healthKey } from './health-key.js';
import type { HealthKey, OperationalState, ServerCounters, ServerState, StateCause, StateChange } from './types.js';

export type StateListener = (change: StateChange) => void;

export interface ServerRuntimeOptions {
  /** Operational state before any check: 'starting' when the backend has active checks, else 'up'. */
  readonly initial: OperationalState;
  /** Where state changes are logged; default createLogger('backend'). */
  readonly logger?: Logger;
}

// Bumped by every state change of every server: balancers cache "which tier is usable"
// and revalidate with one integer compare instead of subscribing to each server.
let epoch = 0;

/** A number that changes whenever any server's state changes. */
export function stateEpoch(): number {
  return epoch;
}

let defaultLogger: Logger | undefined;

function describeCause(cause: StateCause): string | undefined {
  return 'detail' in cause ? cause.detail : undefined;
}

export class ServerRuntime implements ServerState {
  config: Server;
  readonly backend: string;
  readonly key: HealthKey;
  private opState: OperationalState;
  private adminState: AdminState;
  private slots = 0;
  private sinceMs = Date.now();
  private failures = 0;
  private maxconn: number;
  /** Removed from the config by a live apply: it takes no new request; pooled connections to it close. */
  retired = false;
  private readonly logger: Logger;
  private readonly listeners: StateListener[] = [];
  private readonly count = { requests: 0, connectFailures: 0, stateChanges: 0 };

  constructor(config: Server, backend: string, options: ServerRuntimeOptions) {
    this.config = config;
    this.backend = backend;
    this.key = healthKey(backend, config);
    this.opState = options.initial;
    this.adminState = config.admin;
    this.maxconn = config.maxconn ?? Infinity;
    defaultLogger ??= createLogger('backend');
    this.logger = options.logger ?? defaultLogger;
  }

  get name(): string {
    return this.config.name;
  }
  get operational(): OperationalState {
    return this.opState;
  }
  get admin(): AdminState {
    return this.adminState;
  }
  get active(): number {
    return this.slots;
  }
  /** Date.now() of the last operational change (or of creation / snapshot import). */
  get since(): number {
    return this.sinceMs;
  }
  /** Consecutive connection failures since the last success. */
  get passiveFailures(): number {
    return this.failures;
  }
  get counters(): ServerCounters {
    return { ...this.count };
  }

  usable(): boolean {
    return this.opState === 'up' && this.adminState === 'ready' && this.config.weight > 0;
  }

  available(): boolean {
    return this.opState === 'up' && this.adminState === 'ready' && this.config.weight > 0 && this.slots < this.maxconn;
  }

  /** Subscribe to state changes; returns the unsubscribe function. */
  onStateChange(listener: StateListener): () => void {
    this.listeners.push(listener);
    return () => {
      const i = this.listeners.indexOf(listener);
      if (i >= 0) this.listeners.splice(i, 1);
    };
  }

  /**
   * The one way to change state. Returns false (and emits nothing) when nothing changes.
   * `since` overrides the time the new operational state began (snapshot import).
   */
  setState(next: { operational?: OperationalState; admin?: AdminState }, cause: StateCause, since?: number): boolean {
    const operational = next.operational ?? this.opState;
    const admin = next.admin ?? this.adminState;
    if (operational === this.opState && admin === this.adminState) return false;
    const from = { operational: this.opState, admin: this.adminState };
    const at = Date.now();
    if (operational !== this.opState) this.sinceMs = since ?? at;
    this.opState = operational;
    this.adminState = admin;
    this.count.stateChanges++;
    epoch++;
    const change: StateChange = {
      backend: this.backend,
      server: this.config.name,
      address: this.config.address.key,
      from,
      to: { operational, admin },
      cause,
      at,
    };
    const fields = {
      backend: this.backend,
      server: this.config.name,
      address: this.config.address.key,
      from: `${from.operational}/${from.admin}`,
      to: `${operational}/${admin}`,
      cause: cause.kind,
      detail: describeCause(cause),
    };
    if (operational === 'down' && from.operational !== 'down') this.logger.warn('server state changed', fields);
    else this.logger.info('server state changed', fields);
    // A copy: a listener may unsubscribe while we iterate.
    for (const listener of this.listeners.slice()) listener(change);
    return true;
  }

  /**
   * A live apply kept this server (same backend, name and address) with new settings:
   * weight, maxconn, backup take effect for the next selection; a changed configured admin
   * state is applied like an operator's change. State, slots and counters carry over.
   */
  reconfigure(config: Server): void {
    const previous = this.config;
    this.config = config;
    this.maxconn = config.maxconn ?? Infinity;
    this.retired = false;
    epoch++;
    if (config.admin !== previous.admin) this.setState({ admin: config.admin }, { kind: 'admin', detail: 'config' });
  }

  /** BackendRuntime only: a slot was handed out. */
  takeSlot(): void {
    this.slots++;
    this.count.requests++;
  }

  /** BackendRuntime only: a slot came back. */
  releaseSlot(): void {
    if (this.slots > 0) this.slots--;
  }

  /** Counts one failed connection; returns the consecutive failure count. */
  recordFailure(): number {
    this.count.connectFailures++;
    return ++this.failures;
  }

  /** A connection succeeded: the consecutive failure count starts again. */
  recordSuccess(): void {
    this.failures = 0;
  }
}
