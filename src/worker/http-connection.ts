// One client connection of an HTTP frontend: handoff's own HTTP/1.1 engine over a raw
// net.Socket. The connection owns the socket's lifecycle; each request/response pair is an
// Exchange (exchange.ts). The drain and the migration need to know exactly when a
// connection is between requests and which bytes were read but not parsed, so the
// lifecycle is explicit, and every change goes through transition(), which refuses a
// change the table below does not list:
//
//   idle ──byte──▶ reading ──head──▶ waiting ──response head / own page──▶ writing
//     ▲              ▲ (pipelined)                  │ 101                    │
//     │              └───────────────────────────── │ ───────────────────────┤
//     └──────────────── response complete, keep-alive ◀──────────────────────┘
//   waiting ──101──▶ upgraded (a TunnelSession takes over)
//   idle/reading ──drain: migrate──▶ migrating ──sent──▶ closed   (or back, if it cannot go)
//   any ──close decided──▶ closing ──FIN both ways──▶ closed;  any ──reset/kill──▶ closed
//
// One request is in flight at a time; pipelined requests wait in the input buffer and are
// answered in order. Back-pressure both ways: a side that cannot keep up pauses the other
// side's reading (here for the client, in the Exchange for the server).
import type net from 'node:net';
import type { Slot } from '../backend/types.js';
import { tunnelTimeout } from '../config/timeouts.js';
import { HandoffError } from '../lib/errors.js';
import { detachHandle, pendingWriteBytes, resumeReading, stopReading, takeBuffered } from '../lib/node-handles.js';
import type { AccessEntry, Termination } from '../observe/access-entry.js';
import type { ConnectionState } from '../protocol/counters.js';
import type { ClientConnection, ConnectionEnd, LeaveMode } from './connections.js';
import { Exchange } from './exchange.js';
import { type DeadlineKind, type ExchangeHost, NO_REQUEST } from './exchange-host.js';
import type { HttpFrontendShared } from './http-frontend-shared.js';
import { inputHasRoom, outputBacklogged } from './http/backpressure.js';
import { ChunkedTracker } from './http/chunked-tracker.js';
import { HttpParseError } from './http/errors.js';
import { HeadScanner } from './http/head-scanner.js';
import { parseRequestHead, type RequestHead } from './http/request-head.js';
import { TunnelSession } from './tunnel-session.js';
import { isTls } from '../tls/connection-info.js';

export type HttpConnectionPhase = 'idle' | 'reading' | 'waiting' | 'writing' | 'migrating' | 'upgraded' | 'closing' | 'closed';

/** The legal transitions: from → the phases it may go to. Anything else is a bug, asserted. */
export const HTTP_CONNECTION_TRANSITIONS: Readonly<Record<HttpConnectionPhase, readonly HttpConnectionPhase[]>> = {
  idle: ['reading', 'migrating', 'closing', 'closed'],
  reading: ['waiting', 'migrating', 'closing', 'closed'],
  waiting: ['writing', 'upgraded', 'closing', 'closed'],
  writing: ['idle', 'reading', 'closing', 'closed'],
  migrating: ['idle', 'reading', 'closed'],
  upgraded: [],
  closing: ['closed'],
  closed: [],
};

/** What status counts a phase as (protocol/counters.ts's ConnectionState). */
const COUNTED_AS: Readonly<Record<HttpConnectionPhase, ConnectionState>> = {
  idle: 'idle',
  reading: 'reading',
  waiting: 'waiting',
  writing: 'writing',
  migrating: 'idle',
  upgraded: 'tunnel',
  closing: 'closing',
  closed: 'closing',
};

export class HttpConnection implements ClientConnection, ExchangeHost {
  readonly id: number;
  readonly frontend: string;
  phase: HttpConnectionPhase = 'idle';
  /** Epoch ms when the sweeper calls onDeadline (0: none). */
  deadline = 0;
  deadlineKind: DeadlineKind = 'keep-alive';
  /** A drain asked this connection to leave ('close' or 'migrate'). */
  leaveMode: LeaveMode | undefined;
  /** The connection came from an older generation (access log `migrated`). */
  readonly migratedIn: boolean;
  readonly clientAddress: string;
  readonly secure: boolean;

  /** The request/response pair in flight. */
  private exchange: Exchange | undefined;
  // Input: bytes read from the client and not yet consumed.
  private buf: Buffer | undefined;
  private readonly scanner = new HeadScanner();
  private clientEnded = false;
  private readPaused = false;
  /** A pipelined request waits until the client reads what is queued to it (see backpressure.ts). */
  private awaitingOutput = false;
  /** Requests answered on this connection (a never-served one is not idle between requests). */
  private served = 0;
  // Body framing trackers, reused by this connection's exchanges.
  private reqChunked: ChunkedTracker | undefined;
  private resChunked: ChunkedTracker | undefined;

  /**
   * `initial`: a connection migrated from an older generation, with the bytes it had read
   * but not parsed (empty: it was idle between requests).
   */
  constructor(
    readonly socket: net.Socket,
    private fe: HttpFrontendShared,
    initial?: Buffer,
  ) {
    this.id = fe.ctx.connections.newId();
    this.frontend = fe.config.name;
    this.clientAddress = socket.remoteAddress ?? '';
    this.secure = isTls(socket);
    this.migratedIn = initial !== undefined;
    socket.setNoDelay(true);
    socket.on('data', this.onClientData);
    socket.on('end', this.onClientEnd);
    socket.on('close', this.onClientClose);
    socket.on('error', noop); // 'close' follows
    socket.on('drain', this.onClientDrain);
    fe.sweeper.add(this);
    fe.ctx.connections.add(this);
    if (initial && initial.length > 0) {
      this.transition('reading');
      this.setDeadline('request', fe.config.timeouts.httpRequest);
      this.buf = initial;
      this.parseNext();
    } else if (initial) {
      // Migrated while idle between requests: the keep-alive wait goes on.
      this.served = 1;
      this.setDeadline('keep-alive', fe.config.timeouts.keepAlive);
    } else {
      // A new connection owes its first request within http-request, like a slow head.
      this.setDeadline('request', fe.config.timeouts.httpRequest);
    }
    if (this.phase !== 'closed' && this.phase !== 'migrating') socket.resume();
  }

  /** What status counts this connection as. */
  get state(): ConnectionState {
    return COUNTED_AS[this.phase];
  }

  /** The one way the phase changes; an illegal change is a bug in this engine. */
  transition(to: HttpConnectionPhase): void {
    if (!HTTP_CONNECTION_TRANSITIONS[this.phase].includes(to))
      throw new HandoffError('HANDOFF_ERR_INTERNAL', 'internal', `http connection: illegal transition ${this.phase} → ${to}`);
    this.phase = to;
  }

  private get gone(): boolean {
    return this.phase === 'closed' || this.phase === 'upgraded';
  }

  // ---- deadlines -------------------------------------------------------------------------

  setDeadline(kind: DeadlineKind, ms: number): void {
    this.deadlineKind = kind;
    this.deadline = this.fe.sweeper.now + ms;
  }

  onDeadline(): void {
    // A migration waiting for the last response to flush (at most 2 s) is not interrupted:
    // the deadline stays due and applies if the connection stays here (migrateNow).
    if (this.phase === 'migrating') return;
    this.deadline = 0;
    switch (this.deadlineKind) {
      case 'keep-alive':
        this.close();
        return;
      case 'request':
        // Slowloris: the head did not arrive in time. A connection that sent nothing at all
        // is just closed (a pre-connect or a probe), like HAProxy's http-ignore-probes.
        if (this.buf === undefined || this.buf.length === 0) this.close();
        else this.respondWithoutRequest(408, 'http-request-timeout');
        return;
      case 'server':
        this.exchange?.onServerTimeout();
        return;
      case 'client':
        if (this.exchange) this.exchange.onClientTimeout();
        else this.destroy(); // a pipelining client that does not read its responses
        return;
      case 'closing':
        this.destroy();
        return;
    }
  }

  // ---- client input ------------------------------------------------------------------------

  private readonly onClientData = (chunk: Buffer) => {
    if (this.phase === 'idle') {
      this.transition('reading');
      this.setDeadline('request', this.fe.config.timeouts.httpRequest);
    }
    switch (this.phase) {
      case 'reading':
        if (this.awaitingOutput) {
          this.bufferNext(chunk);
          return;
        }
        this.buf = this.buf === undefined ? chunk : Buffer.concat([this.buf, chunk]);
        this.parseNext();
        return;
      case 'waiting':
      case 'writing': {
        const ex = this.exchange!;
        if (!ex.reqBodyDone) {
          if (this.deadlineKind === 'client') this.deadline = this.fe.sweeper.now + this.fe.config.timeouts.client;
          ex.requestBody(chunk, 0);
        } else this.bufferNext(chunk);
        return;
      }
      default:
        return; // closing: discard
    }
  };

  /** Bytes after the request in flight (pipelined requests): kept for later, bounded in bytes and in requests. */
  bufferNext(chunk: Buffer): void {
    this.buf = this.buf === undefined ? chunk : Buffer.concat([this.buf, chunk]);
    if (!this.readPaused && !this.inputHasRoom()) this.pauseReading();
  }

  /** The unparsed input, taken (body bytes that came with a head). */
  takeInput(): Buffer | undefined {
    const b = this.buf;
    this.buf = undefined;
    return b;
  }

  pauseReading(): void {
    if (this.readPaused) return;
    this.readPaused = true;
    this.socket.pause();
  }

  private inputHasRoom(): boolean {
    return inputHasRoom(this.buf, this.fe.limits.headerSize + this.fe.limits.requestLine, this.fe.limits.pipeline);
  }

  /** Read the client again, unless its unparsed input is full or it has not read what we sent. */
  resumeClient(): void {
    if (this.readPaused && this.phase !== 'migrating' && !this.awaitingOutput && this.inputHasRoom()) {
      this.readPaused = false;
      this.socket.resume();
    }
  }

  requestTracker(): ChunkedTracker {
    this.reqChunked ??= new ChunkedTracker('request', this.fe.limits);
    return this.reqChunked;
  }

  responseTracker(): ChunkedTracker {
    this.resChunked ??= new ChunkedTracker('response', this.fe.limits);
    return this.resChunked;
  }

  private readonly onClientEnd = () => {
    this.clientEnded = true;
    const ex = this.exchange;
    if (ex) {
      if (!ex.reqBodyDone) ex.abort('client-abort');
      // Otherwise the request is complete: answer it, then close.
    } else if (this.phase === 'reading' && this.buf !== undefined && this.buf.length > 0) {
      // Pipelined requests still to answer, or half-closed mid-head (parseNext answers 400).
      // One that waits for the client to read its responses starts at 'drain'.
      if (!this.awaitingOutput) this.parseNext();
    } else if (this.phase === 'idle' || this.phase === 'reading') {
      this.close(); // a half-close between requests: nothing more will come
    }
  };

  private readonly onClientClose = () => {
    // Also while migrating: the listeners are removed before the handle is detached, so a
    // 'close' here is the client gone (a write error) and nothing is left to hand over.
    if (this.gone) return;
    if (this.exchange) this.exchange.abort('client-abort');
    else this.finish('closed');
  };

  private readonly onClientDrain = () => {
    this.exchange?.onClientDrain();
    if (this.awaitingOutput && this.phase === 'reading') {
      this.awaitingOutput = false;
      this.startPipelined();
    }
  };

  /** Parse the next request head from the input buffer, if it is complete. */
  private parseNext() {
    const buf = this.buf;
    if (buf === undefined || buf.length === 0 || this.exchange) return;
    let end: number;
    let head: RequestHead;
    try {
      end = this.scanner.scan(buf, 0, buf.length, this.fe.limits, 'request');
      if (end < 0) {
        if (this.clientEnded) this.respondWithoutRequest(400, 'incomplete-request'); // half-closed mid-head
        return;
      }
      head = parseRequestHead(buf, this.scanner.skipped, end, this.fe.limits);
    } catch (err) {
      const reason = err instanceof HttpParseError ? err.reason : String(err);
      this.fe.ctx.log.debug('bad request', { frontend: this.frontend, client: this.clientAddress, reason });
      this.respondWithoutRequest(err instanceof HttpParseError ? err.status : 400, 'bad-request');
      return;
    }
    this.buf = end === buf.length ? undefined : buf.subarray(end);
    this.transition('waiting');
    // A live apply takes effect between requests: this one runs start to end with the config
    // in force now (invariant I8). A frontend the apply removed serves it, then closes.
    const latest = this.fe.latest();
    if (latest) this.fe = latest;
    // A client that half-closed gets its pipelined requests answered: the last one says close.
    const closeAfter = !head.keepAlive || (this.clientEnded && this.buf === undefined) || this.leaveMode === 'close' || !latest;
    const ex = new Exchange(this, this.fe, head, closeAfter);
    this.exchange = ex;
    ex.start();
  }

  /** No head parsed (bad head, slowloris): answer with a page, count and log it as a request, and close. */
  private respondWithoutRequest(status: number, cause: Termination) {
    this.transition('waiting');
    const ex = new Exchange(this, this.fe, NO_REQUEST, true);
    ex.bytesIn = this.buf?.length ?? 0;
    this.buf = undefined;
    this.exchange = ex;
    ex.respondError(status, cause, true);
  }

  // ---- what the exchange tells the connection ------------------------------------------------

  /** The response starts (a server's head or handoff's own page). */
  writing(): void {
    if (this.phase !== 'writing') this.transition('writing');
  }

  /** The response is complete: log it, then go idle (or on to a pipelined request) or close. */
  done(termination: Termination): void {
    const ex = this.exchange!;
    this.served++;
    ex.log(termination);
    this.exchange = undefined;
    // Between requests: hold the newest compiled frontend, not the one this request used,
    // so an idle connection never keeps an old config alive through many live applies.
    this.fe = this.fe.latest() ?? this.fe;
    const pipelined = this.buf !== undefined && this.buf.length > 0;
    if (ex.closeAfter || (this.clientEnded && !pipelined)) {
      this.close();
      return;
    }
    if (pipelined) {
      // A half-closed client is not migrated: the receiver would never see its end.
      if (this.leaveMode === 'migrate' && !this.clientEnded) {
        this.transition('idle');
        this.setDeadline('keep-alive', this.fe.config.timeouts.keepAlive);
        this.migrateNow();
        return;
      }
      this.transition('reading');
      if (outputBacklogged(this.socket)) {
        // The client pipelines without reading our responses: start the next one only once
        // it has read these ('drain'), and read no more from it meanwhile.
        this.awaitingOutput = true;
        this.pauseReading();
        this.setDeadline('client', this.fe.config.timeouts.client);
        return;
      }
      this.startPipelined();
      return;
    }
    this.transition('idle');
    this.setDeadline('keep-alive', this.fe.config.timeouts.keepAlive);
    this.resumeClient();
    if (this.leaveMode) this.leaveAtIdle();
  }

  /** The exchange cannot finish properly: log it and reset the connection. */
  aborted(termination: Termination): void {
    this.exchange!.log(termination);
    this.exchange = undefined;
    this.destroy();
  }

  /**
   * A 101: the response head (and whatever the server sent after it) goes to the client,
   * the client bytes after the upgrade request go to the server, and a TunnelSession takes
   * over both sockets, this connection's registry entry and the access-log entry.
   */
  upgraded(head: string, serverRest: Buffer, server: net.Socket, slot: Slot | undefined, entry: AccessEntry): void {
    const socket = this.socket;
    this.transition('upgraded');
    this.exchange = undefined;
    this.deadline = 0;
    this.fe.sweeper.delete(this);
    socket.off('data', this.onClientData);
    socket.off('end', this.onClientEnd);
    socket.off('close', this.onClientClose);
    socket.off('drain', this.onClientDrain);
    socket.off('error', noop);
    socket.cork();
    socket.write(head, 'latin1');
    if (serverRest.length > 0) socket.write(serverRest);
    socket.uncork();
    // Client bytes that came after the upgrade request belong to the tunnel.
    if (this.buf !== undefined && this.buf.length > 0) server.write(this.buf);
    this.buf = undefined;
    const backend = entry.backend === undefined ? undefined : this.fe.version.backends.get(entry.backend);
    new TunnelSession(this.fe.ctx, {
      frontend: this.frontend,
      generation: this.fe.version.generation,
      origin: 'upgrade',
      client: socket,
      server,
      slot,
      backend: entry.backend ?? '',
      serverName: entry.server ?? '',
      idleTimeout: tunnelTimeout(this.fe.config, backend?.config),
      entry,
      replaces: this,
    });
  }

  /** A pipelined request is already here: parse it on the next turn, so that a long pipeline does not recurse. */
  private startPipelined() {
    this.setDeadline('request', this.fe.config.timeouts.httpRequest);
    this.resumeClient();
    setImmediate(this.parsePipelined);
  }

  private readonly parsePipelined = () => {
    if (this.phase === 'reading' && !this.awaitingOutput) this.parseNext();
  };

  // ---- closing, draining, migrating ------------------------------------------------------------

  /** Graceful close: send what is queued, then FIN; destroy if the client does not let go. */
  private close() {
    if (this.gone || this.phase === 'closing') return;
    this.transition('closing');
    this.setDeadline('closing', Math.max(1000, Math.min(this.fe.config.timeouts.client, 10_000)));
    this.socket.end();
    // Keep reading (and discarding) until the client's FIN: a paused socket (pipelined
    // bytes over the limit) would never see it and linger until the closing deadline, then
    // reset the client, possibly before it has read our last response.
    this.readPaused = false;
    this.socket.resume();
    // Once our FIN is out and the client's has arrived (or it resets), 'close' fires.
    this.socket.once('close', () => this.finish('closed'));
    if (this.clientEnded) this.socket.once('finish', () => this.socket.destroy());
  }

  private destroy() {
    if (this.gone) return;
    this.socket.destroy();
    this.finish(this.leaveMode ? 'killed' : 'closed');
  }

  private finish(how: ConnectionEnd) {
    if (this.gone) return;
    this.transition('closed');
    this.deadline = 0;
    const ex = this.exchange;
    if (ex) {
      // Every path that closes a connection ends its exchange first (abort() logs it); this
      // is the backstop that keeps a late queue or connect callback from using a dead socket.
      ex.termination ??= 'client-abort';
      ex.dropUpstream();
      this.exchange = undefined;
    }
    this.fe.sweeper.delete(this);
    this.fe.ctx.connections.remove(this, how);
  }

  leave(mode: LeaveMode, sameConfig: boolean): void {
    if (this.gone || this.phase === 'migrating') return;
    // Node cannot export a TLS session: a TLS connection is closed at its next safe point
    // instead (Connection: close on the response in flight; idle: closed).
    const tlsInsteadOfMigrate = mode === 'migrate' && this.secure && this.fe.ctx.migrator !== undefined;
    if (mode === 'migrate' && (!this.fe.ctx.migrator || this.secure)) mode = 'close';
    this.leaveMode = mode;
    if (mode === 'close' && this.served === 0 && !this.exchange) {
      // Just accepted (its request may be on the way): not an idle point. Its first
      // response carries Connection: close; http-request bounds the wait.
      return;
    }
    if (tlsInsteadOfMigrate && sameConfig && !this.exchange) {
      // An idle TLS connection at a restart (the new generation runs this same config):
      // closing it now races the client's next request (it would meet the close, as at
      // any keep-alive close). This worker's answer is the one the new generation would
      // give, so the next request is answered here with Connection: close, and the client
      // reconnects to the new generation. Bounded by keep-alive and the drain deadline.
      return;
    }
    if (this.phase === 'idle' || (this.phase === 'reading' && !this.exchange)) this.leaveAtIdle();
    else if (mode === 'close' && this.exchange) this.exchange.closeAfter = true; // Connection: close on the response in flight
  }

  private leaveAtIdle() {
    // A half-closed client is not migrated (the receiver would never see its end).
    if (this.leaveMode === 'migrate' && !this.clientEnded) this.migrateNow();
    else this.close();
  }

  /**
   * Hand this idle connection to the new generation: stop reading, wait for our last
   * response to leave for the kernel, then pass the socket with the bytes read but not
   * parsed (a partial or pipelined next request), which the receiver processes first.
   */
  private migrateNow() {
    const migrator = this.fe.ctx.migrator;
    if (!migrator || (this.phase !== 'idle' && this.phase !== 'reading')) return;
    const before = this.phase;
    this.transition('migrating');
    const socket = this.socket;
    stopReading(socket);
    const buffered = takeBuffered(socket);
    const unread = this.buf === undefined ? buffered : buffered.length === 0 ? this.buf : Buffer.concat([this.buf, buffered]);
    this.buf = undefined;
    const deadline = Date.now() + 2000;
    const go = () => {
      if (this.phase !== 'migrating') return;
      if (socket.destroyed) {
        // The client went away meanwhile ('close' may not have fired yet): no handle to pass.
        this.finish('closed');
        return;
      }
      if (pendingWriteBytes(socket) > 0) {
        if (Date.now() < deadline) {
          setTimeout(go, 1);
          return;
        }
        // The client does not read its last response: it is not idle after all. Keep it
        // here; the drain closes it at the deadline.
        this.transition(unread.length > 0 ? 'reading' : before);
        this.buf = unread.length > 0 ? unread : undefined;
        resumeReading(socket);
        return;
      }
      socket.off('data', this.onClientData);
      socket.off('end', this.onClientEnd);
      socket.off('close', this.onClientClose);
      socket.off('drain', this.onClientDrain);
      const handle = detachHandle(socket);
      this.fe.ctx.counters.migratedOut++;
      this.transition('closed');
      this.deadline = 0;
      this.fe.sweeper.delete(this);
      this.fe.ctx.connections.remove(this, 'migrated');
      migrator.migrateHttp(this.frontend, handle, unread);
    };
    go();
  }

  kill(): void {
    if (this.gone) return;
    if (this.exchange) this.exchange.abort('killed');
    else this.destroy();
  }
}

function noop() {}
