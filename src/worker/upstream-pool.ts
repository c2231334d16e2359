// Keep-alive connections to servers, per server, per worker. A connection is lent to one
// client exchange at a time and comes back when its response ended cleanly; idle ones are
// reused most-recently-idle first (the least likely to have been closed by the server) and
// closed after POOL_IDLE_MS, below the 5 s idle timeout of Node's http servers, the most
// common backend, so the proxy closes first rather than racing the server's close.
import type net from 'node:net';
import type { ServerState } from '../backend/types.js';
import { HeadScanner } from './http/head-scanner.js';
import { sameTransport } from '../tls/backend-tls.js';

export const POOL_IDLE_MS = 4000;
/** Idle connections kept per server at most (in-use ones are bounded by maxconn). */
const POOL_MAX_IDLE = 256;

/** The exchange currently using an upstream connection receives its events. */
export interface UpstreamUser {
  onUpstreamData(chunk: Buffer): void;
  onUpstreamEnd(): void;
  onUpstreamClose(hadError: boolean): void;
  onUpstreamDrain(): void;
}

export class UpstreamConnection {
  user: UpstreamUser | undefined;
  idleSince = 0;
  /** Requests sent on this connection so far (a reused connection may have been closed by the server meanwhile). */
  requests = 0;
  readonly scanner = new HeadScanner();
  closed = false;

  constructor(
    readonly socket: net.Socket,
    readonly server: ServerState,
    private readonly pool: UpstreamPool,
  ) {
    socket.on('data', this.onData);
    socket.on('end', this.onEnd);
    socket.on('close', this.onClose);
    socket.on('drain', this.onDrain);
    socket.on('error', noop); // 'close' follows with hadError
  }

  private readonly onData = (chunk: Buffer) => {
    if (this.user) this.user.onUpstreamData(chunk);
    else this.destroy(); // bytes from an idle server connection: not reusable
  };
  private readonly onEnd = () => {
    if (this.user) this.user.onUpstreamEnd();
    else this.destroy();
  };
  private readonly onClose = (hadError: boolean) => {
    this.closed = true;
    this.pool.forget(this);
    const u = this.user;
    this.user = undefined;
    u?.onUpstreamClose(hadError);
  };
  private readonly onDrain = () => this.user?.onUpstreamDrain();

  destroy(): void {
    this.user = undefined;
    this.closed = true;
    this.pool.forget(this);
    this.socket.destroy();
  }

  /** Hand the socket over for good (an upgraded connection becomes a tunnel). */
  detachSocket(): net.Socket {
    this.user = undefined;
    this.closed = true;
    this.pool.forget(this);
    this.socket.off('data', this.onData);
    this.socket.off('end', this.onEnd);
    this.socket.off('close', this.onClose);
    this.socket.off('drain', this.onDrain);
    this.socket.off('error', noop);
    return this.socket;
  }
}

function noop() {}

export class UpstreamPool {
  private readonly idle = new Map<ServerState, UpstreamConnection[]>();
  private timer: NodeJS.Timeout | undefined;

  /** An idle connection to this server, or undefined. `maxIdleMs` limits how long it may have been idle. */
  take(server: ServerState, maxIdleMs = POOL_IDLE_MS): UpstreamConnection | undefined {
    const list = this.idle.get(server);
    if (!list) return undefined;
    const now = Date.now();
    while (list.length > 0) {
      const c = list.pop()!;
      if (c.closed || c.socket.destroyed || c.socket.readableEnded) continue;
      // A live apply changed the server's TLS settings: never reuse a plain connection for TLS,
      // or one made with other settings (src/tls/backend-tls.ts).
      if (!sameTransport(c.socket, server.config)) {
        c.destroy();
        continue;
      }
      if (now - c.idleSince > maxIdleMs) {
        // Too old for this request (a non-idempotent one reuses only fresh connections).
        list.push(c);
        return undefined;
      }
      return c;
    }
    return undefined;
  }

  create(socket: net.Socket, server: ServerState): UpstreamConnection {
    return new UpstreamConnection(socket, server, this);
  }

  /** A connection whose exchange ended cleanly goes back for reuse. */
  put(c: UpstreamConnection): void {
    c.user = undefined;
    if (c.closed) return;
    if (c.server.retired) {
      // Removed by a live apply: its in-flight request finished, nothing new goes there.
      c.destroy();
      return;
    }
    let list = this.idle.get(c.server);
    if (!list) {
      list = [];
      this.idle.set(c.server, list);
    }
    if (list.length >= POOL_MAX_IDLE) {
      c.destroy();
      return;
    }
    c.idleSince = Date.now();
    c.scanner.reset();
    list.push(c);
    if (!this.timer) {
      this.timer = setInterval(this.sweep, 1000);
      this.timer.unref();
    }
  }

  forget(c: UpstreamConnection): void {
    const list = this.idle.get(c.server);
    if (!list) return;
    const i = list.indexOf(c);
    if (i >= 0) list.splice(i, 1);
  }

  private readonly sweep = () => {
    const now = Date.now();
    let any = false;
    for (const list of this.idle.values()) {
      // Oldest first in the list: close from the front while expired.
      while (list.length > 0 && now - list[0]!.idleSince > POOL_IDLE_MS) list.shift()!.destroy();
      if (list.length > 0) any = true;
    }
    if (!any && this.timer) {
      clearInterval(this.timer);
      this.timer = undefined;
    }
  };

  /** After a live apply: idle connections to servers no longer in the config close. */
  closeRetired(): void {
    for (const [server, list] of this.idle) {
      if (!server.retired) continue;
      for (const c of [...list]) c.destroy();
      this.idle.delete(server);
    }
  }

  closeAll(): void {
    for (const list of this.idle.values()) for (const c of [...list]) c.destroy();
    this.idle.clear();
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
  }
}
