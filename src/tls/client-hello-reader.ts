// Reads a client's ClientHello off its socket without answering it (TCP-mode passthrough by
// SNI): every byte read is kept, to be written to the chosen server first, so the server
// sees exactly what the client sent. Bounded in bytes (CLIENT_HELLO_MAX_BYTES, records
// included) and in time (the caller's deadline: the frontend's timeouts.client); whatever
// happens it settles once and leaves the socket paused with no listener of its own.
import type net from 'node:net';
import { CLIENT_HELLO_MAX_BYTES, parseClientHello } from './client-hello.js';

export type HelloTermination = 'bad-client-hello' | 'client-hello-timeout' | 'client-closed' | 'aborted';

export type HelloRead =
  | { readonly ok: true; readonly serverName: string | undefined; readonly bytes: Buffer }
  | { readonly ok: false; readonly termination: HelloTermination; readonly detail: string; readonly received: number };

export interface HelloReadOptions {
  /** Whole ClientHello within this many ms of the call, or 'client-hello-timeout'. */
  readonly timeoutMs: number;
  /** Bytes read at most (records included). */
  readonly maxBytes?: number;
  /** Ends the read at once (the connection was killed or the client went away). */
  readonly signal: AbortSignal;
}

export function readClientHello(socket: net.Socket, o: HelloReadOptions): Promise<HelloRead> {
  const maxBytes = o.maxBytes ?? CLIENT_HELLO_MAX_BYTES;
  return new Promise<HelloRead>((resolve) => {
    const chunks: Buffer[] = [];
    let received = 0;
    let settled = false;
    const settle = (result: HelloRead) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      socket.off('data', onData);
      socket.off('end', onEnd);
      o.signal.removeEventListener('abort', onAbort);
      socket.pause();
      resolve(result);
    };
    const fail = (termination: HelloTermination, detail: string) => settle({ ok: false, termination, detail, received });
    const onData = (chunk: Buffer) => {
      received += chunk.length;
      chunks.push(chunk);
      const bytes = chunks.length === 1 ? chunk : Buffer.concat(chunks, received);
      if (chunks.length > 1) chunks.splice(0, chunks.length, bytes);
      const r = parseClientHello(bytes, maxBytes);
      if (r.kind === 'hello') settle({ ok: true, serverName: r.serverName, bytes });
      else if (r.kind === 'invalid') fail('bad-client-hello', r.reason);
      else if (received >= maxBytes) fail('bad-client-hello', `no complete ClientHello in ${maxBytes} bytes`);
    };
    const onEnd = () =>
      received === 0
        ? fail('client-closed', 'closed before sending anything')
        : fail('bad-client-hello', `closed after ${received} bytes of an incomplete ClientHello`);
    const onAbort = () => fail('aborted', 'connection closed');
    const timer = setTimeout(() => fail('client-hello-timeout', `no complete ClientHello within ${o.timeoutMs}ms`), o.timeoutMs);
    if (o.signal.aborted) {
      onAbort();
      return;
    }
    o.signal.addEventListener('abort', onAbort, { once: true });
    socket.on('data', onData);
    socket.on('end', onEnd);
    socket.resume();
  });
}
