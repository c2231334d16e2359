// Every Node.js internal handoff depends on lives in this one file, so a Node upgrade that
// changes one of them breaks here, loudly, in test/lib/node-handles.test.ts.
//
// Why internals at all:
// - Listening sockets: the master must BIND without LISTENING (a master that listens
//   accepts, and swallows, connections) and hand the same kernel socket to every worker,
//   which listens and accepts on it. Node's own cluster module does exactly this with
//   `net._createServerHandle`; there is no public API for it.
// - Connection migration: a live client connection must leave a worker without a byte
//   being read by the sender after it decided to move it, and arrive in another worker as
//   a socket. Public `socket.pause()` keeps reading into the stream buffer, and sending a
//   net.Socket through child_process ties the sending net.Server's close() to the receiver
//   (the "socket list" protocol), so we stop the handle's reader ourselves and pass the
//   raw TCP handle (child_process type 'net.Native'), which carries no such protocol.
import net from 'node:net';
import { readlinkSync } from 'node:fs';
import { getSystemErrorName } from 'node:util';
import { HandoffError } from './errors.js';
import type { SocketAddress } from './socket-address.js';

/** The native TCP handle (TCPWrap) as far as handoff uses it. Opaque elsewhere. */
export interface TcpHandle {
  readonly fd: number;
  close(cb?: () => void): void;
  readStop(): number;
  readStart(): number;
  reading?: boolean;
  onread?: unknown;
  readonly writeQueueSize: number;
}

type CreateServerHandle = (
  address: string | null,
  port: number,
  addressType: number,
  fd: number | undefined,
  flags: number,
) => TcpHandle | number;

// libuv's UV_TCP_IPV6ONLY: an IPv6 bind does not also take the IPv4 port, so
// "0.0.0.0:80" and "[::]:80" can both be configured.
const UV_TCP_IPV6ONLY = 1;

function internalCreateServerHandle(): CreateServerHandle {
  const fn = (net as unknown as { _createServerHandle?: CreateServerHandle })._createServerHandle;
  if (typeof fn !== 'function') {
    throw new Error(
      `node ${process.version}: net._createServerHandle is gone; handoff cannot bind listening sockets without listening (see src/lib/node-handles.ts)`,
    );
  }
  return fn;
}

export class BindError extends HandoffError {
  constructor(
    readonly address: string,
    readonly errno: string,
  ) {
    super('HANDOFF_ERR_BIND', 'config', `cannot bind ${address}: ${errno}`);
    this.name = 'BindError';
  }
}

/**
 * Bind a TCP socket to the address WITHOUT listening. The returned handle is held by the
 * master for the service's life and sent to workers, which call listen on it.
 */
export function bindListenHandle(address: SocketAddress): TcpHandle {
  const create = internalCreateServerHandle();
  const result = create(address.host, address.port, address.family, undefined, address.family === 6 ? UV_TCP_IPV6ONLY : 0);
  if (typeof result === 'number') throw new BindError(address.key, getSystemErrorName(result));
  // libuv defers EADDRINUSE from bind() to listen() (uv__tcp_bind's delayed_error); the
  // master never listens, so ask getsockname, which reports the delayed error.
  const out: { port?: number } = {};
  const err = (result as unknown as { getsockname(o: object): number }).getsockname(out);
  if (err < 0) {
    result.close();
    throw new BindError(address.key, getSystemErrorName(err));
  }
  return result;
}

/** The address a handle is bound to (the real port when bound to port 0). */
export function handleAddress(handle: TcpHandle): { address: string; port: number; family: string } {
  const out = {} as { address: string; port: number; family: string };
  const err = (handle as unknown as { getsockname(o: object): number }).getsockname(out);
  if (err < 0) throw new Error(`getsockname: ${getSystemErrorName(err)}`);
  return out;
}

/** True for a value that is a native TCP handle (as received with an IPC message). */
export function isTcpHandle(value: unknown): value is TcpHandle {
  return (
    typeof value === 'object' && value !== null && value.constructor?.name === 'TCP' && typeof (value as TcpHandle).readStart === 'function'
  );
}

/**
 * Listen on a handle received from the master. Every worker of every generation calls this
 * on its own copy of the same kernel socket: one LISTEN socket per address, whatever the
 * number of processes (the kernel hands each accepted connection to one of them).
 */
export function listenOnHandle(server: net.Server, handle: TcpHandle, backlog = 511): Promise<void> {
  return new Promise((resolve, reject) => {
    const onError = (err: Error) => reject(err);
    server.once('error', onError);
    server.listen({ handle, backlog } as unknown as net.ListenOptions, () => {
      server.off('error', onError);
      resolve();
    });
  });
}

/** The kernel socket inode behind a handle ("socket:[12345]" in /proc/self/fd), for status and tests. */
export function handleInode(handle: TcpHandle): number | undefined {
  try {
    const m = /^socket:\[(\d+)\]$/.exec(readlinkSync(`/proc/self/fd/${handle.fd}`));
    return m ? Number(m[1]) : undefined;
  } catch {
    return undefined;
  }
}

/** The native handle of a connected socket, or undefined once it is closed or detached. */
export function socketHandle(socket: net.Socket): TcpHandle | undefined {
  return (socket as unknown as { _handle: TcpHandle | null })._handle ?? undefined;
}

/**
 * Bytes handed to the socket but not yet written to the kernel (stream buffer + libuv queue).
 * On a TLSSocket (issue 11) the handle is the TLSWrap, whose writeQueueSize counts what the
 * TLS layer has not yet written below it; both return to 0 once everything is flushed, and
 * a backlog above the stream's highWaterMark always has a write that returned false, so
 * 'drain' follows (test/e2e/tls-termination.test.ts, back-pressure and pipelining).
 */
export function pendingWriteBytes(socket: net.Socket): number {
  const h = socketHandle(socket);
  return socket.writableLength + (h ? h.writeQueueSize : 0);
}

/**
 * Stop reading from the kernel at once, and keep it stopped. socket.pause() is not enough:
 * a paused stream goes on reading until its buffer is full, and net.Socket restarts the
 * handle's reader whenever the stream asks for more (Socket._read checks only
 * `_handle.reading`). So the reader is stopped and the flag left set: net.Socket then
 * believes it is reading and never restarts it. Bytes still in the kernel stay there
 * and move with the socket. resumeReading() undoes it.
 */
export function stopReading(socket: net.Socket): void {
  const h = socketHandle(socket);
  if (!h) return;
  h.readStop();
  h.reading = true;
}

/** Undo stopReading(): the kernel reader runs again (a migration that did not happen). */
export function resumeReading(socket: net.Socket): void {
  const h = socketHandle(socket);
  if (!h) return;
  h.readStart();
  h.reading = true;
}

/**
 * Bytes the socket's stream has read from the kernel but not yet delivered (a paused
 * stream buffers). Removes them from the stream. Call after stopReading().
 */
export function takeBuffered(socket: net.Socket): Buffer {
  const chunks: Buffer[] = [];
  const listeners = socket.listeners('data') as ((b: Buffer) => void)[];
  socket.removeAllListeners('data');
  for (let chunk = socket.read() as Buffer | null; chunk !== null; chunk = socket.read() as Buffer | null) chunks.push(chunk);
  for (const l of listeners) socket.on('data', l);
  return chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks);
}

/**
 * Take the native handle away from a socket so it can be sent to another process. The
 * socket object is destroyed without closing the kernel socket (its handle is gone), which
 * also settles its net.Server's connection count. The caller must have stopped reading and
 * waited for pending writes to flush (pendingWriteBytes() === 0), or bytes are lost.
 * Returns the handle; close it once the send has completed.
 */
export function detachHandle(socket: net.Socket): TcpHandle {
  const h = socketHandle(socket);
  if (!h) throw new Error('socket has no handle to detach');
  stopReading(socket);
  h.onread = () => {};
  const s = socket as unknown as { _handle: TcpHandle | null; _sockname: unknown };
  s._handle = null;
  s._sockname = null;
  socket.setTimeout(0);
  socket.removeAllListeners('data');
  socket.destroy();
  return h;
}

/** Wrap a received connection handle in a socket that reads and writes as usual (paused: call resume or add a 'data' listener). */
export function adoptHandle(handle: TcpHandle): net.Socket {
  const socket = new net.Socket({ handle, readable: true, writable: true } as unknown as net.SocketConstructorOpts);
  socket.pause();
  return socket;
}

/** Close a handle this process holds (after forwarding it, or on shutdown). Idempotent enough: errors are ignored. */
export function closeHandle(handle: TcpHandle): Promise<void> {
  return new Promise((resolve) => {
    try {
      handle.close(() => resolve());
    } catch {
      resolve();
    }
  });
}

/**
 * Put a stream's fd back in non-blocking mode (libuv's uv_stream_set_blocking, through the
 * handle's setBlocking). For stdout/stderr over a socket shared with other processes, whose
 * O_NONBLOCK any of them can clear: libuv clears it in every child it spawns with inherited
 * stdio, and Node restores at exit the flags it saw at start. False if there is no such handle.
 */
export function makeNonBlocking(stream: net.Socket): boolean {
  const h = (stream as unknown as { _handle?: { setBlocking?: (blocking: boolean) => number } | null })._handle;
  if (!h || typeof h.setBlocking !== 'function') return false;
  return h.setBlocking(false) === 0;
}

/**
 * TLS (issue 11): the result of verifying the client's certificate chain against the
 * secure context's CA, for a server TLSSocket built around an accepted socket. Node's
 * tls.Server reads the same native `verifyError()` in its own connection listener to set
 * `authorized` (the handoff workers wrap sockets themselves, so that listener never runs).
 * undefined: verified (or no certificate). A code such as UNABLE_TO_VERIFY_LEAF_SIGNATURE.
 */
export function tlsVerifyError(socket: net.Socket): string | undefined {
  const h = (socket as unknown as { _handle?: { verifyError?: () => (Error & { code?: string }) | undefined } | null })._handle;
  if (!h || typeof h.verifyError !== 'function') {
    throw new Error(
      `node ${process.version}: TLSWrap.verifyError is gone; handoff cannot verify client certificates (see src/lib/node-handles.ts)`,
    );
  }
  const err = h.verifyError();
  return err ? (err.code ?? err.message) : undefined;
}
