// mode: tcp. Each client connection gets a server from the frontend's default backend
// (first candidate, then fallbacks on connection failure, waiting in the backend queue when
// every server is at maxconn), then becomes a Tunnel. A drain lets tunnels run until the
// deadline, or migrates them to the new generation.
import type net from 'node:net';
import type { Frontend } from '../config/types.js';
import { tunnelTimeout } from '../config/timeouts.js';
import type { Slot } from '../backend/types.js';
import type { BackendRuntime } from '../backend/backend-runtime.js';
import { HandoffError } from '../lib/errors.js';
import { adoptHandle, type TcpHandle } from '../lib/node-handles.js';
import type { ConnectionState } from '../protocol/counters.js';
import type { TunnelResume } from '../protocol/ipc.js';
import type { ClientConnection, ConnectionEnd, ReleaseMode } from './connections.js';
import { countQueueWait, peerAddress, type CompiledFrontend, type ConfigVersion, type WorkerContext } from './context.js';
import { Tunnel, type TunnelEnd } from './tunnel.js';
import { localResourceCode, reportLocalShortage } from './local-resources.js';
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
    // Routes by sni: the backend is chosen once the ClientHello is read.
    const backend = routesBySni(this.config) ? undefined : this.backend;
    new TcpSession(this.config, backend, this.ctx, socket, this.version.generation, this.version).start();
  }

  /** A tunnel migrated from an older generation: both sockets, resumed as they were. */
  adoptTunnel(client: TcpHandle, server: TcpHandle, resume: TunnelResume): void {
    const backend = this.version.backends.get(resume.backend);
    const session = new TcpSession(this.config, backend, this.ctx, adoptHandle(client), this.version.generation, this.version);
    session.resume(adoptHandle(server), resume);
  }
}

class TcpSession implements ClientConnection {
  readonly id: number;
  readonly frontend: string;
  state: ConnectionState = 'waiting';
  private slot: Slot | undefined;
  private tunnel: Tunnel | undefined;
  private releaseMode: ReleaseMode | undefined;
  private readonly started = Date.now();
  private readonly client: string;
  private readonly abort = new AbortController();
  private retries = 0;
  private queuedMs = 0;
  private connectMs = 0;
  private serverName: string | undefined;
  private backendName: string | undefined;
  private ended = false;
  private migrated = false;
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
    this.backendName = backend?.name;
    // Nothing is read from the client until a server is connected: its first bytes wait
    // in the kernel, which also keeps them intact if the connection has to move.
    socket.pause();
    socket.setNoDelay(true);
    socket.on('error', this.onEarlyClientGone);
    socket.on('close', this.onEarlyClientGone);
    ctx.connections.add(this);
  }

  start(): void {
    if (routesBySni(this.config)) void this.peekThenConnect();
    else void this.connect();
  }

  /**
   * TLS passthrough: read the ClientHello (bounded: 16 KiB, timeouts.client), choose the
   * backend by its server_name, then connect as usual. A drain meanwhile does not cut it:
   * the peek finishes here, and the tunnel then migrates at once (releaseMode).
   */
  private async peekThenConnect(): Promise<void> {
    this.state = 'reading';
    const hello = await readClientHello(this.socket, { timeoutMs: this.config.timeouts.client, signal: this.abort.signal });
    if (this.ended) return;
    if (!hello.ok) {
      if (hello.termination === 'bad-client-hello' || hello.termination === 'client-hello-timeout') {
        countTlsFailure(this.ctx.counters, hello.termination);
        this.ctx.log.debug('tls passthrough: ClientHello refused', { frontend: this.frontend, client: this.client, detail: hello.detail });
      }
      return this.fail(hello.termination === 'aborted' ? 'client-error' : hello.termination);
    }
    this.preface = hello.bytes;
    this.sni = hello.serverName;
    const choice = chooseBySni(this.config, hello.serverName);
    this.route = choice.route;
    this.backendName = choice.backend;
    this.backend = choice.backend === undefined ? undefined : this.version.backends.get(choice.backend);
    if (!this.backend) return this.fail('no-route');
    this.state = 'waiting';
    await this.connect();
  }

  private readonly onEarlyClientGone = () => {
    if (this.tunnel === undefined) {
      this.abort.abort();
      this.end('client-error', 'killed');
    }
  };

  private async connect(): Promise<void> {
    const backend = this.backend;
    if (!backend) return this.fail('no backend');
    const exclude = new Set<Slot['server']>();
    const ctxSel = { clientAddress: this.socket.remoteAddress ?? '', uri: '' };
    for (;;) {
      let slot: Slot;
      try {
        const now = backend.tryAcquire(ctxSel, exclude);
        slot = now ?? (await backend.acquire(ctxSel, { exclude, signal: this.abort.signal }));
        if (!now) countQueueWait(this.ctx.counters, backend.name, slot.queuedMs);
      } catch (err) {
        return this.fail(err instanceof HandoffError ? err.code : String(err));
      }
      if (this.ended) {
        slot.release();
        return;
      }
      this.queuedMs += slot.queuedMs;
      const t0 = Date.now();
      try {
        const server = await connectTo(slot.server.config.address, backend.config.timeouts.connect);
        slot.connectSucceeded();
        this.connectMs = Date.now() - t0;
        if (this.ended) {
          server.destroy();
          slot.release();
          return;
        }
        this.slot = slot;
        this.serverName = slot.server.config.name;
        this.startTunnel(server);
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
        if (this.ended) return;
        if (this.retries >= backend.config.retries) return this.fail(err instanceof HandoffError ? err.code : 'connect failed');
        this.retries++;
        this.ctx.counters.retries++;
      }
    }
  }

  private tunnelTimeout(): number {
    return tunnelTimeout(this.config, this.backend?.config);
  }

  private startTunnel(server: net.Socket, resume?: TunnelResume): void {
    this.socket.off('error', this.onEarlyClientGone);
    this.socket.off('close', this.onEarlyClientGone);
    this.state = 'tunnel';
    // TLS passthrough: the ClientHello (and whatever came with it) goes first, untouched.
    if (this.preface) server.write(this.preface);
    this.tunnel = new Tunnel(this.socket, server, {
      idleTimeout: this.tunnelTimeout(),
      ...(resume ? { lastActivity: resume.lastActivity } : {}),
      onEnd: (how, bytes) => this.onTunnelEnd(how, bytes),
    });
    if (this.releaseMode === 'migrate') void this.migrate();
  }

  /** Continue a tunnel that another worker started. */
  resume(server: net.Socket, resume: TunnelResume): void {
    this.ctx.counters.migratedIn++;
    this.migrated = true;
    this.backendName = resume.backend;
    this.serverName = resume.server;
    const srv = this.backend?.server(resume.server);
    if (srv && srv.config.address.host === server.remoteAddress && srv.config.address.port === server.remotePort) {
      this.slot = this.backend!.adoptSlot(srv);
    } else {
      this.ctx.log.info('migrated tunnel keeps its connection to a server that is no longer in the config', {
        frontend: this.frontend,
        backend: resume.backend,
        server: resume.server,
        client: resume.clientAddress,
      });
    }
    this.startTunnel(server, resume);
  }

  private onTunnelEnd(how: TunnelEnd, tunnelBytes: { fromClient: number; fromServer: number }) {
    const bytes = { ...tunnelBytes, fromClient: tunnelBytes.fromClient + (this.preface?.length ?? 0) };
    this.ctx.counters.bytesIn += bytes.fromClient;
    this.ctx.counters.bytesOut += bytes.fromServer;
    if (how === 'migrated') return;
    this.end(how === 'done' ? 'ok' : how, how === 'killed' ? 'killed' : 'closed', bytes);
  }

  private fail(reason: string) {
    // TCP has no error page: the client sees the connection close.
    this.end(reason, 'closed');
  }

  private end(termination: string, how: ConnectionEnd, bytes = { fromClient: 0, fromServer: 0 }) {
    if (this.ended) return;
    this.ended = true;
    this.state = 'closing';
    this.slot?.release();
    this.slot = undefined;
    if (how !== 'migrated') {
      if (this.tunnel === undefined) this.socket.destroy();
      this.ctx.accessLog.write({
        time: new Date(this.started).toISOString(),
        generation: this.generation,
        pid: this.ctx.pid,
        client: this.client,
        frontend: this.frontend,
        host: this.sni,
        route: this.route,
        backend: this.backendName,
        server: this.serverName,
        bytes_in: bytes.fromClient,
        bytes_out: bytes.fromServer,
        timings: { queue: this.queuedMs, connect: this.connectMs, total: Date.now() - this.started },
        termination,
        retries: this.retries || undefined,
        migrated: this.migrated || undefined,
      });
    }
    this.ctx.connections.remove(this, how);
  }

  release(mode: ReleaseMode): void {
    this.releaseMode = mode;
    // 'close': a tunnel is not cut by a drain; it runs until the drain deadline kills it.
    if (mode === 'migrate' && this.tunnel) void this.migrate();
  }

  private async migrate(): Promise<void> {
    const migrator = this.ctx.migrator;
    const tunnel = this.tunnel;
    if (!migrator || !tunnel || this.ended) return;
    const detached = await tunnel.detach(Date.now() + 1000);
    if (!detached) return; // half-closed or a peer that stopped reading: it drains here
    const resume: TunnelResume = {
      backend: this.backendName ?? '',
      server: this.serverName ?? '',
      origin: 'tcp',
      lastActivity: detached.lastActivity,
      clientAddress: this.client,
      clientEnded: false,
      serverEnded: false,
    };
    this.ctx.counters.migratedOut++;
    this.end('migrated', 'migrated');
    migrator.migrateTunnel(this.frontend, detached.client, detached.server, resume);
  }

  kill(): void {
    this.abort.abort();
    if (this.tunnel) this.tunnel.kill();
    else this.end('killed', 'killed');
  }
}
