// One worker's proxy: the frontends of one config, their listeners, the backends, every
// client connection, and the drain. It runs inside a worker process started by the master
// (src/worker/main.ts), which hands it the listening sockets, but it does not depend on
// the process: tests and tools can run it in-process with listeners of their own.
import net from 'node:net';
import type { Config, Frontend } from '../config/types.js';
import { BackendRuntime } from '../backend/backend-runtime.js';
import type { HealthSnapshot, StateChange } from '../backend/types.js';
import { adoptHandle, listenOnHandle, type TcpHandle } from '../lib/node-handles.js';
import { AccessLog } from '../observe/access-log.js';
import { createLogger, filteredLogger, type Logger } from '../observe/logger.js';
import { emptyCounters, type WorkerCounters } from '../protocol/counters.js';
import type { TunnelResume } from '../protocol/ipc.js';
import { AcceptGate } from './accept-gate.js';
import { ConnectionRegistry } from './connections.js';
import { newTrafficCounters, type WorkerContext } from './context.js';
import { HttpFrontend } from './http-frontend.js';
import type { Migrator } from './migrate.js';
import { TcpFrontend } from './tcp-frontend.js';

export interface FrontendRuntime {
  readonly config: Frontend;
  accept(socket: net.Socket): void;
  adoptTunnel(client: TcpHandle, server: TcpHandle, resume: TunnelResume): void;
}

export interface WorkerRuntimeOptions {
  readonly config: Config;
  readonly generation: number;
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

export class WorkerRuntime {
  readonly ctx: WorkerContext;
  private readonly frontends = new Map<string, FrontendRuntime>();
  private readonly frontendByListener = new Map<string, FrontendRuntime>();
  private readonly servers = new Map<string, net.Server>();
  private readonly backends = new Map<string, BackendRuntime>();
  private readonly pendingTunnels = new Map<string, { client?: TcpHandle; server?: TcpHandle; frontend: string; resume: TunnelResume }>();
  state: RuntimeState = 'starting';
  private drainPromise: Promise<DrainSummary> | undefined;
  private readonly gate: AcceptGate;

  constructor(private readonly options: WorkerRuntimeOptions) {
    const { config, generation } = options;
    const log = options.log ?? createLogger('worker', { gen: generation, pid: process.pid });
    // Under a master, server health is decided (and logged) there; a worker logs only what
    // its own traffic saw (passive failures), not once more per worker what it applies.
    const backendLog = options.runHealthChecks ? undefined : filteredLogger(createLogger('backend', { gen: generation, pid: process.pid }), (_l, m, f) => m !== 'server state changed' || f?.cause === 'passive');
    for (const b of config.backends) {
      const rt = new BackendRuntime(b, backendLog ? { logger: backendLog } : {});
      if (options.health) rt.importHealth(options.health);
      if (options.runHealthChecks) rt.startHealthChecks();
      this.backends.set(b.name, rt);
    }
    this.ctx = {
      config,
      generation,
      pid: process.pid,
      backends: this.backends,
      connections: new ConnectionRegistry(),
      counters: newTrafficCounters(),
      log,
      accessLog: new AccessLog(config.log),
      migrator: options.migrator,
    };
    this.gate = new AcceptGate({
      connections: this.ctx.connections,
      log,
      servers: this.servers,
      createServer: (fe) => this.createServer(fe as FrontendRuntime),
      ...(options.reacquireListener ? { reacquire: options.reacquireListener } : {}),
    });
    this.ctx.connections.onRemoved = (frontend) => this.gate.onRemoved(frontend);
    for (const f of config.frontends) {
      const fe: FrontendRuntime = f.mode === 'tcp' ? new TcpFrontend(f, this.ctx) : new HttpFrontend(f, this.ctx);
      this.frontends.set(f.name, fe);
      for (const b of f.binds) this.frontendByListener.set(b.key, fe);
    }
  }

  /** Listener keys this config needs ("127.0.0.1:8080", ...). */
  listenerKeys(): string[] {
    return [...this.frontendByListener.keys()];
  }

  /** Accept on a listening socket the master bound (the same kernel socket every worker shares). */
  async listen(key: string, handle: TcpHandle): Promise<void> {
    const fe = this.frontendByListener.get(key);
    if (!fe) throw new Error(`no frontend binds ${key}`);
    const server = this.createServer(fe);
    await listenOnHandle(server, handle);
    this.servers.set(key, server);
  }

  /** Standalone use (tests, tools): bind and listen on every address of the config here. */
  async listenDirect(): Promise<void> {
    for (const f of this.options.config.frontends) {
      for (const b of f.binds) {
        const server = this.createServer(this.frontends.get(f.name)!);
        await new Promise<void>((resolve, reject) => {
          server.once('error', reject);
          server.listen({ host: b.host, port: b.port, ipv6Only: b.family === 6 }, () => resolve());
        });
        this.servers.set(b.key, server);
      }
    }
  }

  private createServer(fe: FrontendRuntime): net.Server {
    const server = net.createServer({ allowHalfOpen: true, pauseOnConnect: true, noDelay: true }, (socket) => this.gate.admit(fe, socket));
    server.on('error', (err) => this.gate.serverError(fe, err));
    return server;
  }

  /** Listening on everything: take traffic. */
  activate(): void {
    this.state = 'active';
  }

  /** Apply server health decided elsewhere (the master's checks). */
  applyHealth(changes: readonly StateChange[]): void {
    for (const c of changes) {
      this.backends.get(c.backend)?.applyState(`${c.backend}/${c.server}@${c.address}`, c.to.operational, c.cause);
    }
  }

  /** Subscribe to state changes of every backend's servers (passive health, for the master). */
  onHealthChange(listener: (change: StateChange) => void): void {
    for (const b of this.backends.values()) b.onStateChange(listener);
  }

  /** An idle HTTP connection migrated from an older generation. */
  adoptHttp(frontend: string, handle: TcpHandle, unread: Buffer): void {
    const fe = this.frontends.get(frontend);
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
    const fe = this.frontends.get(frontend);
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
    for (const [fe, socket] of this.gate.stop()) (fe as FrontendRuntime).accept(socket);
  }

  /**
   * Drain: stop accepting at once; ask every connection to leave at its next safe point
   * (migrate to the new generation, or close when idle); at the deadline close what is
   * left. Resolves when no connection is left.
   */
  drain(opts: { migrate: boolean; deadline: number }): Promise<DrainSummary> {
    if (this.drainPromise) return this.drainPromise;
    this.state = 'draining';
    this.stopAccepting();
    const registry = this.ctx.connections;
    this.drainPromise = (async () => {
      registry.releaseAll(opts.migrate && this.ctx.migrator ? 'migrate' : 'close');
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
    for (const b of this.backends.values()) b.close();
    this.ctx.accessLog.close();
  }

  counters(): WorkerCounters {
    const c = this.ctx.counters;
    const out = emptyCounters(this.ctx.pid, this.ctx.generation);
    out.accepted = c.accepted;
    out.connections = this.ctx.connections.countByState();
    out.requests = { total: c.requests, '1xx': c.status1xx, '2xx': c.status2xx, '3xx': c.status3xx, '4xx': c.status4xx, '5xx': c.status5xx };
    out.retries = c.retries;
    out.migratedOut = c.migratedOut;
    out.migratedIn = c.migratedIn;
    out.bytesIn = c.bytesIn;
    out.bytesOut = c.bytesOut;
    for (const [name, b] of this.backends) {
      const stats = b.stats();
      out.backends[name] = {
        queue: b.queueLength,
        servers: Object.fromEntries(
          stats.servers.map((s) => [s.name, { operational: s.operational, admin: s.admin, active: s.active, requests: s.requests, connectFailures: s.connectFailures }]),
        ),
      };
    }
    return out;
  }
}
