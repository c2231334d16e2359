// The byte pump of a tunnel (TunnelSession owns the session around it): raw bytes both
// ways between a client socket and a server socket, with the inactivity timer. Back-pressure: a side
// that cannot keep up pauses the other side's reading, so memory stays bounded whatever
// the peers' speeds. Half-close: an end from one side is forwarded as an end to the other,
// and the tunnel finishes when both directions have ended (or one side fails).
// A tunnel can be detached for migration: stop reading both sides, let pending writes
// flush, hand both kernel sockets over; the new worker resumes it as if nothing happened.
import type net from 'node:net';
import { isTlsSocket } from '../tls/backend-tls.js';
import { detachHandle, pendingWriteBytes, resumeReading, stopReading, type TcpHandle } from '../lib/node-handles.js';

/** How a tunnel's pump ended: a Termination for the access log, or 'migrated' (not logged here). */
export type TunnelEnd =
  | 'ok' // both directions ended cleanly
  | 'client-error'
  | 'server-error'
  | 'tunnel-timeout' // inactivity beyond the tunnel timeout
  | 'killed' // closed by the worker (drain deadline, stop)
  | 'migrated'; // handed to another process

export interface TunnelOptions {
  /** Inactivity timeout (ms): no byte in either direction for this long closes the tunnel. */
  readonly idleTimeout: number;
  /** Epoch ms of the last activity (a migrated tunnel continues its timeout). */
  readonly lastActivity?: number;
  /** Called once when the tunnel is over, with why and the bytes moved each way. */
  readonly onEnd: (how: TunnelEnd, bytes: { fromClient: number; fromServer: number }) => void;
}

export interface DetachedTunnel {
  readonly client: TcpHandle;
  readonly server: TcpHandle;
  readonly lastActivity: number;
}

export class Tunnel {
  private fromClient = 0;
  private fromServer = 0;
  private clientEnded = false;
  private serverEnded = false;
  private finished = false;
  private detaching = false;
  private timer: NodeJS.Timeout | undefined;
  lastActivity: number;

  constructor(
    readonly client: net.Socket,
    readonly server: net.Socket,
    private readonly options: TunnelOptions,
  ) {
    this.lastActivity = options.lastActivity ?? Date.now();
    client.on('data', this.onClientData);
    server.on('data', this.onServerData);
    client.on('drain', this.resumeServer);
    server.on('drain', this.resumeClient);
    client.on('end', this.onClientEnd);
    server.on('end', this.onServerEnd);
    client.on('error', this.onClientError);
    server.on('error', this.onServerError);
    client.on('close', this.onClose);
    server.on('close', this.onClose);
    this.armTimer();
    client.resume();
    server.resume();
  }

  /** True once a side has half-closed; such a tunnel is finishing and is not migrated. */
  get halfClosed(): boolean {
    return this.clientEnded || this.serverEnded;
  }

  get bytes() {
    return { fromClient: this.fromClient, fromServer: this.fromServer };
  }

  private readonly onClientData = (chunk: Buffer) => {
    this.fromClient += chunk.length;
    this.lastActivity = Date.now();
    if (!this.server.write(chunk)) this.client.pause();
  };

  private readonly onServerData = (chunk: Buffer) => {
    this.fromServer += chunk.length;
    this.lastActivity = Date.now();
    if (!this.client.write(chunk)) this.server.pause();
  };

  private readonly resumeClient = () => {
    if (!this.detaching) this.client.resume();
  };

  private readonly resumeServer = () => {
    if (!this.detaching) this.server.resume();
  };

  private readonly onClientEnd = () => {
    this.clientEnded = true;
    this.server.end();
    this.maybeDone();
  };

  private readonly onServerEnd = () => {
    this.serverEnded = true;
    this.client.end();
    this.maybeDone();
  };

  private maybeDone() {
    if (this.clientEnded && this.serverEnded) {
      // Both ends forwarded; destroy once the writes have flushed ('finish' after end()).
      const close = () => this.finish('ok');
      let pending = 2;
      const one = () => {
        if (--pending === 0) close();
      };
      for (const s of [this.client, this.server]) {
        if (s.writableFinished) one();
        else s.once('finish', one);
      }
    }
  }

  private readonly onClientError = () => this.finish('client-error');
  private readonly onServerError = () => this.finish('server-error');
  private readonly onClose = () => {
    if (!this.finished && !this.detaching)
      this.finish(
        this.clientEnded && this.serverEnded ? 'ok' : this.client.destroyed && !this.clientEnded ? 'client-error' : 'server-error',
      );
  };

  private armTimer() {
    const wait = Math.max(1, this.lastActivity + this.options.idleTimeout - Date.now());
    this.timer = setTimeout(() => {
      if (this.finished) return;
      if (Date.now() - this.lastActivity >= this.options.idleTimeout) this.finish('tunnel-timeout');
      else this.armTimer();
    }, wait);
  }

  private finish(how: TunnelEnd) {
    if (this.finished) return;
    this.finished = true;
    clearTimeout(this.timer);
    if (how !== 'migrated') {
      this.client.destroy();
      this.server.destroy();
    }
    this.options.onEnd(how, this.bytes);
  }

  /** Close both sides now (drain deadline or stop). */
  kill() {
    this.finish('killed');
  }

  /**
   * Stop both directions and wait until every byte already read has been written to the
   * other side's kernel socket; then take both handles. Resolves undefined when the tunnel
   * ended meanwhile, or when its writes do not flush before `deadline` (a peer that stopped
   * reading): such a tunnel stays here and drains.
   */
  async detach(deadline: number): Promise<DetachedTunnel | undefined> {
    if (this.finished || this.halfClosed) return undefined;
    // A TLS side (TLS to the server) holds its keys in this process: the tunnel stays and drains.
    if (isTlsSocket(this.client) || isTlsSocket(this.server)) return undefined;
    this.detaching = true;
    stopReading(this.client);
    stopReading(this.server);
    // A paused side may hold bytes its stream already read: read() hands them to the
    // 'data' handlers, which forward them to the other side like any other bytes.
    for (const s of [this.client, this.server]) while (s.read() !== null);
    while (pendingWriteBytes(this.client) > 0 || pendingWriteBytes(this.server) > 0) {
      if (this.finished || Date.now() > deadline) break;
      await new Promise((r) => setTimeout(r, 2));
    }
    if (this.finished || pendingWriteBytes(this.client) > 0 || pendingWriteBytes(this.server) > 0) {
      if (!this.finished) {
        this.detaching = false;
        resumeReading(this.client);
        resumeReading(this.server);
        // A side whose peer still has not read what it was sent stays paused until 'drain'.
        if (!this.server.writableNeedDrain) this.client.resume();
        if (!this.client.writableNeedDrain) this.server.resume();
      }
      return undefined;
    }
    for (const s of [this.client, this.server]) {
      s.off('close', this.onClose);
      s.off('error', this.onClientError);
      s.off('error', this.onServerError);
      s.on('error', () => {});
    }
    const lastActivity = this.lastActivity;
    const client = detachHandle(this.client);
    const server = detachHandle(this.server);
    this.finish('migrated');
    return { client, server, lastActivity };
  }
}
