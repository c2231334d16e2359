// One worker's proxy: the frontends of one config, their listeners, the backends, every
// client connection, and the drain. It runs inside a worker process started by the master
// (src/worker/main.ts), which hands it the listening sockets, but it does not depend on
// the process: tests and tools can run it in-process with listeners of their own.
import net from 'node:net';
import type { Config } from '../config/types.js';
import type { HealthSnapshot, StateChange } from '../backend/types.js';
import { adoptHandle, closeHandle, listenOnHandle, type TcpHandle } from '../lib/node-handles.js';
import { AccessLog } from '../observe/access-log.js';
import { createLogger, filteredLogger, type Logger } from '../observe/logger.js';
import { emptyCounters, type WorkerCounters } from '../protocol/counters.js';
import type { TunnelResume } from '../protocol/ipc.js';
import { AcceptGate } from './accept-gate.js';
import { ConnectionRegistry } from './connections.js';
import { applyHealthToPrepared, commitConfig, prepareConfig, type PreparedConfig } from './config-apply.js';
import { newTrafficCounters, type CompiledFrontend, type LiveConfig, type WorkerContext } from './context.js';
import { DeadlineSweeper } from './deadlines.js';
import { HttpFrontend } from './http-frontend.js';
import type { Migrator } from './migrate.js';
import { UpstreamPool } from './upstream-pool.js';

export type FrontendRuntime = CompiledFrontend;

export interface WorkerRuntimeOptions {
  readonly config: Config;
  /** The process generation (this worker's command line); also the first config's generation unless configGeneration says otherwise. */
  readonly generation: number;
  /** The generation number of `config` (a replacement worker starts with a live-applied config). */
  readonly configGeneration?: number;
  readonly health?: HealthSnapshot;
  readonly migrator?: Migrator;
  /** Run the backends' active health checks in this process (standalone); under a master, the master runs them. */
  readonly runHealthChecks?: boolean;
  readonly log?: Logger;
  /** Ask the master for a listening socket again (see AcceptGate); without it, maxconn parks connections unread. */
  readonly reacquireListener?: (key: string) => Promise<TcpHandle | undefined>;
}

export interface DrainSummary {
  readonly migrated: number;
  readonly closedIdle: number;
  readonly timedOut: number;
}

export type RuntimeState = 'starting' | 'active' | 'draining' | 'stopped';

/** A live apply between prepare and commit: its compiled config and the new listening sockets. */
interface PendingApply {
  readonly prepared: PreparedConfig;
  readonly handles: Map<string, TcpHandle>;
}

export class WorkerRuntime {
  readonly ctx: WorkerContext;
  private readonly servers = new Map<string, net.Server>();
  private readonly pendingTunnels = new Map<string, { client?: TcpHandle; server?: TcpHandle; frontend: string; resume: TunnelResume }>();
  private readonly pending = new Map<number, PendingApply>();
  private readonly backendLog: Logger | undefined;
  private healthListener: ((change: StateChange) => void) | undefined;
  state: RuntimeState = 'starting';
  private drainPromise: Promise<DrainSummary> | undefined;
  private readonly gate: AcceptGate;

  constructor(private readonly options: WorkerRuntimeOptions) {
    const { config, generation } = options;
    const log = options.log ?? createLogger('worker', { gen: generation, pid: process.pid });
    // Under a master, server health is decided (and logged) there; a worker logs only what
    // its own traffic saw (passive failures), not once more per worker what it applies.
    this.backendLog = options.runHealthChecks
      ? undefined
      : filteredLogger(
          createLogger('backend', { gen: generation, pid: process.pid }),
          (_l, m, f) => m !== 'server state changed' || f?.cause === 'passive',
        );
    this.ctx = {
      processGeneration: generation,
      live: undefined as unknown as LiveConfig, // set by the first commit just below
      pid: process.pid,
      connections: new ConnectionRegistry(),
      pool: new UpstreamPool(),
      sweeper: new DeadlineSweeper(),
      counters: newTrafficCounters(),
      log,
      accessLog: new AccessLog(config.log),
      migrator: options.migrator,
    };
    this.gate = new AcceptGate({
      connections: this.ctx.connections,
      log,
      servers: this.servers,
      createServer: (key) => this.createServer(key),
      ...(options.reacquireListener ? { reacquire: options.reacquireListener } : {}),
    });
    this.ctx.connections.onRemoved = (frontend) => this.gate.onRemoved(frontend);
    const first = prepareConfig({
      config,
      generation: options.configGeneration ?? generation,
      ctx: this.ctx,
      current: undefined,
      health: options.health,
      backendLog: this.backendLog,
    });
    this.commitPrepared(first);
  }

  /** The config in force and its generation number. */
  get config(): Config {
    return this.ctx.live.version.config;
  }
  get configGeneration(): number {
    return this.ctx.live.version.generation;
  }

  private commitPrepared(prepared: PreparedConfig) {
    commitConfig(prepared, {
      ctx: this.ctx,
      backendLog: this.backendLog,
      onStateChange: this.healthListener,
      runHealthChecks: this.options.runHealthChecks === true,
    });
    this.frontendByListener = new Map(this.config.frontends.flatMap((f) => f.binds.map((b) => [b.key, f.name] as const)));
  }

  /** Listener key → frontend name, for the config in force (looked up per accepted connection). */
  private frontendByListener = new Map<string, string>();

  // ---- live apply ------------------------------------------------------------------------------

  /**
   * Compile `config` beside the one in force (nothing in force changes). Listening sockets
   * for binds new to it arrive with addListener(id, ...). Throws with the cause when the
   * config cannot be compiled here.
   */
  prepare(id: number, config: Config, generation: number, health: HealthSnapshot): void {
    if (generation <= this.configGeneration)
      throw new Error(`generation ${generation} is not newer than the one in force (${this.configGeneration})`);
    const prepared = prepareConfig({ config, generation, ctx: this.ctx, current: this.ctx.live, health, backendLog: this.backendLog });
    this.pending.set(id, { prepared, handles: new Map() });
  }

  /** A listening socket for a bind the prepared config `id` adds. */
  addListener(id: number, key: string, handle: TcpHandle): boolean {
    const p = this.pending.get(id);
    if (!p) return false;
    p.handles.set(key, handle);
    return true;
  }

  /** Drop a prepared config: nothing of it was ever in force. */
  abort(id: number): void {
    const p = this.pending.get(id);
    if (!p) return;
    this.pending.delete(id);
    for (const h of p.handles.values()) void closeHandle(h);
  }

  /**
   * Put prepared config `id` in force: one synchronous swap, then accept on the binds it
   * added and stop accepting on the ones it removed (the master closes those sockets once
   * every worker committed). Resolves once listening on the new binds.
   */
  async commit(id: number): Promise<void> {
    const p = this.pending.get(id);
    if (!p) throw new Error(`no prepared config ${id}`);
    this.pending.delete(id);
    // Prepared configs older than this one will never be committed.
    for (const [other, q] of this.pending) if (q.prepared.version.generation < p.prepared.version.generation) this.abort(other);
    this.commitPrepared(p.prepared);
    const wanted = new Set(this.listenerKeys());
    for (const [key, server] of this.servers) {
      if (wanted.has(key)) continue;
      server.close();
      this.servers.delete(key);
    }
    if (this.state === 'draining' || this.state === 'stopped') {
      for (const h of p.handles.values()) void closeHandle(h);
      return;
    }
    for (const [key, handle] of p.handles) {
      if (this.servers.has(key) || !wanted.has(key)) {
        void closeHandle(handle);
        continue;
      }
      await this.listen(key, handle);
    }
  }

  /** Listener keys this config needs ("127.0.0.1:8080", ...). */
  listenerKeys(): string[] {
    return this.config.frontends.flatMap((f) => f.binds.map((b) => b.key));
  }

  /** The frontend in force for a listening address (looked up per accepted connection). */
  private frontendFor(key: string): FrontendRuntime | undefined {
    const name = this.frontendByListener.get(key);
    return name === undefined ? undefined : this.ctx.live.frontends.get(name);
  }

  /** Accept on a listening socket the master bound (the same kernel socket every worker shares). */
  async listen(key: string, handle: TcpHandle): Promise<void> {
    if (!this.frontendFor(key)) throw new Error(`no frontend binds ${key}`);
    const server = this.createServer(key);
    await listenOnHandle(server, handle);
    this.servers.set(key, server);
  }

  /** Standalone use (tests, tools): bind and listen on every address of the config here. */
  async listenDirect(): Promise<void> {
    for (const f of this.config.frontends) {
      for (const b of f.binds) {
        const server = this.createServer(b.key);
        await new Promise<void>((resolve, reject) => {
          server.once('error', reject);
          server.listen({ host: b.host, port: b.port, ipv6Only: b.family === 6 }, () => resolve());
        });
        this.servers.set(b.key, server);
      }
    }
  }

  private createServer(key: string): net.Server {
    const server = net.createServer({ allowHalfOpen: true, pauseOnConnect: true, noDelay: true }, (socket) => {
      // The frontend in force for this address, per connection (a live apply may change it).
      const fe = this.frontendFor(key);
      if (fe) this.gate.admit(fe, socket);
      else socket.destroy(); // the bind was just removed by a live apply
    });
    server.on('error', (err) => {
      const fe = this.frontendFor(key);
      if (fe) this.gate.serverError(fe, err);
      else this.ctx.log.error('listener error', { listener: key, error: err.message });
    });
    return server;
  }

  /** Listening on everything: take traffic. */
  activate(): void {
    this.state = 'active';
  }

  /** Apply server health decided elsewhere (the master's checks). */
  applyHealth(changes: readonly StateChange[]): void {
    const backends = this.ctx.live.version.backends;
    for (const c of changes) {
      backends.get(c.backend)?.applyState(`${c.backend}/${c.server}@${c.address}`, c.to.operational, c.cause);
      for (const p of this.pending.values()) applyHealthToPrepared(p.prepared, c);
    }
  }

  /** Subscribe to state changes of every backend's servers (passive health, for the master), across live applies. */
  onHealthChange(listener: (change: StateChange) => void): void {
    this.healthListener = listener;
    for (const b of this.ctx.live.version.backends.values()) b.onStateChange(listener);
  }

  /** An idle HTTP connection migrated from an older generation. */
  adoptHttp(frontend: string, handle: TcpHandle, unread: Buffer): void {
    const fe = this.ctx.live.frontends.get(frontend);
    const socket = adoptHandle(handle);
    this.ctx.counters.migratedIn++;
    if (!(fe instanceof HttpFrontend)) {
      // Its frontend is gone from the new config (or changed mode): it is idle, so this is
      // its idle point; close it gracefully.
      this.ctx.log.info('closing a migrated connection: its frontend is not in this config', { frontend });
      socket.end();
      socket.resume();
      socket.on('error', () => {});
      return;
    }
    fe.adoptConnection(socket, unread);
  }

  /** One half of a migrated tunnel; the tunnel resumes once both have arrived. */
  adoptTunnelPart(id: string, role: 'client' | 'server', frontend: string, handle: TcpHandle, resume: TunnelResume): void {
    const entry = this.pendingTunnels.get(id) ?? { frontend, resume };
    entry[role] = handle;
    this.pendingTunnels.set(id, entry);
    if (!entry.client || !entry.server) return;
    this.pendingTunnels.delete(id);
    const fe = this.ctx.live.frontends.get(frontend);
    if (!fe) {
      this.ctx.log.info('closing a migrated tunnel: its frontend is not in this config', { frontend });
      adoptHandle(entry.client).destroy();
      adoptHandle(entry.server).destroy();
      return;
    }
    fe.adoptTunnel(entry.client, entry.server, resume);
  }

  /** Stop accepting: close this process's copy of every listening socket (the master keeps the socket). */
  stopAccepting(): void {
    for (const s of this.servers.values()) s.close();
    this.servers.clear();
    // Connections that waited for a frontend's maxconn were accepted but never read: serve
    // them now, so a drain moves them on (or answers them) like every other one.
    for (const [fe, socket] of this.gate.stop()) (this.ctx.live.frontends.get(fe.config.name) ?? (fe as FrontendRuntime)).accept(socket);
  }

  /**
   * Drain: stop accepting at once; ask every connection to leave at its next safe point
   * (migrate to the new generation, or close when idle); at the deadline close what is
   * left. Resolves when no connection is left.
   */
  drain(opts: { migrate: boolean; deadline: number; sameConfig?: boolean }): Promise<DrainSummary> {
    if (this.drainPromise) return this.drainPromise;
    this.state = 'draining';
    this.stopAccepting();
    const registry = this.ctx.connections;
    this.drainPromise = (async () => {
      registry.askAllToLeave(opts.migrate && this.ctx.migrator ? 'migrate' : 'close', opts.sameConfig ?? false);
      const timer = setTimeout(() => registry.killAll(), Math.max(0, opts.deadline - Date.now()));
      await registry.whenEmpty();
      clearTimeout(timer);
      await this.ctx.migrator?.settled();
      return { migrated: registry.ends.migrated, closedIdle: registry.ends.closed, timedOut: registry.ends.killed };
    })();
    return this.drainPromise;
  }

  /** Close everything now. */
  stop(): void {
    this.state = 'stopped';
    this.stopAccepting();
    this.ctx.connections.killAll();
    for (const b of this.ctx.live.version.backends.values()) b.close();
    for (const id of [...this.pending.keys()]) this.abort(id);
    this.ctx.pool.closeAll();
    this.ctx.accessLog.close();
  }

  counters(): WorkerCounters {
    const c = this.ctx.counters;
    const out = emptyCounters(this.ctx.pid, this.ctx.processGeneration);
    out.configGeneration = this.configGeneration;
    out.accepted = c.accepted;
    out.connections = this.ctx.connections.countByState();
    out.requests = {
      total: c.requests,
      '1xx': c.status1xx,
      '2xx': c.status2xx,
      '3xx': c.status3xx,
      '4xx': c.status4xx,
      '5xx': c.status5xx,
      other: c.statusOther,
    };
    out.retries = c.retries;
    out.migratedOut = c.migratedOut;
    out.migratedIn = c.migratedIn;
    out.bytesIn = c.bytesIn;
    out.bytesOut = c.bytesOut;
    out.tlsFailures = Object.fromEntries(c.tlsFailures);
    for (const [name, b] of this.ctx.live.version.backends) {
      const stats = b.stats();
      out.backends[name] = {
        queue: b.queueLength,
        queued: stats.queue.queued,
        queueTimeouts: stats.queue.timeouts,
        queueFull: stats.queue.full,
        queueAborted: stats.queue.aborted,
        noServer: stats.totals.noServer,
        servers: Object.fromEntries(
          stats.servers.map((s) => [
            s.name,
            { operational: s.operational, admin: s.admin, active: s.active, requests: s.requests, connectFailures: s.connectFailures },
          ]),
        ),
      };
    }
    for (const [k, h] of c.requestDuration) out.requestDuration[k] = h;
    for (const [k, h] of c.queueWait) out.queueWait[k] = h;
    if (c.tls.size > 0) out.tls = Object.fromEntries(c.tls); // TLS handshakes (issue 11)
    return out;
  }
}
