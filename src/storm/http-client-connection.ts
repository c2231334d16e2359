// One raw TCP connection speaking HTTP/1.1, one request at a time, with nothing hidden:
// no retry, no pooling. A reset or EOF under a request is that request's failure; a close
// while idle is remembered (closedIdle) so a keep-alive client can reconnect without
// counting a failure, as any client would.
import net from 'node:net';
import type { SocketAddress } from '../config/types.js';
import { eofFailure, failure, socketFailure } from './failure.js';
import { BadResponse, ResponseReader, type HttpResponse } from './http-response-reader.js';
import { secureClient, type ClientTls } from './client-tls.js';
import type { Failure } from './types.js';

export type HttpResult = { readonly ok: true; readonly response: HttpResponse } | { readonly ok: false; readonly failure: Failure };

interface Pending {
  readonly reader: ResponseReader;
  readonly resolve: (r: HttpResult) => void;
  readonly timer: NodeJS.Timeout;
}

export function requestBytes(host: string, path: string, close: boolean): Buffer {
  return Buffer.from(
    `GET ${path} HTTP/1.1\r\nHost: ${host}\r\nUser-Agent: handoff-storm\r\nAccept: */*\r\n${close ? 'Connection: close\r\n' : ''}\r\n`,
    'latin1',
  );
}

export class HttpClientConnection {
  private pending: Pending | undefined;
  /** The peer closed or the socket failed; no more requests. */
  closed = false;
  /** ... and that happened while no request was outstanding. */
  closedIdle = false;
  private readonly closeWaiters: (() => void)[] = [];

  private constructor(private readonly socket: net.Socket) {
    socket.setNoDelay(true);
    socket.on('data', (chunk: Buffer) => this.onData(chunk));
    socket.on('end', () => this.onEnd());
    socket.on('error', (err) => this.onError(err));
    socket.on('close', () => this.onClose());
  }

  /**
   * Connect within timeoutMs; a failure says why not (refused, timeout, ...). With `tls`, the
   * TLS handshake (for `host`) is part of the connect and shares the timeout.
   */
  static async connect(
    address: SocketAddress,
    timeoutMs: number,
    tls?: { readonly settings: ClientTls; readonly host: string },
  ): Promise<{ ok: true; conn: HttpClientConnection } | { ok: false; failure: Failure }> {
    const started = Date.now();
    const tcp = await HttpClientConnection.connectTcp(address, timeoutMs);
    if (!tcp.ok || !tls) return tcp.ok ? { ok: true, conn: new HttpClientConnection(tcp.socket) } : tcp;
    const secure = await secureClient(tcp.socket, tls.settings, tls.host, timeoutMs - (Date.now() - started));
    return secure.ok ? { ok: true, conn: new HttpClientConnection(secure.socket) } : secure;
  }

  private static connectTcp(
    address: SocketAddress,
    timeoutMs: number,
  ): Promise<{ ok: true; socket: net.Socket } | { ok: false; failure: Failure }> {
    return new Promise((resolve) => {
      const socket = net.connect({ host: address.host, port: address.port, family: address.family });
      const timer = setTimeout(() => {
        socket.destroy();
        resolve({ ok: false, failure: failure('timeout', `no connection within ${timeoutMs} ms`) });
      }, timeoutMs);
      const onError = (err: Error) => {
        clearTimeout(timer);
        resolve({ ok: false, failure: socketFailure(err, 'connect', 0) });
      };
      socket.once('error', onError);
      socket.once('connect', () => {
        clearTimeout(timer);
        socket.off('error', onError);
        resolve({ ok: true, socket });
      });
    });
  }

  /** Send one request and wait for its whole response (or the failure), at most timeoutMs. */
  request(bytes: Buffer, timeoutMs: number): Promise<HttpResult> {
    if (this.closed) return Promise.resolve({ ok: false, failure: failure('eof', 'connection already closed') });
    return new Promise((resolve) => {
      const timer = setTimeout(() => {
        this.settle({
          ok: false,
          failure: failure('timeout', `no complete response within ${timeoutMs} ms (${this.pending?.reader.received ?? 0} bytes received)`),
        });
        this.destroy();
      }, timeoutMs);
      this.pending = { reader: new ResponseReader(), resolve, timer };
      this.socket.write(bytes);
    });
  }

  /** Resolves once the peer has closed, or after ms (whichever first). */
  waitClosed(ms: number): Promise<void> {
    if (this.closed) return Promise.resolve();
    return new Promise((resolve) => {
      const timer = setTimeout(resolve, ms);
      this.closeWaiters.push(() => {
        clearTimeout(timer);
        resolve();
      });
    });
  }

  destroy(): void {
    this.socket.destroy();
  }

  private settle(r: HttpResult): void {
    const p = this.pending;
    if (!p) return;
    this.pending = undefined;
    clearTimeout(p.timer);
    p.resolve(r);
  }

  private onData(chunk: Buffer): void {
    const p = this.pending;
    if (!p) {
      // bytes nobody asked for (a 408 on an idle connection, ...): the connection is unusable
      this.markClosed(true);
      this.socket.destroy();
      return;
    }
    try {
      const response = p.reader.feed(chunk);
      if (response) {
        this.settle({ ok: true, response });
        if (!response.keepAlive) this.markClosed(false);
      }
    } catch (err) {
      if (!(err instanceof BadResponse)) throw err;
      this.settle({ ok: false, failure: failure('bad-response', err.message) });
      this.socket.destroy();
    }
  }

  private onEnd(): void {
    const p = this.pending;
    if (p) {
      const response = p.reader.end();
      this.settle(response ? { ok: true, response } : { ok: false, failure: eofFailure(p.reader.received) });
      this.markClosed(false);
    } else {
      this.markClosed(true);
    }
    this.socket.end();
  }

  private onError(err: Error): void {
    const p = this.pending;
    if (p) this.settle({ ok: false, failure: socketFailure(err, 'response', p.reader.received) });
    this.markClosed(!p);
  }

  private onClose(): void {
    const p = this.pending;
    if (p) this.settle({ ok: false, failure: eofFailure(p.reader.received) });
    this.markClosed(!p);
    for (const w of this.closeWaiters.splice(0)) w();
  }

  private markClosed(idle: boolean): void {
    if (this.closed) return;
    this.closed = true;
    this.closedIdle = idle;
  }
}
