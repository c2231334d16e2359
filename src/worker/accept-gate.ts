// A frontend's `maxconn` in one worker, enforced where it costs nothing: at accept. At
// maxconn the worker closes its copy of the frontend's listening sockets, so excess clients
// wait in the kernel's accept queue (as with HAProxy) instead of each costing this worker a
// file descriptor; below maxconn again it asks the master for the sockets once more and
// listens on them. Node cannot pause accepting on a listening handle, and a closed
// net.Server closes the worker's fd for good (measured: handle.fd is -1 after close(), and
// listen() on it fails with EINVAL), hence the round trip to the master, which holds every
// listening socket for the life of the service.
//
//   accepting ──count reaches maxconn──▶ closed ──count below maxconn──▶ asking ──handle──▶ accepting
//
// Between the moment a worker reaches maxconn and its listener is closed, the accept loop of
// the same event-loop turn may still hand it a connection: such a connection waits here,
// unread, and is served when one ends (bounded by what one accept batch can bring). Without
// a master to ask (standalone runtimes), the gate only does that: connections past maxconn
// wait here, unread.
//
// EMFILE at accept: libuv answers it by closing its reserve fd, accepting and closing every
// pending connection, and reopening the reserve; Node reports nothing then, or an 'error' on
// the server when no reserve was left. The gate logs that once per interval with its cause;
// the listener keeps accepting, and maxconn below the fd limit is what prevents it.
import type net from 'node:net';
import { closeHandle, listenOnHandle, type TcpHandle } from '../lib/node-handles.js';
import type { Logger } from '../observe/logger.js';
import type { ConnectionRegistry } from './connections.js';
import { localResourceCode, reportLocalShortage } from './local-resources.js';

/** What the gate needs of a frontend. */
export interface GatedFrontend {
  readonly config: { readonly name: string; readonly maxconn?: number | undefined; readonly binds: readonly { readonly key: string }[] };
  accept(socket: net.Socket): void;
}

export interface AcceptGateOptions {
  readonly connections: ConnectionRegistry;
  readonly log: Logger;
  /** The worker's accepting servers by listener key (the gate removes and puts back entries). */
  readonly servers: Map<string, net.Server>;
  /** A new server for a listener key, whose connections come to admit() (with the frontend in force). */
  readonly createServer: (key: string) => net.Server;
  /** Ask the master for a listening socket again; undefined: refused or no answer. Absent: never close. */
  readonly reacquire?: (key: string) => Promise<TcpHandle | undefined>;
}

export class AcceptGate {
  /** Connections accepted past maxconn (the turn that reached it), unread. */
  private readonly waiting = new Map<GatedFrontend, net.Socket[]>();
  /** Listener keys closed at maxconn, with their frontend. */
  private readonly closed = new Map<string, GatedFrontend>();
  private readonly asking = new Set<string>();
  private stopped = false;

  constructor(private readonly o: AcceptGateOptions) {}

  /** A connection accepted on one of `fe`'s listeners. */
  admit(fe: GatedFrontend, socket: net.Socket): void {
    const max = fe.config.maxconn;
    if (max === undefined) {
      fe.accept(socket);
      return;
    }
    const count = this.o.connections.countFor(fe.config.name);
    if (count < max && !this.waiting.get(fe)?.length) fe.accept(socket);
    else this.park(fe, socket);
    if (this.o.connections.countFor(fe.config.name) >= max) this.closeListeners(fe);
  }

  private park(fe: GatedFrontend, socket: net.Socket) {
    let list = this.waiting.get(fe);
    if (!list) {
      list = [];
      this.waiting.set(fe, list);
    }
    list.push(socket);
    socket.once('close', () => {
      const i = list.indexOf(socket);
      if (i >= 0) list.splice(i, 1);
    });
    socket.on('error', () => {});
  }

  /** At maxconn: stop accepting on every listener of the frontend (the kernel queues the rest). */
  private closeListeners(fe: GatedFrontend) {
    if (!this.o.reacquire || this.stopped) return;
    for (const { key } of fe.config.binds) {
      const server = this.o.servers.get(key);
      if (!server) continue;
      this.o.servers.delete(key);
      this.closed.set(key, fe);
      server.close();
    }
  }

  /** A connection of `frontend` ended: serve a waiting one, or listen again below maxconn. */
  onRemoved(frontend: string): void {
    for (const [fe, list] of this.waiting) {
      if (fe.config.name !== frontend || list.length === 0) continue;
      if (this.o.connections.countFor(frontend) < (fe.config.maxconn ?? Infinity)) fe.accept(list.shift()!);
    }
    if (this.closed.size === 0 || this.stopped) return;
    for (const [key, fe] of this.closed) {
      if (fe.config.name !== frontend || this.asking.has(key)) continue;
      if (this.o.connections.countFor(frontend) >= (fe.config.maxconn ?? Infinity)) continue;
      this.listenAgain(key, fe);
    }
  }

  private listenAgain(key: string, fe: GatedFrontend) {
    this.asking.add(key);
    void this.o.reacquire!(key).then(async (handle) => {
      this.asking.delete(key);
      if (!handle) return; // refused (draining, key gone) or no answer: the next end asks again
      if (this.stopped || !this.closed.has(key)) {
        await closeHandle(handle);
        return;
      }
      const server = this.o.createServer(key);
      try {
        await listenOnHandle(server, handle);
      } catch (err) {
        this.o.log.error('cannot listen again after maxconn', { frontend: fe.config.name, key, error: (err as Error).message });
        await closeHandle(handle);
        return;
      }
      if (this.stopped) {
        server.close();
        return;
      }
      this.closed.delete(key);
      this.o.servers.set(key, server);
      // Connections adopted meanwhile may have filled it again.
      if (this.o.connections.countFor(fe.config.name) >= (fe.config.maxconn ?? Infinity)) this.closeListeners(fe);
    });
  }

  /** An 'error' from a listening server (accept failed). */
  serverError(fe: GatedFrontend, err: Error): void {
    const code = localResourceCode(err);
    if (code) reportLocalShortage(this.o.log, code, 'accept', { frontend: fe.config.name });
    else this.o.log.error('listener error', { frontend: fe.config.name, error: err.message });
  }

  /** The worker stops accepting for good (drain, stop): hand back the connections that waited, never listen again. */
  stop(): Array<[GatedFrontend, net.Socket]> {
    this.stopped = true;
    this.closed.clear();
    const out: Array<[GatedFrontend, net.Socket]> = [];
    for (const [fe, list] of this.waiting) for (const socket of list.splice(0)) out.push([fe, socket]);
    return out;
  }
}
