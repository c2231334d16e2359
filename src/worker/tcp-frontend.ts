// mode: tcp. Each client connection gets a server from the frontend's default backend
// (first candidate, then fallbacks on connection failure, waiting in the backend queue when
// every server is at maxconn), then becomes a TunnelSession (tunnel-session.ts), which owns
// the rest: bytes both ways, timeout, drain, migration, the access-log entry.
import type net from 'node:net';
import type { BackendRuntime } from '../backend/backend-runtime.js';
import type { Slot } from '../backend/types.js';
import { tunnelTimeout } from '../config/timeouts.js';
import type { Frontend } from '../config/types.js';
import type { TcpHandle } from '../lib/node-handles.js';
import type { AccessEntry, Termination } from '../observe/access-entry.js';
import type { ConnectionState } from '../protocol/counters.js';
import type { TunnelResume } from '../protocol/ipc.js';
import type { ClientConnection, LeaveMode } from './connections.js';
import { type CompiledFrontend, type ConfigVersion, countQueueWait, peerAddress, type WorkerContext } from './context.js';
import { localResourceCode, reportLocalShortage } from './local-resources.js';
import { queueTermination } from './termination.js';
import { TunnelSession } from './tunnel-session.js';
import { connectTo } from './upstream-connect.js';
import { readClientHello } from '../tls/client-hello-reader.js';
import { chooseBySni, routesBySni } from './sni-router.js';
import { countTlsFailure } from './context.js';

export class TcpFrontend implements CompiledFrontend {
  constructor(
    readonly config: Frontend,
    readonly version: ConfigVersion,
    private readonly ctx: WorkerContext,
  ) {}

  /** Looked up per connection: the version's backends are filled when it is committed. */
  private get backend(): BackendRuntime | undefined {
    return this.config.defaultBackend === undefined ? undefined : this.version.backends.get(this.config.defaultBackend);
  }

  /** A client connection accepted on one of this frontend's listeners. */
  accept(socket: net.Socket): void {
    this.ctx.counters.accepted++;
    // Routes by sni (TLS passthrough): the backend is chosen once the ClientHello is read.
    const backend = routesBySni(this.config) ? undefined : this.backend;
    void new TcpConnect(this.config, backend, this.ctx, socket, this.version.generation, this.version).run();
  }

  /** A tunnel migrated from an older generation: both sockets, resumed as they were. */
  adoptTunnel(client: TcpHandle, server: TcpHandle, resume: TunnelResume): void {
    const backend = this.version.backends.get(resume.backend);
    const idle = tunnelTimeout(this.config, backend?.config);
    TunnelSession.adopt(this.ctx, this.config.name, this.version.generation, backend, idle, client, server, resume);
  }
}

/**
 * A TCP connection before its tunnel: registered as 'waiting' while it gets a slot and a
 * server connection. Nothing is read from the client meanwhile: its first bytes wait in
 * the kernel, which also keeps them intact if the connection has to move.
 */
class TcpConnect implements ClientConnection {
  readonly id: number;
  readonly frontend: string;
  state: ConnectionState = 'waiting';
  private readonly started = Date.now();
  private readonly client: string;
  private readonly abort = new AbortController();
  private retries = 0;
  private queuedMs = 0;
  private connectMs = 0;
  private done = false;
  /** TLS passthrough: the bytes read while peeking at the ClientHello, written to the server first. */
  private preface: Buffer | undefined;
  private sni: string | undefined;
  private route: string | undefined;

  constructor(
    private readonly config: Frontend,
    /** Chosen at accept, or (routes by sni) once the ClientHello is read. */
    private backend: BackendRuntime | undefined,
    private readonly ctx: WorkerContext,
    private readonly socket: net.Socket,
    /** The config generation this connection was accepted under (logs). */
    private readonly generation: number,
    /** Its backends (routes by sni look the chosen one up here). */
    private readonly version: ConfigVersion,
  ) {
    this.id = ctx.connections.newId();
    this.frontend = config.name;
    this.client = peerAddress(socket);
    socket.pause();
    socket.setNoDelay(true);
    socket.on('error', this.onClientGone);
    socket.on('close', this.onClientGone);
    ctx.connections.add(this);
  }

  private readonly onClientGone = () => {
    this.abort.abort();
    this.fail('client-error', 'killed');
  };

  /**
   * TLS passthrough: read the ClientHello (bounded: 16 KiB, timeouts.client), choose the
   * backend by its server_name. A drain meanwhile does not cut it: the peek finishes here,
   * and the tunnel is then asked to leave (migrate) like any other.
   */
  private async peek(): Promise<boolean> {
    this.state = 'reading';
    const hello = await readClientHello(this.socket, { timeoutMs: this.config.timeouts.client, signal: this.abort.signal });
    if (this.done) return false;
    if (!hello.ok) {
      if (hello.termination === 'bad-client-hello' || hello.termination === 'client-hello-timeout') {
        countTlsFailure(this.ctx.counters, hello.termination);
        this.ctx.log.debug('tls passthrough: ClientHello refused', { frontend: this.frontend, client: this.client, detail: hello.detail });
      }
      this.fail(hello.termination === 'aborted' ? 'client-error' : hello.termination);
      return false;
    }
    this.preface = hello.bytes;
    this.sni = hello.serverName;
    const choice = chooseBySni(this.config, hello.serverName);
    this.route = choice.route;
    this.backend = choice.backend === undefined ? undefined : this.version.backends.get(choice.backend);
    this.state = 'waiting';
    if (!this.backend) {
      this.fail('no-route');
      return false;
    }
    return true;
  }

  async run(): Promise<void> {
    if (routesBySni(this.config) && !(await this.peek())) return;
    const backend = this.backend;
    if (!backend) return this.fail('no-backend');
    const exclude = new Set<Slot['server']>();
    const selection = { clientAddress: this.socket.remoteAddress ?? '', uri: '' };
    for (;;) {
      let slot: Slot;
      try {
        const now = backend.tryAcquire(selection, exclude);
        slot = now ?? (await backend.acquire(selection, { exclude, signal: this.abort.signal }));
        if (!now) countQueueWait(this.ctx.counters, backend.name, slot.queuedMs);
      } catch (err) {
        return this.fail(queueTermination(err));
      }
      if (this.done) {
        slot.release();
        return;
      }
      this.queuedMs += slot.queuedMs;
      const t0 = Date.now();
      try {
        const server = await connectTo(slot.server.config.address, backend.config.timeouts.connect);
        slot.connectSucceeded();
        this.connectMs = Date.now() - t0;
        if (this.done) {
          server.destroy();
          slot.release();
          return;
        }
        this.startTunnel(backend, slot, server);
        return;
      } catch (err) {
        const local = localResourceCode(err);
        if (local) {
          // Out of fds/ports/buffers here: not the server's fault, its health is untouched.
          reportLocalShortage(this.ctx.log, local, 'connect to a server', { server: slot.server.config.address.key });
          slot.release();
          return this.fail('local-resources');
        }
        slot.connectFailed(err instanceof Error ? err.message : String(err));
        slot.release();
        exclude.add(slot.server);
        if (this.done) return;
        // Out of retries or of candidates: what failed was connecting (as for HTTP).
        if (this.retries >= backend.config.retries || !backend.hasUsable(exclude)) return this.fail('connect-failed');
        this.retries++;
        this.ctx.counters.retries++;
      }
    }
  }

  private entry(termination: Termination, server: string | undefined): AccessEntry {
    return {
      time: new Date(this.started).toISOString(),
      generation: this.generation,
      pid: this.ctx.pid,
      client: this.client,
      frontend: this.frontend,
      ...(this.sni === undefined ? {} : { host: this.sni }),
      ...(this.route === undefined ? {} : { route: this.route }),
      backend: this.backend?.name,
      server,
      bytes_in: this.preface?.length ?? 0,
      bytes_out: 0,
      timings: { queue: this.queuedMs, connect: this.connectMs, total: Date.now() - this.started },
      termination,
      retries: this.retries || undefined,
    };
  }

  private startTunnel(backend: BackendRuntime, slot: Slot, server: net.Socket): void {
    this.done = true;
    this.socket.off('error', this.onClientGone);
    this.socket.off('close', this.onClientGone);
    // TLS passthrough: the ClientHello (and whatever came with it) goes first, untouched.
    if (this.preface) server.write(this.preface);
    new TunnelSession(this.ctx, {
      frontend: this.frontend,
      generation: this.generation,
      origin: 'tcp',
      client: this.socket,
      server,
      slot,
      backend: backend.name,
      serverName: slot.server.config.name,
      idleTimeout: tunnelTimeout(this.config, backend.config),
      entry: this.entry('ok', slot.server.config.name),
      replaces: this,
    });
  }

  /** No tunnel: TCP has no error page, the client sees the connection close. */
  private fail(termination: Termination, how: 'closed' | 'killed' = 'closed'): void {
    if (this.done) return;
    this.done = true;
    this.socket.destroy();
    if (this.ctx.accessLog.enabled) this.ctx.accessLog.write(this.entry(termination, undefined));
    this.ctx.connections.remove(this, how);
  }

  leave(_mode: LeaveMode): void {
    // Still connecting: it becomes a tunnel, which the drain then asks to leave (replace()).
  }

  kill(): void {
    this.abort.abort();
    this.fail('killed', 'killed');
  }
}
