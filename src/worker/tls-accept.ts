// TLS termination for one accepted connection of an HTTP frontend with `tls` (issue 11):
//
//   peeking ──first byte 0x16──▶ handshaking ──'secure'──▶ handed over (an HttpConnection)
//      │                             └── error / timeout / close ──▶ failed (counted, logged)
//      └── other first byte ──▶ plain-http: 400 "plain HTTP request sent to HTTPS port", close
//
// The accepted socket arrives paused (pauseOnConnect). Its first bytes are read with the
// public stream API and put back (unshift) before it is wrapped: TLSSocket feeds what its
// socket had buffered to the TLS engine. After 'secure', the HttpConnection gets the
// TLSSocket and uses only its public stream API; it never migrates (Node cannot export a
// TLS session), so a drain closes it at a safe point instead (HttpConnection.leave).
//
// The whole handshake, first byte included, is bounded by the frontend's `http-request`
// timeout (a new connection owes its first request within it anyway). While it runs the
// connection is registered (state 'reading'), so maxconn counts it and a drain or stop
// ends it.
import type net from 'node:net';
import tls from 'node:tls';
import { tlsVerifyError } from '../lib/node-handles.js';
import { HandshakeFailureLog, handshakeCause, type HandshakeCause } from './tls-handshake-failures.js';
import { compileTls, type CompiledTls } from '../tls/secure-contexts.js';
import type { ClientConnection, LeaveMode } from './connections.js';
import { peerAddress, type WorkerContext } from './context.js';
import type { HttpFrontendShared } from './http-frontend-shared.js';

const TLS_HANDSHAKE_RECORD = 0x16;
/** How long a refused plain-HTTP client may take to close after our 400 (then reset). */
const PLAIN_CLOSE_MS = 2000;
const PLAIN_HTTP_RESPONSE =
  'HTTP/1.1 400 Bad Request\r\nContent-Type: text/plain\r\nContent-Length: 38\r\nConnection: close\r\n\r\n' +
  'plain HTTP request sent to HTTPS port\n';

type Phase = 'peeking' | 'handshaking' | 'plain-http' | 'done';

export interface TlsHost {
  readonly fe: HttpFrontendShared;
  readonly tls: CompiledTls;
  /** The handshake is complete: serve HTTP on the TLS socket. */
  serve(socket: tls.TLSSocket): void;
  /** Count a handshake outcome ('ok' or a failure cause) and log failures (rate-limited). */
  outcome(outcome: 'ok' | HandshakeCause, client: string, detail?: string): void;
}

export class TlsHandshake implements ClientConnection {
  readonly id: number;
  readonly frontend: string;
  readonly state = 'reading' as const;
  private phase: Phase = 'peeking';
  private tlsSocket: tls.TLSSocket | undefined;
  private readonly timer: NodeJS.Timeout;
  private readonly client: string;

  constructor(
    private readonly raw: net.Socket,
    private readonly host: TlsHost,
  ) {
    const fe = host.fe;
    this.id = fe.ctx.connections.newId();
    this.frontend = fe.config.name;
    this.client = peerAddress(raw);
    raw.on('error', noop); // 'close' follows
    raw.once('data', this.onFirstBytes);
    raw.once('close', this.onRawClose);
    // Half-closed before a single byte: nothing will come (allowHalfOpen keeps it open).
    raw.once('end', () => {
      if (this.phase === 'peeking') this.close(undefined);
    });
    this.timer = setTimeout(this.onTimeout, fe.config.timeouts.httpRequest);
    fe.ctx.connections.add(this);
    raw.resume();
  }

  private readonly onFirstBytes = (chunk: Buffer) => {
    if (this.phase !== 'peeking') return;
    this.raw.pause();
    if (chunk[0] !== TLS_HANDSHAKE_RECORD) {
      this.refusePlainHttp();
      return;
    }
    this.raw.unshift(chunk);
    this.phase = 'handshaking';
    const socket = new tls.TLSSocket(this.raw, this.host.tls.socketOptions);
    this.tlsSocket = socket;
    socket.on('error', this.onTlsError);
    socket.once('secure', this.onSecure);
    // The client half-closed mid-handshake (part of a record, or its flight sent and then
    // FIN): no more bytes can complete it. allowHalfOpen keeps such a socket open, so
    // without this it would hold its place (and maxconn) until http-request.
    socket.once('end', this.onHandshakeEnd);
  };

  private readonly onHandshakeEnd = () => {
    if (this.phase === 'handshaking') this.fail('closed', 'half-closed during the handshake');
  };

  private readonly onSecure = () => {
    const socket = this.tlsSocket!;
    if (this.phase !== 'handshaking') return;
    // Client certificates: OpenSSL has already refused a missing one when required; the
    // chain is checked here against client_ca (as tls.Server does in its own listener).
    // optional: no certificate is fine; one that does not verify is not.
    if (this.host.tls.config.clientCert !== 'none' && socket.getPeerX509Certificate() !== undefined) {
      const error = tlsVerifyError(socket);
      if (error !== undefined) {
        this.fail('client-certificate', error);
        return;
      }
      socket.authorized = true;
    } else if (this.host.tls.config.clientCert === 'required') {
      this.fail('client-certificate', 'no certificate');
      return;
    }
    this.phase = 'done';
    clearTimeout(this.timer);
    socket.off('error', this.onTlsError);
    socket.off('end', this.onHandshakeEnd);
    this.raw.off('close', this.onRawClose);
    this.host.outcome('ok', this.client);
    // The HttpConnection registers itself before this handshake leaves the registry, so the
    // frontend's connection count never dips (maxconn would admit one more).
    this.host.serve(socket);
    this.host.fe.ctx.connections.remove(this, 'handed-over');
  };

  private readonly onTlsError = (err: Error) => {
    if (this.phase !== 'handshaking') return;
    this.fail(handshakeCause(err), (err as { code?: string }).code);
  };

  private readonly onTimeout = () => {
    if (this.phase === 'done') return;
    if (this.phase === 'plain-http') {
      this.finish();
      return;
    }
    // A connection that never sent a byte is a probe or a pre-connect: closed, not logged.
    if (this.phase === 'peeking') this.close(undefined);
    else this.fail('timeout', undefined);
  };

  private readonly onRawClose = () => {
    if (this.phase === 'done') return;
    if (this.phase === 'handshaking') this.fail('closed', undefined);
    else this.finish();
  };

  /** As nginx: a clear 400, then close once the client has read it (bounded). */
  private refusePlainHttp() {
    this.phase = 'plain-http';
    this.host.outcome('plain-http', this.client);
    clearTimeout(this.timer);
    const raw = this.raw;
    raw.write(PLAIN_HTTP_RESPONSE);
    raw.end();
    // Read and discard until the client closes: closing with unread bytes would reset it
    // before it reads the 400.
    raw.on('data', noop);
    raw.resume();
    raw.once('end', () => raw.destroy());
    const t = setTimeout(() => raw.destroy(), PLAIN_CLOSE_MS);
    raw.once('close', () => {
      clearTimeout(t);
      this.finish();
    });
  }

  private fail(cause: HandshakeCause, detail: string | undefined) {
    if (this.phase === 'done') return;
    this.host.outcome(cause, this.client, detail);
    this.close(cause);
  }

  private close(_cause: HandshakeCause | undefined) {
    this.phase = 'done';
    clearTimeout(this.timer);
    this.tlsSocket?.destroy();
    this.raw.destroy();
    this.host.fe.ctx.connections.remove(this, 'closed');
  }

  private finish() {
    if (this.phase === 'done') return;
    this.phase = 'done';
    clearTimeout(this.timer);
    this.host.fe.ctx.connections.remove(this, 'closed');
  }

  /** A drain: let the handshake finish; its HttpConnection is asked to leave as it registers. */
  leave(_mode: LeaveMode): void {}

  kill(): void {
    if (this.phase === 'done') return;
    this.close(undefined);
  }
}

/** One failure log per worker: its rate limit outlives live applies. */
const failureLogs = new WeakMap<WorkerContext, HandshakeFailureLog>();

/**
 * The TLS side of an HTTP frontend compiled for one config: its contexts (taken over from
 * `previous` where the material is the same) and how a finished handshake is served.
 */
export function createTlsHost(
  fe: HttpFrontendShared,
  previous: TlsHost | undefined,
  serve: (socket: tls.TLSSocket) => void,
): TlsHost | undefined {
  const config = fe.config.tls;
  if (!config) return undefined;
  const compiled = compileTls(config, previous?.tls);
  const ctx = fe.ctx;
  let failures = failureLogs.get(ctx);
  if (!failures) {
    failures = new HandshakeFailureLog(ctx.log);
    failureLogs.set(ctx, failures);
  }
  const log = failures;
  return {
    fe,
    tls: compiled,
    serve,
    outcome(outcome, client, detail) {
      const key = `${fe.config.name} ${outcome}`;
      ctx.counters.tls.set(key, (ctx.counters.tls.get(key) ?? 0) + 1);
      if (outcome !== 'ok') log.report(fe.config.name, outcome, client, detail);
    },
  };
}

function noop() {}
