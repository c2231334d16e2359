// A client for exact-bytes tests: one real TCP connection to the proxy, raw bytes out, and
// the responses read back one at a time with their exact bytes, so a test can tell what the
// proxy answered, how the body was framed, and whether the connection stayed open.
import net from 'node:net';
import tls from 'node:tls';

export interface RawResponse {
  readonly status: number;
  readonly reason: string;
  /** The head as latin1 text, without the final CRLFCRLF. */
  readonly head: string;
  readonly headers: readonly (readonly [string, string])[];
  /** The body's bytes as sent (chunk framing and trailers included). */
  readonly body: Buffer;
  /** The whole response as received. */
  readonly raw: Buffer;
  /** First value of a header (case-insensitive). */
  header(name: string): string | undefined;
  /** Every value of a header (case-insensitive). */
  all(name: string): string[];
}

export class RawClient {
  private buf = Buffer.alloc(0);
  private waiters = new Set<() => void>();
  /** Every byte received so far. */
  received = 0;
  closed = false;
  /** The connection ended with an error (a reset). */
  error: Error | undefined;
  private constructor(readonly socket: net.Socket) {
    socket.on('data', (c: Buffer) => {
      this.received += c.length;
      this.buf = Buffer.concat([this.buf, c]);
      this.wake();
    });
    socket.on('error', (err) => {
      this.error = err;
    });
    socket.on('close', () => {
      this.closed = true;
      this.wake();
    });
  }

  static connect(port: number, host = '127.0.0.1'): Promise<RawClient> {
    return new Promise((resolve, reject) => {
      const s = net.connect({ port, host });
      s.once('connect', () => {
        s.off('error', reject);
        resolve(new RawClient(s));
      });
      s.once('error', reject);
    });
  }

  /** The same over TLS (issue 11): resolves once the handshake is complete. */
  static connectTls(port: number, options: tls.ConnectionOptions): Promise<RawClient> {
    return new Promise((resolve, reject) => {
      const s = tls.connect({ port, host: '127.0.0.1', ...options });
      s.once('secureConnect', () => {
        s.off('error', reject);
        resolve(new RawClient(s));
      });
      s.once('error', reject);
    });
  }

  private wake() {
    for (const w of [...this.waiters]) w();
  }

  send(data: string | Buffer): void {
    this.socket.write(typeof data === 'string' ? Buffer.from(data, 'latin1') : data);
  }

  /** Bytes received and not yet consumed by readResponse(). */
  get unread(): Buffer {
    return this.buf;
  }

  /**
   * The next complete response. `method` tells a HEAD response (no body); a close-delimited
   * body ends when the proxy closes. Rejects when the connection closes first or after
   * timeoutMs.
   */
  readResponse(opts: { method?: string; timeoutMs?: number } = {}): Promise<RawResponse> {
    const timeoutMs = opts.timeoutMs ?? 10_000;
    return new Promise((resolve, reject) => {
      const check = () => {
        let r: RawResponse | undefined;
        try {
          r = takeResponse(this.buf, opts.method ?? 'GET', this.closed);
        } catch (err) {
          done();
          reject(err as Error);
          return;
        }
        if (r) {
          this.buf = this.buf.subarray(r.raw.length);
          done();
          resolve(r);
        } else if (this.closed) {
          done();
          reject(
            new Error(`connection closed before a complete response; got ${JSON.stringify(this.buf.toString('latin1').slice(0, 300))}`),
          );
        }
      };
      const timer = setTimeout(() => {
        done();
        reject(new Error(`no complete response within ${timeoutMs} ms; got ${JSON.stringify(this.buf.toString('latin1').slice(0, 300))}`));
      }, timeoutMs);
      const done = () => {
        clearTimeout(timer);
        this.waiters.delete(check);
      };
      this.waiters.add(check);
      check();
    });
  }

  /** Resolves with the time waited once the connection is closed; rejects after timeoutMs. */
  waitClosed(timeoutMs = 10_000): Promise<number> {
    const t0 = Date.now();
    return new Promise((resolve, reject) => {
      const check = () => {
        if (!this.closed) return;
        done();
        resolve(Date.now() - t0);
      };
      const timer = setTimeout(() => {
        done();
        reject(new Error(`connection still open after ${timeoutMs} ms`));
      }, timeoutMs);
      const done = () => {
        clearTimeout(timer);
        this.waiters.delete(check);
      };
      this.waiters.add(check);
      check();
    });
  }

  destroy(): void {
    this.socket.destroy();
  }
}

/** Parse one response from the front of buf, or undefined when more bytes are needed. */
export function takeResponse(buf: Buffer, method: string, closed: boolean): RawResponse | undefined {
  const headEnd = buf.indexOf('\r\n\r\n');
  if (headEnd < 0) return undefined;
  const head = buf.toString('latin1', 0, headEnd);
  const [line, ...fields] = head.split('\r\n');
  const m = /^HTTP\/1\.[01] (\d{3}) ?(.*)$/.exec(line!);
  if (!m) throw new Error(`not an HTTP response: ${JSON.stringify(line)}`);
  const status = Number(m[1]);
  const headers = fields.map((f) => {
    const colon = f.indexOf(':');
    return [f.slice(0, colon), f.slice(colon + 1).trim()] as const;
  });
  const all = (name: string) => headers.filter(([n]) => n.toLowerCase() === name.toLowerCase()).map(([, v]) => v);
  const bodyStart = headEnd + 4;
  let end: number;
  const te = all('transfer-encoding').join(',');
  const cl = all('content-length')[0];
  if (method === 'HEAD' || (status >= 100 && status < 200) || status === 204 || status === 304) end = bodyStart;
  else if (/chunked\s*$/i.test(te)) {
    end = chunkedEnd(buf, bodyStart);
    if (end < 0) return undefined;
  } else if (cl !== undefined) {
    end = bodyStart + Number(cl);
    if (buf.length < end) return undefined;
  } else {
    if (!closed) return undefined;
    end = buf.length;
  }
  const raw = Buffer.from(buf.subarray(0, end));
  return {
    status,
    reason: m[2]!,
    head,
    headers,
    body: raw.subarray(bodyStart),
    raw,
    header: (name) => all(name)[0],
    all,
  };
}

function chunkedEnd(buf: Buffer, i: number): number {
  for (;;) {
    const lineEnd = buf.indexOf('\r\n', i);
    if (lineEnd < 0) return -1;
    const size = parseInt(buf.toString('latin1', i, lineEnd).split(';')[0]!, 16);
    if (size === 0) {
      if (buf.length >= lineEnd + 4 && buf.toString('latin1', lineEnd, lineEnd + 4) === '\r\n\r\n') return lineEnd + 4;
      const end = buf.indexOf('\r\n\r\n', lineEnd);
      return end < 0 ? -1 : end + 4;
    }
    i = lineEnd + 2 + size + 2;
    if (buf.length < i) return -1;
  }
}
