// One tunnel session, for both kinds of tunnel: a TCP-mode connection once its server is
// connected, and an HTTP connection after a 101 (WebSocket or any Upgrade). It owns what the
// two used to each do their own way: the connection registry entry, the server slot, the
// inactivity timeout (through the pump, tunnel.ts), migration to a newer generation, and
// the one access-log entry, written when the tunnel ends, wherever it ends.
//
//   open ──drain asks 'migrate'──▶ migrating ──handles sent──▶ ended
//     │                               │
//     │                               └──not detachable (half-closed, peer not reading)──▶ open
//     └──both directions done, error, timeout, kill──▶ ended
//
// A drain with 'close' does not cut a tunnel: it runs until the drain deadline kills it
// (design.md, "Drain and migration").
import type net from 'node:net';
import type { BackendRuntime } from '../backend/backend-runtime.js';
import type { Slot } from '../backend/types.js';
import { HandoffError } from '../lib/errors.js';
import { adoptHandle, type TcpHandle } from '../lib/node-handles.js';
import type { AccessEntry, Termination } from '../observe/access-entry.js';
import type { ConnectionState } from '../protocol/counters.js';
import type { TunnelResume } from '../protocol/ipc.js';
import type { ClientConnection, LeaveMode } from './connections.js';
import { countFinishedRequest, type WorkerContext } from './context.js';
import { Tunnel, type TunnelEnd } from './tunnel.js';

export type TunnelPhase = 'open' | 'migrating' | 'ended';

const LEGAL: Readonly<Record<TunnelPhase, readonly TunnelPhase[]>> = {
  open: ['migrating', 'ended'],
  migrating: ['open', 'ended'],
  ended: [],
};

export interface TunnelSessionInit {
  readonly frontend: string;
  /** Config generation the session runs under (log lines). */
  readonly generation: number;
  readonly origin: TunnelResume['origin'];
  readonly client: net.Socket;
  readonly server: net.Socket;
  /** The server slot the tunnel holds (maxconn); undefined when its server left the config. */
  readonly slot: Slot | undefined;
  readonly backend: string;
  readonly serverName: string;
  readonly idleTimeout: number;
  /** The access-log entry so far; completed (bytes, total, termination) when the tunnel ends. */
  readonly entry: AccessEntry;
  /** Epoch ms of the last byte either way (a migrated tunnel continues its timeout). */
  readonly lastActivity?: number;
  /** The registry entry this session takes over (the HTTP connection that upgraded). */
  readonly replaces?: ClientConnection;
}

export class TunnelSession implements ClientConnection {
  readonly id: number;
  readonly frontend: string;
  readonly state: ConnectionState = 'tunnel';
  private phase: TunnelPhase = 'open';
  private slot: Slot | undefined;
  private readonly pump: Tunnel;
  private readonly entry: AccessEntry;
  private readonly started: number;

  constructor(
    private readonly ctx: WorkerContext,
    private readonly init: TunnelSessionInit,
  ) {
    this.id = ctx.connections.newId();
    this.frontend = init.frontend;
    this.slot = init.slot;
    this.entry = init.entry;
    this.started = Date.parse(init.entry.time);
    this.pump = new Tunnel(init.client, init.server, {
      idleTimeout: init.idleTimeout,
      ...(init.lastActivity === undefined ? {} : { lastActivity: init.lastActivity }),
      onEnd: (how, bytes) => this.ended(how, bytes),
    });
    // Registered last: a draining registry asks the session to leave at once.
    if (init.replaces) ctx.connections.replace(init.replaces, this);
    else ctx.connections.add(this);
  }

  /**
   * A tunnel migrated from an older generation: both sockets, resumed as they were. Its
   * server keeps its slot when the server is still in this config at the same address.
   */
  static adopt(
    ctx: WorkerContext,
    frontend: string,
    generation: number,
    backend: BackendRuntime | undefined,
    idleTimeout: number,
    client: TcpHandle,
    server: TcpHandle,
    resume: TunnelResume,
  ): TunnelSession {
    const clientSocket = adoptHandle(client);
    const serverSocket = adoptHandle(server);
    const srv = backend?.server(resume.server);
    const slot =
      srv && srv.config.address.host === serverSocket.remoteAddress && srv.config.address.port === serverSocket.remotePort
        ? backend!.adoptSlot(srv)
        : undefined;
    if (!slot)
      ctx.log.info('migrated tunnel keeps its connection to a server that is no longer in the config', {
        frontend,
        backend: resume.backend,
        server: resume.server,
        client: resume.clientAddress,
      });
    ctx.counters.migratedIn++;
    const entry: AccessEntry = resume.entry
      ? { ...resume.entry, migrated: true }
      : {
          time: new Date(resume.lastActivity).toISOString(),
          generation,
          pid: ctx.pid,
          client: resume.clientAddress,
          frontend,
          backend: resume.backend,
          server: resume.server,
          bytes_in: 0,
          bytes_out: 0,
          timings: { total: 0 },
          termination: 'ok',
          migrated: true,
        };
    return new TunnelSession(ctx, {
      frontend,
      generation,
      origin: resume.origin,
      client: clientSocket,
      server: serverSocket,
      slot,
      backend: resume.backend,
      serverName: resume.server,
      idleTimeout,
      entry,
      lastActivity: resume.lastActivity,
    });
  }

  private transition(to: TunnelPhase): void {
    if (!LEGAL[this.phase].includes(to))
      throw new HandoffError('HANDOFF_ERR_INTERNAL', 'internal', `tunnel session: illegal transition ${this.phase} → ${to}`);
    this.phase = to;
  }

  leave(mode: LeaveMode): void {
    // 'close': a tunnel is not cut by a drain; it runs until the drain deadline kills it.
    if (mode === 'migrate' && this.phase === 'open') void this.migrate();
  }

  kill(): void {
    if (this.phase !== 'ended') this.pump.kill();
  }

  /** The pump is over: count, log (unless it moved on), give the slot back, unregister. */
  private ended(how: TunnelEnd, bytes: { fromClient: number; fromServer: number }): void {
    const c = this.ctx.counters;
    c.bytesIn += bytes.fromClient;
    c.bytesOut += bytes.fromServer;
    const e = this.entry;
    e.bytes_in += bytes.fromClient;
    e.bytes_out += bytes.fromServer;
    this.slot?.release();
    this.slot = undefined;
    if (this.phase === 'ended') return;
    if (how === 'migrated') return; // migrate() finishes the move
    this.transition('ended');
    this.writeEntry(how);
    this.ctx.connections.remove(this, how === 'killed' ? 'killed' : 'closed');
  }

  private writeEntry(termination: Termination): void {
    const e = this.entry;
    const total = Date.now() - this.started;
    e.timings.total = total;
    e.termination = termination;
    e.generation = this.init.generation;
    e.pid = this.ctx.pid;
    if (this.init.origin === 'upgrade') countFinishedRequest(this.ctx.counters, this.frontend, this.init.backend, 101, total);
    if (this.ctx.accessLog.enabled) this.ctx.accessLog.write(e);
  }

  /**
   * Stop both directions, let what was read flush, and pass both sockets to the master for
   * the active generation. A half-closed tunnel, or one whose peer does not read, stays.
   */
  private async migrate(): Promise<void> {
    const migrator = this.ctx.migrator;
    if (!migrator) return;
    this.transition('migrating');
    const detached = await this.pump.detach(Date.now() + 1000);
    if (this.phase !== 'migrating') return; // ended meanwhile
    if (!detached) {
      this.transition('open');
      return;
    }
    this.transition('ended');
    const resume: TunnelResume = {
      backend: this.init.backend,
      server: this.init.serverName,
      origin: this.init.origin,
      lastActivity: detached.lastActivity,
      clientAddress: this.entry.client,
      entry: this.entry,
    };
    this.ctx.counters.migratedOut++;
    this.ctx.connections.remove(this, 'migrated');
    migrator.migrateTunnel(this.frontend, detached.client, detached.server, resume);
  }
}
