// The live side of one configured backend in one process: its servers' state, the balancer,
// the maxconn queue, passive health, and health snapshots across reloads.
//
//   const rt = new BackendRuntime(backendConfig);          // options: { logger }
//   rt.startHealthChecks();                                // if this process runs the checks
//   // per request (the proxy):
//   let slot = rt.tryAcquire(ctx, tried);                  // sync, never queues
//   if (!slot) slot = await rt.acquire(ctx, { exclude: tried, signal });
//   //   rejects HandoffError (source 'server'): HANDOFF_ERR_NO_SERVER (at once: no usable,
//   //   non-excluded server), HANDOFF_ERR_QUEUE_FULL (beyond maxqueue), HANDOFF_ERR_QUEUE_TIMEOUT
//   //   (after timeouts.queue); HANDOFF_ERR_CLIENT_ABORT (source 'client') when `signal` aborts.
//   connect to slot.server.config.address ...
//   slot.connectSucceeded() | slot.connectFailed('ECONNREFUSED') then tried.add(slot.server),
//   release and acquire again while retries last (config.retries);
//   slot.release();                                        // when the request/tunnel ends
//   // health across reloads (the master):
//   const snap = oldRt.exportHealth(); newRt.importHealth(snap);
//   rt.applyState('app/a1@127.0.0.1:9001', 'down', { kind: 'check', detail: 'status 503' });
//   rt.close();                                            // timers stop, waiters get NO_SERVER
//
// A slot is taken from the first available candidate of the balancer; when every usable
// candidate is at maxconn the request waits in the FIFO queue, and every release or state
// change offers the freed capacity to the oldest waiter first. Passive health: `passive.fall`
// consecutive connect failures mark a server down (cause passive); without active checks it
// is tried again after `passive.cooldown`.
import type { Backend } from '../config/types.js';
import { HandoffError } from '../lib/errors.js';
import type { Logger } from '../observe/logger.js';
import type { Balancer } from './balance/balancer.js';
import { createBalancer } from './balance/create-balancer.js';
import { HealthChecker } from './health-check.js';
import { healthKey } from './health-key.js';
import { WaitQueue, type Waiting } from './queue.js';
import { ServerRuntime, type StateListener } from './server-runtime.js';
import type {
  BackendStats,
  HealthKey,
  HealthSnapshot,
  HealthTarget,
  OperationalState,
  SelectionContext,
  ServerState,
  Slot,
  StateCause,
} from './types.js';

export interface AcquireOptions {
  /** Servers already tried for this request (retries): never chosen again. */
  readonly exclude?: ReadonlySet<ServerState>;
  /** The client went away: leave the queue. */
  readonly signal?: AbortSignal;
}

export interface BackendRuntimeOptions {
  /** Where server state changes are logged; default createLogger('backend'). */
  readonly logger?: Logger;
  /**
   * Live apply: the runtime this one replaces (same backend name). Its servers with the same
   * identity (name + address) are kept, reconfigured, with their state, slots and counters;
   * its wait queue is taken over, so queued requests keep their place (invariant I9).
   */
  readonly previous?: BackendRuntime;
  /** Servers new to this config: created beforehand (a live apply prepares them), by health key. */
  readonly created?: ReadonlyMap<HealthKey, ServerRuntime>;
  /** Where a retired runtime sends new selections (a retry after a live apply): the backend now in force. */
  readonly successor?: (name: string) => BackendRuntime | undefined;
}

interface Ticket {
  readonly ctx: SelectionContext;
  readonly exclude: ReadonlySet<ServerState> | undefined;
}

class ServerSlot implements Slot {
  private released = false;
  constructor(
    private readonly owner: BackendRuntime,
    readonly server: ServerRuntime,
    readonly queuedMs: number,
  ) {}

  release(): void {
    if (this.released) return;
    this.released = true;
    this.server.releaseSlot();
    this.owner.slotReleased();
  }

  connectFailed(detail: string): void {
    this.owner.connectFailed(this.server, detail);
  }

  connectSucceeded(): void {
    this.server.recordSuccess();
  }
}

export class BackendRuntime implements HealthTarget {
  readonly config: Backend;
  readonly name: string;
  readonly servers: readonly ServerRuntime[];
  readonly balancer: Balancer;
  private readonly byName = new Map<string, ServerRuntime>();
  private readonly byKey = new Map<HealthKey, ServerRuntime>();
  private readonly queue: WaitQueue<Ticket, Slot>;
  private readonly listeners: StateListener[] = [];
  private readonly cooldowns = new Map<ServerRuntime, NodeJS.Timeout>();
  private checker: HealthChecker | undefined;
  private readonly logger: Logger | undefined;
  private noServer = 0;
  private closed = false;
  private retired = false;
  private readonly unsubscribe: (() => void)[] = [];
  private readonly successor: ((name: string) => BackendRuntime | undefined) | undefined;

  constructor(config: Backend, options: BackendRuntimeOptions = {}) {
    this.config = config;
    this.name = config.name;
    this.logger = options.logger;
    this.successor = options.successor;
    const initial: OperationalState = config.health ? 'starting' : 'up';
    const previous = options.previous;
    this.servers = config.servers.map((s) => {
      const key = healthKey(config.name, s);
      const kept = previous?.byKey.get(key);
      if (kept) {
        kept.reconfigure(s);
        return kept;
      }
      return options.created?.get(key) ?? new ServerRuntime(s, config.name, { initial, logger: options.logger });
    });
    for (const s of this.servers) {
      this.byName.set(s.config.name, s);
      this.byKey.set(s.key, s);
      this.unsubscribe.push(s.onStateChange((change) => this.stateChanged(s, change)));
    }
    this.balancer = createBalancer(config.balance, this.servers);
    const queueOptions = { backend: config.name, timeoutMs: config.timeouts.queue, maxLength: config.maxqueue };
    if (previous) {
      this.queue = previous.queue;
      this.queue.reconfigure(queueOptions);
      this.noServer = previous.noServer;
      for (const s of previous.servers) if (!this.byKey.has(s.key)) s.retired = true;
      previous.retire();
    } else {
      this.queue = new WaitQueue<Ticket, Slot>(queueOptions);
    }
  }

  /**
   * A live apply replaced or removed this backend. Its servers stop notifying it; in-flight
   * slots still come back through it; new selections (a retry) go to the successor, or
   * find no server when the backend was removed. A removed backend's queued requests are
   * turned away at once (503), never left to time out.
   */
  retire(): void {
    if (this.retired) return;
    this.retired = true;
    for (const u of this.unsubscribe.splice(0)) u();
    this.checker?.stop();
    for (const t of this.cooldowns.values()) clearTimeout(t);
    this.cooldowns.clear();
  }

  /** A removed backend (no successor): every server retires, every waiter gets NO_SERVER now. */
  remove(): void {
    this.retire();
    for (const s of this.servers) s.retired = true;
    this.closed = true;
    this.queue.rejectAll(this.noServerError('removed from the config'));
  }

  /** The runtime new selections go to: this one, or after a live apply the one in force. */
  private get current(): BackendRuntime | undefined {
    if (!this.retired) return this;
    const next = this.successor?.(this.name);
    return next && next !== this ? next : undefined;
  }

  server(name: string): ServerRuntime | undefined {
    return this.byName.get(name);
  }

  get queueLength(): number {
    return this.queue.length;
  }

  /** True when some server could take this request now or after queueing. */
  hasUsable(exclude?: ReadonlySet<ServerState>): boolean {
    if (this.retired) return this.current?.hasUsable(exclude) ?? false;
    return !this.closed && this.balancer.hasUsable(exclude);
  }

  /** Synchronous fast path: a slot on the first available candidate, or undefined (never queues). */
  tryAcquire(ctx: SelectionContext, exclude?: ReadonlySet<ServerState>): Slot | undefined {
    if (this.retired) return this.current?.tryAcquire(ctx, exclude);
    if (this.closed) return undefined;
    const s = this.balancer.pick(ctx, exclude);
    return s ? this.take(s, 0) : undefined;
  }

  /**
   * A slot for a connection that already exists (a tunnel migrated from an older
   * generation): counted against the server's maxconn like any other, even beyond it,
   * because refusing would mean cutting a live connection.
   */
  adoptSlot(server: ServerRuntime): Slot {
    return this.take(server, 0);
  }

  /** A slot at once, or after waiting in the queue; see the file header for the rejections. */
  acquire(ctx: SelectionContext, options: AcquireOptions = {}): Promise<Slot> {
    const { exclude, signal } = options;
    if (this.retired) {
      const next = this.current;
      if (next) return next.acquire(ctx, options);
      this.noServer++;
      return Promise.reject(this.noServerError('removed from the config'));
    }
    if (signal?.aborted) return this.queue.wait({ ctx, exclude }, signal); // rejects CLIENT_ABORT
    const slot = this.tryAcquire(ctx, exclude);
    if (slot) return Promise.resolve(slot);
    if (!this.hasUsable(exclude)) {
      this.noServer++;
      return Promise.reject(this.noServerError());
    }
    return this.queue.wait({ ctx, exclude }, signal);
  }

  /** Subscribe to every server's state changes; returns the unsubscribe function. */
  onStateChange(listener: StateListener): () => void {
    this.listeners.push(listener);
    return () => {
      const i = this.listeners.indexOf(listener);
      if (i >= 0) this.listeners.splice(i, 1);
    };
  }

  /** Apply a health state decided elsewhere (a check here or in the master). False if unknown. */
  applyState(target: HealthKey | ServerState, operational: OperationalState, cause: StateCause): boolean {
    const s = typeof target === 'string' ? this.byKey.get(target) : this.byKey.get((target as ServerRuntime).key ?? '');
    if (!s || (typeof target !== 'string' && s !== target)) return false;
    return s.setState({ operational }, cause);
  }

  /** HealthTarget: the current operational state of a server by key. */
  currentState(key: HealthKey): OperationalState | undefined {
    return this.byKey.get(key)?.operational;
  }

  /** Run this backend's active health checks in this process (no-op without `health`). */
  startHealthChecks(): HealthChecker {
    this.checker ??= new HealthChecker(this.config, this, this.logger ? { logger: this.logger } : {});
    if (!this.closed) this.checker.start();
    return this.checker;
  }

  exportHealth(): HealthSnapshot {
    const servers: Record<HealthKey, { operational: OperationalState; admin: ServerRuntime['admin']; since: number }> = {};
    for (const s of this.servers) servers[s.key] = { operational: s.operational, admin: s.admin, since: s.since };
    return { servers };
  }

  /** Operational states of servers whose key matches (cause snapshot); other keys are ignored. */
  importHealth(snapshot: HealthSnapshot): void {
    for (const [key, entry] of Object.entries(snapshot.servers)) {
      this.byKey.get(key)?.setState({ operational: entry.operational }, { kind: 'snapshot' }, entry.since);
    }
  }

  stats(): BackendStats {
    let active = 0;
    let requests = 0;
    let connectFailures = 0;
    let serversUp = 0;
    const servers = this.servers.map((s) => {
      const c = s.counters;
      active += s.active;
      requests += c.requests;
      connectFailures += c.connectFailures;
      if (s.operational === 'up') serversUp++;
      return {
        name: s.config.name,
        address: s.config.address.key,
        key: s.key,
        backup: s.config.backup,
        weight: s.config.weight,
        maxconn: s.config.maxconn,
        operational: s.operational,
        admin: s.admin,
        since: s.since,
        active: s.active,
        passiveFailures: s.passiveFailures,
        ...c,
      };
    });
    return {
      name: this.name,
      balance: this.config.balance,
      queueLength: this.queue.length,
      queue: this.queue.counters,
      servers,
      totals: { active, requests, connectFailures, noServer: this.noServer, serversUp },
    };
  }

  /** Stop timers and health checks; every waiter is turned away with NO_SERVER. Idempotent. */
  close(): void {
    this.closed = true;
    this.checker?.stop();
    for (const t of this.cooldowns.values()) clearTimeout(t);
    this.cooldowns.clear();
    this.queue.rejectAll(this.noServerError('closed'));
  }

  /** For ServerSlot: capacity came back. */
  slotReleased(): void {
    // The queue is shared with the successor: let the runtime in force (its balancer knows
    // the current servers) offer the freed capacity.
    (this.retired ? this.current : this)?.serveQueue();
  }

  /** For ServerSlot: passive health. */
  connectFailed(s: ServerRuntime, detail: string): void {
    if (this.retired) {
      const next = this.current;
      if (next && next.byKey.get(s.key) === s) next.connectFailed(s, detail);
      else s.recordFailure();
      return;
    }
    const failures = s.recordFailure();
    const fall = this.config.passive.fall;
    if (fall <= 0 || failures < fall || s.operational !== 'up') return;
    s.recordSuccess(); // the count starts again once the server is back
    s.setState({ operational: 'down' }, { kind: 'passive', detail: `${failures} consecutive connect failures, last: ${detail}` });
    if (this.config.health || this.closed) return; // active checks decide when it is back
    const timer = setTimeout(() => {
      this.cooldowns.delete(s);
      if (s.operational === 'down') s.setState({ operational: 'up' }, { kind: 'passive', detail: 'cooldown elapsed' });
    }, this.config.passive.cooldown);
    timer.unref();
    this.cooldowns.set(s, timer);
  }

  private take(s: ServerRuntime, queuedMs: number): Slot {
    s.takeSlot();
    return new ServerSlot(this, s, queuedMs);
  }

  private stateChanged(s: ServerRuntime, change: Parameters<StateListener>[0]): void {
    // Any other change (a check, an operator, a snapshot) overrides a pending cooldown.
    if (!(change.cause.kind === 'passive' && change.to.operational === 'down')) {
      const t = this.cooldowns.get(s);
      if (t) {
        clearTimeout(t);
        this.cooldowns.delete(s);
      }
    }
    for (const listener of this.listeners.slice()) listener(change);
    this.serveQueue();
  }

  /** Offer free capacity to the waiters, oldest first; turn away those no server can take. */
  serveQueue(): void {
    if (this.queue.length === 0) return;
    this.queue.serve((w: Waiting<Ticket, Slot>) => {
      const { ctx, exclude } = w.ticket;
      const s = this.balancer.pick(ctx, exclude);
      if (s) {
        w.grant(this.take(s, Date.now() - w.enqueuedAt));
        return true;
      }
      if (!this.balancer.hasUsable(exclude)) {
        this.noServer++;
        w.fail(this.noServerError());
        return true;
      }
      // Nothing free for this one; a waiter with exclusions may still leave free capacity
      // for those behind it, one without means nothing is free for anybody.
      return exclude !== undefined && exclude.size > 0;
    });
  }

  private noServerError(why = 'no server is up'): HandoffError {
    return new HandoffError('HANDOFF_ERR_NO_SERVER', 'server', `backend ${this.name}: ${why}`);
  }
}
