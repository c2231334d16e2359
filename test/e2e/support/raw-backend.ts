// A scripted backend for exact-bytes tests: a real TCP server on 127.0.0.1 (port 0) that
// records every byte the proxy sends it, splits the stream into requests (head, then a
// Content-Length or chunked body, trailers included) and lets the test answer each one with
// raw bytes, or do anything else with the socket (stay silent, close, reset).
import net from 'node:net';

export interface BackendRequest {
  readonly conn: BackendConnection;
  /** The request's bytes exactly as received: head, then body with its framing. */
  readonly raw: Buffer;
  /** The head as latin1 text, without the final CRLFCRLF. */
  readonly head: string;
  readonly method: string;
  readonly target: string;
  /** [name, value] as received, in order. */
  readonly headers: readonly (readonly [string, string])[];
  /** The body's bytes with its framing (chunk lines and trailers included). */
  readonly body: Buffer;
  /** Index of this request on its connection, from 0. */
  readonly index: number;
  /** First value of a header (case-insensitive). */
  header(name: string): string | undefined;
}

export interface BackendConnection {
  readonly id: number;
  readonly socket: net.Socket;
  /** Every byte received on this connection. */
  bytes(): Buffer;
  readonly requests: BackendRequest[];
  /** True once the proxy closed (or reset) this connection. */
  closed: boolean;
}

/**
 * Answer a request: the bytes to write (the connection stays open), or undefined when the
 * handler took care of the socket itself. May be async (a delayed answer); requests on one
 * connection are handed over one at a time, in order.
 */
export type RawHandler = (req: BackendRequest) => string | Buffer | undefined | Promise<string | Buffer | undefined>;

export interface RawBackend {
  readonly port: number;
  /** "127.0.0.1:PORT" for a config. */
  readonly address: string;
  readonly connections: BackendConnection[];
  /** Every complete request, across connections, in arrival order. */
  readonly requests: BackendRequest[];
  /** Total bytes received, across connections. */
  totalBytes(): number;
  /** Every byte received since a totalBytes() mark, in connection order. */
  bytesSince(mark: number): Buffer;
  handler: RawHandler;
  close(): Promise<void>;
}

/** A plain 200 with a short body: the answer when a test does not care. */
export function ok(body = 'ok', extra = ''): string {
  return `HTTP/1.1 200 OK\r\nContent-Length: ${Buffer.byteLength(body)}\r\n${extra}\r\n${body}`;
}

export async function startRawBackend(handler: RawHandler = () => ok()): Promise<RawBackend> {
  const connections: BackendConnection[] = [];
  const requests: BackendRequest[] = [];
  // Arrival order of bytes across connections, for bytesSince().
  const log: Buffer[] = [];
  let total = 0;
  const backend: RawBackend = {
    port: 0,
    address: '',
    connections,
    requests,
    totalBytes: () => total,
    bytesSince(mark) {
      return Buffer.concat(log).subarray(mark);
    },
    handler,
    close: () =>
      new Promise((resolve) => {
        for (const c of connections) c.socket.destroy();
        server.close(() => resolve());
      }),
  };
  const server = net.createServer({ allowHalfOpen: false }, (socket) => {
    const chunks: Buffer[] = [];
    const conn: BackendConnection = { id: connections.length + 1, socket, bytes: () => Buffer.concat(chunks), requests: [], closed: false };
    connections.push(conn);
    let pending = Buffer.alloc(0);
    let busy = false;
    const next = async () => {
      if (busy) return;
      busy = true;
      try {
        for (;;) {
          const split = splitRequest(pending);
          if (!split) return;
          pending = pending.subarray(split.length);
          const req = parseRequest(conn, split.raw, conn.requests.length);
          conn.requests.push(req);
          requests.push(req);
          const answer = await backend.handler(req);
          if (answer !== undefined && !socket.destroyed) socket.write(answer);
        }
      } finally {
        busy = false;
      }
    };
    socket.on('data', (chunk: Buffer) => {
      chunks.push(chunk);
      log.push(chunk);
      total += chunk.length;
      pending = Buffer.concat([pending, chunk]);
      void next();
    });
    socket.on('error', () => {});
    socket.on('close', () => {
      conn.closed = true;
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as net.AddressInfo).port;
  Object.assign(backend, { port, address: `127.0.0.1:${port}` });
  return backend;
}

/** The first complete request in buf: its bytes, or undefined when more are needed. */
function splitRequest(buf: Buffer): { raw: Buffer; length: number } | undefined {
  const headEnd = buf.indexOf('\r\n\r\n');
  if (headEnd < 0) return undefined;
  const head = buf.toString('latin1', 0, headEnd);
  const cl = /\r\ncontent-length:\s*(\d+)/i.exec(head);
  const chunked = /\r\ntransfer-encoding:[^\r]*chunked/i.test(head);
  let end = headEnd + 4;
  if (chunked) {
    const bodyEnd = chunkedEnd(buf, end);
    if (bodyEnd < 0) return undefined;
    end = bodyEnd;
  } else if (cl) {
    end += Number(cl[1]);
    if (buf.length < end) return undefined;
  }
  return { raw: buf.subarray(0, end), length: end };
}

/** Index just past a chunked body starting at `i` (last chunk, trailers, CRLF), or -1. */
function chunkedEnd(buf: Buffer, i: number): number {
  for (;;) {
    const lineEnd = buf.indexOf('\r\n', i);
    if (lineEnd < 0) return -1;
    const size = parseInt(buf.toString('latin1', i, lineEnd).split(';')[0]!, 16);
    if (size === 0) {
      const end = buf.indexOf('\r\n\r\n', lineEnd);
      // No trailers: "0\r\n\r\n"; trailers: lines until an empty one.
      if (buf.toString('latin1', lineEnd, lineEnd + 4) === '\r\n\r\n') return lineEnd + 4;
      return end < 0 ? -1 : end + 4;
    }
    i = lineEnd + 2 + size + 2;
    if (buf.length < i) return -1;
  }
}

function parseRequest(conn: BackendConnection, raw: Buffer, index: number): BackendRequest {
  const headEnd = raw.indexOf('\r\n\r\n');
  const head = raw.toString('latin1', 0, headEnd);
  const [line, ...fields] = head.split('\r\n');
  const [method = '', target = ''] = line!.split(' ');
  const headers = fields.map((f) => {
    const colon = f.indexOf(':');
    return [f.slice(0, colon), f.slice(colon + 1).trim()] as const;
  });
  return {
    conn,
    raw,
    head,
    method,
    target,
    headers,
    body: raw.subarray(headEnd + 4),
    index,
    header(name) {
      const lower = name.toLowerCase();
      return headers.find(([n]) => n.toLowerCase() === lower)?.[1];
    },
  };
}
