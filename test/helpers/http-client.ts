// Small HTTP/1.1 clients for tests that must see every failure as it is: no client-side
// retries, no pooling magic. `request` is one request on a fresh connection;
// `KeepAliveClient` keeps ONE TCP connection and sends requests on it sequentially,
// parsing responses itself (Content-Length or chunked bodies), so a test can tell which
// connection a response came on and that the connection never changed.
import net from 'node:net';

export interface Response {
  status: number;
  headers: Record<string, string>; // lower-case names, last value wins
  body: Buffer;
}

export type FailureKind = 'refused' | 'reset' | 'eof' | 'timeout' | 'error';

export class RequestFailure extends Error {
  constructor(
    readonly kind: FailureKind,
    message: string,
  ) {
    super(message);
  }
}

function classify(err: NodeJS.ErrnoException): FailureKind {
  if (err.code === 'ECONNREFUSED') return 'refused';
  if (err.code === 'ECONNRESET' || err.code === 'EPIPE') return 'reset';
  return 'error';
}

/** Incremental response parser over one connection. */
class ResponseReader {
  private buf: Buffer = Buffer.alloc(0);
  feed(chunk: Buffer) {
    this.buf = this.buf.length === 0 ? chunk : Buffer.concat([this.buf, chunk]);
  }
  /** A complete response from the front of the buffer, or undefined. `head` = response to HEAD. */
  take(head = false): Response | undefined {
    const end = this.buf.indexOf('\r\n\r\n');
    if (end < 0) return undefined;
    const lines = this.buf.subarray(0, end).toString('latin1').split('\r\n');
    const status = Number(lines[0]!.split(' ')[1]);
    const headers: Record<string, string> = {};
    for (const l of lines.slice(1)) {
      const i = l.indexOf(':');
      headers[l.slice(0, i).trim().toLowerCase()] = l.slice(i + 1).trim();
    }
    let pos = end + 4;
    let body: Buffer;
    if (head || status === 204 || status === 304 || (status >= 100 && status < 200)) {
      body = Buffer.alloc(0);
    } else if (headers['transfer-encoding']?.toLowerCase() === 'chunked') {
      const parts: Buffer[] = [];
      for (;;) {
        const le = this.buf.indexOf('\r\n', pos);
        if (le < 0) return undefined;
        const size = parseInt(this.buf.subarray(pos, le).toString('latin1'), 16);
        if (size === 0) {
          const te = this.buf.indexOf('\r\n\r\n', le);
          if (te < 0) return undefined;
          pos = te + 4;
          break;
        }
        if (this.buf.length < le + 2 + size + 2) return undefined;
        parts.push(this.buf.subarray(le + 2, le + 2 + size));
        pos = le + 2 + size + 2;
      }
      body = Buffer.concat(parts);
    } else if (headers['content-length'] !== undefined) {
      const n = Number(headers['content-length']);
      if (this.buf.length < pos + n) return undefined;
      body = this.buf.subarray(pos, pos + n);
      pos += n;
    } else {
      return undefined; // close-delimited: not used by these tests' backends
    }
    this.buf = this.buf.subarray(pos);
    return { status, headers, body: Buffer.from(body) };
  }
  get pending(): number {
    return this.buf.length;
  }
}

export interface RequestOptions {
  host?: string; // Host header
  method?: string;
  headers?: Record<string, string>;
  body?: Buffer | string;
  timeoutMs?: number;
  address?: string;
}

function requestBytes(path: string, o: RequestOptions, close: boolean): Buffer {
  const body = o.body === undefined ? undefined : Buffer.from(o.body);
  let head = `${o.method ?? 'GET'} ${path} HTTP/1.1\r\nHost: ${o.host ?? 'localhost'}\r\n`;
  for (const [k, v] of Object.entries(o.headers ?? {})) head += `${k}: ${v}\r\n`;
  if (body) head += `Content-Length: ${body.length}\r\n`;
  if (close) head += 'Connection: close\r\n';
  head += '\r\n';
  return body ? Buffer.concat([Buffer.from(head, 'latin1'), body]) : Buffer.from(head, 'latin1');
}

/** One request on a new connection (like curl). Rejects with RequestFailure. */
export function request(port: number, path: string, o: RequestOptions = {}): Promise<Response> {
  return new Promise((resolve, reject) => {
    const s = net.connect({ port, host: o.address ?? '127.0.0.1' });
    const reader = new ResponseReader();
    let done = false;
    const finish = (err: RequestFailure | undefined, res?: Response) => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      s.destroy();
      if (err) reject(err);
      else resolve(res!);
    };
    const timer = setTimeout(
      () => finish(new RequestFailure('timeout', `no response within ${o.timeoutMs ?? 10_000} ms`)),
      o.timeoutMs ?? 10_000,
    );
    s.on('connect', () => s.write(requestBytes(path, o, true)));
    s.on('data', (c) => {
      reader.feed(c);
      const r = reader.take(o.method === 'HEAD');
      if (r) finish(undefined, r);
    });
    s.on('error', (err) => finish(new RequestFailure(classify(err), err.message)));
    s.on('close', () => finish(new RequestFailure('eof', 'connection closed before a complete response')));
  });
}

/** One persistent connection; requests go one after another on it. */
export class KeepAliveClient {
  private readonly socket: net.Socket;
  private readonly reader = new ResponseReader();
  private closed: RequestFailure | undefined;
  private wake: (() => void) | undefined;
  readonly connected: Promise<void>;

  constructor(port: number, address = '127.0.0.1') {
    this.socket = net.connect({ port, host: address });
    this.connected = new Promise((resolve, reject) => {
      this.socket.once('connect', () => resolve());
      this.socket.once('error', reject);
    });
    this.socket.on('data', (c) => {
      this.reader.feed(c);
      this.wake?.();
    });
    this.socket.on('error', (err) => {
      this.closed ??= new RequestFailure(classify(err), err.message);
      this.wake?.();
    });
    this.socket.on('close', () => {
      this.closed ??= new RequestFailure('eof', 'connection closed');
      this.wake?.();
    });
  }

  get isClosed(): boolean {
    return this.closed !== undefined;
  }

  /** Raw bytes, for pipelining tests. */
  write(data: Buffer | string): void {
    this.socket.write(data);
  }

  /** The next complete response on this connection. */
  async next(timeoutMs = 10_000, head = false): Promise<Response> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const r = this.reader.take(head);
      if (r) return r;
      if (this.closed) throw this.closed;
      const left = deadline - Date.now();
      if (left <= 0) throw new RequestFailure('timeout', `no response within ${timeoutMs} ms`);
      await new Promise<void>((resolve) => {
        const t = setTimeout(resolve, left);
        this.wake = () => {
          clearTimeout(t);
          this.wake = undefined;
          resolve();
        };
      });
    }
  }

  async request(path: string, o: RequestOptions = {}): Promise<Response> {
    await this.connected;
    if (this.closed) throw this.closed;
    this.socket.write(requestBytes(path, o, false));
    return this.next(o.timeoutMs ?? 10_000, o.method === 'HEAD');
  }

  close(): void {
    this.socket.destroy();
  }
}

/** The echo backend's name from a response (X-Server header). */
export function servedBy(r: Response): string | undefined {
  return r.headers['x-server'];
}
