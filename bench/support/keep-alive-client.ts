// One client TCP connection sending HTTP/1.1 requests one after another (keep-alive, no
// pipelining, no retries) and classifying each outcome exactly: the failure kinds are what
// the reload and migration benchmarks count.
import net from 'node:net';

export type FailureKind = 'refused' | 'reset' | 'eof' | 'timeout' | 'status' | 'error';

export interface RequestOutcome {
  readonly ok: boolean;
  readonly status?: number;
  readonly failure?: FailureKind;
  readonly ms: number;
  /** The response head (status line and headers), when a response came. */
  readonly head?: string;
}

interface Pending {
  readonly started: number;
  readonly timer: NodeJS.Timeout;
  readonly resolve: (o: RequestOutcome) => void;
}

const HEAD_END = Buffer.from('\r\n\r\n', 'latin1');

/** The complete response at the start of buf (head and body), or undefined while more bytes are needed. */
function completeLength(buf: Buffer): { length: number; status: number; close: boolean; untilEof: boolean; head: string } | undefined {
  const headEnd = buf.indexOf(HEAD_END);
  if (headEnd === -1) return undefined;
  const head = buf.toString('latin1', 0, headEnd);
  const status = Number(/^HTTP\/1\.[01] (\d{3})/.exec(head)?.[1] ?? NaN);
  const close = /\r\nconnection:[^\r]*\bclose\b/i.test(head) || head.startsWith('HTTP/1.0');
  const bodyStart = headEnd + 4;
  const cl = /\r\ncontent-length:\s*(\d+)/i.exec(head);
  if (cl) {
    const length = bodyStart + Number(cl[1]);
    return buf.length >= length ? { length, status, close, untilEof: false, head } : undefined;
  }
  if (/\r\ntransfer-encoding:[^\r]*chunked/i.test(head)) {
    let at = bodyStart;
    for (let chunks = 0; chunks < 100_000; chunks++) {
      const lineEnd = buf.indexOf('\r\n', at, 'latin1');
      if (lineEnd === -1) return undefined;
      const size = parseInt(buf.toString('latin1', at, lineEnd), 16);
      if (Number.isNaN(size)) return { length: buf.length, status, close: true, untilEof: false, head };
      if (size === 0) {
        const end = buf.indexOf(HEAD_END, lineEnd, 'latin1');
        // No trailers: "0\r\n\r\n"; with trailers, up to the blank line.
        if (buf.length >= lineEnd + 4 && buf.toString('latin1', lineEnd, lineEnd + 4) === '\r\n\r\n')
          return { length: lineEnd + 4, status, close, untilEof: false, head };
        return end === -1 ? undefined : { length: end + 4, status, close, untilEof: false, head };
      }
      at = lineEnd + 2 + size + 2;
      if (buf.length < at) return undefined;
    }
    return undefined;
  }
  // 204/304 have no body; otherwise the body runs until the server closes.
  if (status === 204 || status === 304 || (status >= 100 && status < 200))
    return { length: bodyStart, status, close, untilEof: false, head };
  return { length: buf.length, status, close: true, untilEof: true, head };
}

export class KeepAliveClient {
  private buf: Buffer = Buffer.alloc(0);
  private pending: Pending | undefined;
  private closed = false;
  private closeAfterResponse = false;
  private lastError: NodeJS.ErrnoException | undefined;

  private constructor(private readonly socket: net.Socket) {
    socket.setNoDelay(true);
    socket.on('data', (chunk: Buffer) => this.onData(chunk));
    socket.on('end', () => this.onClose('eof'));
    socket.on('error', (err: NodeJS.ErrnoException) => {
      this.lastError = err;
      this.onClose(err.code === 'ECONNRESET' || err.code === 'EPIPE' ? 'reset' : 'error');
    });
    socket.on('close', () => this.onClose(this.lastError ? 'error' : 'eof'));
  }

  /** Connect to 127.0.0.1:port; rejects with an Error whose `kind` is a FailureKind. */
  static open(port: number, timeoutMs = 5_000): Promise<KeepAliveClient> {
    return new Promise((resolve, reject) => {
      const socket = net.connect({ port, host: '127.0.0.1' });
      const timer = setTimeout(() => {
        socket.destroy();
        reject(Object.assign(new Error('connect timeout'), { kind: 'timeout' as FailureKind }));
      }, timeoutMs);
      socket.once('connect', () => {
        clearTimeout(timer);
        socket.removeAllListeners('error');
        resolve(new KeepAliveClient(socket));
      });
      socket.once('error', (err: NodeJS.ErrnoException) => {
        clearTimeout(timer);
        reject(Object.assign(err, { kind: (err.code === 'ECONNREFUSED' ? 'refused' : 'error') as FailureKind }));
      });
    });
  }

  /** False once the server closed the connection or announced it would (Connection: close). */
  get usable(): boolean {
    return !this.closed && !this.closeAfterResponse;
  }

  request(path = '/', timeoutMs = 5_000): Promise<RequestOutcome> {
    if (this.pending) throw new Error('one request at a time');
    const started = performance.now();
    if (!this.usable) return Promise.resolve({ ok: false, failure: 'eof', ms: 0 });
    return new Promise((resolve) => {
      const timer = setTimeout(() => {
        this.finish({ ok: false, failure: 'timeout', ms: performance.now() - started });
        this.destroy();
      }, timeoutMs);
      this.pending = { started, timer, resolve };
      this.socket.write(`GET ${path} HTTP/1.1\r\nHost: bench.local\r\nUser-Agent: handoff-bench\r\n\r\n`);
    });
  }

  destroy(): void {
    this.closed = true;
    this.socket.destroy();
  }

  private finish(outcome: RequestOutcome): void {
    const p = this.pending;
    if (!p) return;
    this.pending = undefined;
    clearTimeout(p.timer);
    p.resolve(outcome);
  }

  private onData(chunk: Buffer): void {
    this.buf = this.buf.length === 0 ? chunk : Buffer.concat([this.buf, chunk]);
    if (!this.pending) {
      // Bytes nobody asked for: the connection is out of step, stop using it.
      this.destroy();
      return;
    }
    const r = completeLength(this.buf);
    if (!r || r.untilEof) return;
    this.buf = this.buf.subarray(r.length);
    if (r.close) this.closeAfterResponse = true;
    const ms = performance.now() - this.pending.started;
    this.finish(
      r.status === 200
        ? { ok: true, status: r.status, ms, head: r.head }
        : { ok: false, status: r.status, failure: 'status', ms, head: r.head },
    );
  }

  private onClose(kind: FailureKind): void {
    if (this.pending) {
      const r = completeLength(this.buf);
      const ms = performance.now() - this.pending.started;
      if (r?.untilEof && kind === 'eof')
        this.finish(
          r.status === 200
            ? { ok: true, status: r.status, ms, head: r.head }
            : { ok: false, status: r.status, failure: 'status', ms, head: r.head },
        );
      else this.finish({ ok: false, failure: kind, ms });
    }
    this.closed = true;
  }
}
