// One client connection of an HTTP frontend: handoff's own HTTP/1.1 engine over a raw
// net.Socket. It owns the connection's state explicitly, because the drain and the
// migration need to know exactly when a connection is between requests and which bytes
// were read but not parsed:
//
//   idle ──first byte──▶ reading ──head parsed──▶ waiting ──response head──▶ writing
//     ▲                                              │                          │
//     └──────────────── response complete (keep-alive) ◀────────────────────────┘
//   writing/waiting ──101──▶ tunnel          any ──close decided──▶ closing
//
// One request is in flight at a time; pipelined requests wait in the input buffer and are
// answered in order. The request head is rebuilt for the server (hop-by-hop headers out,
// X-Forwarded-* and header rules in); bodies are forwarded byte for byte, chunked framing
// included, while a tracker finds where each body ends. Back-pressure both ways: a side
// that cannot keep up pauses the other side's reading.
import type net from 'node:net';
import type { Route } from '../config/types.js';
import { tunnelTimeout } from '../config/timeouts.js';
import type { BackendRuntime } from '../backend/backend-runtime.js';
import type { ServerState, Slot } from '../backend/types.js';
import { HandoffError } from '../lib/errors.js';
import { detachHandle, pendingWriteBytes, resumeReading, stopReading, takeBuffered } from '../lib/node-handles.js';
import { recordRequestHeaders, type AccessEntry } from '../observe/access-log.js';
import type { ConnectionState } from '../protocol/counters.js';
import type { TunnelResume } from '../protocol/ipc.js';
import type { ClientConnection, ConnectionEnd, ReleaseMode } from './connections.js';
import { countFinishedRequest, countQueueWait, peerAddress } from './context.js';
import { renderErrorResponse } from './error-response.js';
import type { CompiledRules, RuleVars } from './header-rules.js';
import type { HttpFrontendShared } from './http-frontend.js';
import { inputHasRoom, outputBacklogged } from './http/backpressure.js';
import { ChunkedTracker } from './http/chunked-tracker.js';
import { HttpParseError } from './http/errors.js';
import { HeadScanner } from './http/head-scanner.js';
import { parseRequestHead, type RequestHead } from './http/request-head.js';
import { parseResponseHead, responseBodyFraming, type ResponseHead } from './http/response-head.js';
import { Tunnel, type TunnelEnd } from './tunnel.js';
import { localResourceCode, reportLocalShortage } from './local-resources.js';
import { connectTo } from './upstream-connect.js';
import { connectFailureCause } from '../tls/backend-tls.js';
import type { UpstreamConnection, UpstreamUser } from './upstream-pool.js';

const IDEMPOTENT = new Set(['GET', 'HEAD', 'OPTIONS', 'TRACE', 'PUT', 'DELETE']);
/** A non-idempotent request cannot be retried after a reset, so it reuses only connections idle for less than this. */
const SAFE_REUSE_MS = 1000;
/** Request body bytes held while no server connection is ready yet; beyond, the client is paused. */
const MAX_PENDING_BODY = 64 * 1024;

// Body framing of the request in flight.
const BODY_NONE = 0;
const BODY_LENGTH = 1;
const BODY_CHUNKED = 2;

// Response framing (mirrors BodyFraming kinds).
const RES_NONE = 0;
const RES_LENGTH = 1;
const RES_CHUNKED = 2;
const RES_CLOSE = 3;

type DeadlineKind = 'request' | 'keep-alive' | 'server' | 'client' | 'closing';

export class HttpConnection implements ClientConnection, UpstreamUser {
  readonly id: number;
  readonly frontend: string;
  state: ConnectionState = 'idle';
  deadline = 0;
  private deadlineKind: DeadlineKind = 'keep-alive';

  // Input: bytes read from the client and not yet consumed.
  private buf: Buffer | undefined;
  private readonly scanner = new HeadScanner();
  private clientEnded = false;
  private readPaused = false;
  /** A pipelined request waits until the client reads what is queued to it (see backpressure.ts). */
  private awaitingOutput = false;

  // The request in flight.
  private req: RequestHead | undefined;
  private reqBody = BODY_NONE;
  private reqRemaining = 0;
  private reqChunked: ChunkedTracker | undefined;
  private reqBodyDone = true;
  private pendingBody: Buffer[] = [];
  private pendingBodyBytes = 0;
  private route: Route | undefined;
  private backend: BackendRuntime | undefined;
  private rules: CompiledRules;
  private slot: Slot | undefined;
  private upstream: UpstreamConnection | undefined;
  private tried: Set<ServerState> | undefined;
  private retries = 0;
  private abort: AbortController | undefined;
  private requestId = '';
  private responseStarted = false; // bytes of a response went to the client
  private upstreamResponded = false; // bytes of a response came from the server
  private upstreamBuf: Buffer | undefined;
  private resHead: ResponseHead | undefined;
  private resFraming = RES_NONE;
  private resRemaining = 0;
  private resChunked: ChunkedTracker | undefined;
  private closeAfter = false;
  private upstreamReusable = true;
  private upstreamPaused = false;

  // Timings and sizes for the access log.
  private tStart = 0;
  private tQueue = 0;
  private tConnect = 0;
  private tResponse = 0;
  private bytesIn = 0;
  private bytesOut = 0;
  private status = 0;

  private releaseMode: ReleaseMode | undefined;
  /** Requests answered on this connection (a never-served one is not idle between requests). */
  private served = 0;
  private tunnel: Tunnel | undefined;
  private ended = false;
  private migrating = false;
  private readonly clientAddress: string;

  constructor(
    private readonly socket: net.Socket,
    private fe: HttpFrontendShared,
    initial?: Buffer,
    /** A migrated tunnel: the Tunnel owns the socket; see resumeTunnel(). */
    adoptedTunnel = false,
  ) {
    this.id = fe.ctx.connections.newId();
    this.frontend = fe.config.name;
    this.clientAddress = socket.remoteAddress ?? '';
    this.rules = fe.frontendRules;
    if (adoptedTunnel) {
      this.state = 'tunnel';
      fe.sweeper.add(this);
      fe.ctx.connections.add(this);
      return;
    }
    socket.setNoDelay(true);
    socket.on('data', this.onClientData);
    socket.on('end', this.onClientEnd);
    socket.on('close', this.onClientClose);
    socket.on('error', noop); // 'close' follows
    socket.on('drain', this.onClientDrain);
    fe.sweeper.add(this);
    fe.ctx.connections.add(this);
    if (initial && initial.length > 0) {
      this.state = 'reading';
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
    if (!this.ended && !this.migrating) socket.resume();
  }

  // ---- deadlines -------------------------------------------------------------------------

  private setDeadline(kind: DeadlineKind, ms: number) {
    this.deadlineKind = kind;
    this.deadline = this.fe.sweeper.now + ms;
  }

  onDeadline(): void {
    this.deadline = 0;
    switch (this.deadlineKind) {
      case 'keep-alive':
        this.close('keep-alive-timeout');
        return;
      case 'request':
        // Slowloris: the head did not arrive in time. A connection that sent nothing at all
        // is just closed (a pre-connect or a probe), like HAProxy's http-ignore-probes.
        if (this.buf === undefined || this.buf.length === 0) this.close('http-request-timeout');
        else this.respondError(408, 'http-request-timeout', true);
        return;
      case 'server':
        if (!this.responseStarted) {
          this.dropUpstream();
          this.respondError(504, 'server-timeout', !this.reqBodyDone);
        } else this.abortExchange('server-timeout');
        return;
      case 'client':
        // A client that stopped sending its body is told why (408) while no response has
        // started; otherwise (it stopped reading) a close is all that is left.
        if (!this.responseStarted && !this.reqBodyDone) this.respondError(408, 'client-timeout', true);
        else this.abortExchange('client-timeout');
        return;
      case 'closing':
        this.destroy('closing-timeout');
        return;
    }
  }

  // ---- client input ------------------------------------------------------------------------

  private readonly onClientData = (chunk: Buffer) => {
    if (this.state === 'idle') {
      this.state = 'reading';
      this.setDeadline('request', this.fe.config.timeouts.httpRequest);
    }
    switch (this.state) {
      case 'reading':
        if (this.awaitingOutput) {
          this.bufferNext(chunk);
          return;
        }
        this.buf = this.buf === undefined ? chunk : Buffer.concat([this.buf, chunk]);
        this.parseNext();
        return;
      case 'waiting':
      case 'writing':
        if (!this.reqBodyDone) {
          this.deadlineOnClientActivity();
          this.requestBody(chunk, 0);
        } else this.bufferNext(chunk);
        return;
      default:
        return; // closing: discard
    }
  };

  /** Bytes after the request in flight (pipelined requests): kept for later, bounded in bytes and in requests. */
  private bufferNext(chunk: Buffer) {
    this.buf = this.buf === undefined ? chunk : Buffer.concat([this.buf, chunk]);
    if (!this.readPaused && !this.inputHasRoom()) {
      this.readPaused = true;
      this.socket.pause();
    }
  }

  private inputHasRoom(): boolean {
    return inputHasRoom(this.buf, this.fe.limits.headerSize + this.fe.limits.requestLine, this.fe.limits.pipeline);
  }

  /** Read the client again, unless its unparsed input is full or it has not read what we sent. */
  private resumeClient() {
    if (this.readPaused && !this.migrating && !this.awaitingOutput && this.inputHasRoom()) {
      this.readPaused = false;
      this.socket.resume();
    }
  }

  private deadlineOnClientActivity() {
    if (this.deadlineKind === 'client') this.deadline = this.fe.sweeper.now + this.fe.config.timeouts.client;
  }

  private readonly onClientEnd = () => {
    this.clientEnded = true;
    if (this.state === 'idle' || (this.state === 'reading' && !this.req)) {
      // A half-close between requests (or mid-head): nothing more will come.
      if (this.buf && this.buf.length > 0 && this.state === 'reading') this.respondError(400, 'incomplete-request', true);
      else this.close('client-closed');
    } else if (!this.reqBodyDone) {
      this.abortExchange('client-abort');
    }
    // Otherwise the request is complete: answer it, then close.
  };

  private readonly onClientClose = () => {
    if (this.ended || this.migrating) return;
    if (this.state === 'tunnel') return; // the tunnel reports its own end
    if (this.req) this.abortExchange('client-abort');
    else this.finishConnection('client-closed', 'closed');
  };

  private readonly onClientDrain = () => {
    if (this.upstreamPaused) {
      this.upstreamPaused = false;
      this.upstream?.socket.resume();
      if (this.deadlineKind === 'client' && this.reqBodyDone) this.setDeadline('server', this.backendTimeouts().server);
    }
    if (this.awaitingOutput && !this.ended && !this.migrating) {
      this.awaitingOutput = false;
      this.startPipelined();
    }
  };

  /** Stop reading the server: the client has not read what is queued to it. 'drain' resumes. */
  private pauseUpstream() {
    if (this.upstreamPaused || !this.upstream) return;
    this.upstreamPaused = true;
    this.upstream.socket.pause();
    if (this.reqBodyDone) this.setDeadline('client', this.fe.config.timeouts.client);
  }

  /** Parse the next request head from the input buffer, if it is complete. */
  private parseNext() {
    const buf = this.buf;
    if (buf === undefined || buf.length === 0 || this.req) return;
    let end: number;
    let head: RequestHead;
    try {
      end = this.scanner.scan(buf, 0, buf.length, this.fe.limits, 'request');
      if (end < 0) {
        this.state = 'reading';
        return;
      }
      head = parseRequestHead(buf, this.scanner.skipped, end, this.fe.limits);
    } catch (err) {
      this.badRequest(err);
      return;
    }
    this.buf = end === buf.length ? undefined : buf.subarray(end);
    this.startRequest(head);
  }

  private badRequest(err: unknown) {
    const status = err instanceof HttpParseError ? err.status : 400;
    this.fe.ctx.log.debug('bad request', {
      frontend: this.frontend,
      client: this.clientAddress,
      reason: err instanceof HttpParseError ? err.reason : String(err),
    });
    this.respondError(status, err instanceof HttpParseError ? `bad-request: ${err.reason}` : 'bad-request', true);
  }

  // ---- one request ---------------------------------------------------------------------------

  private startRequest(head: RequestHead) {
    this.req = head;
    this.state = 'waiting';
    this.tStart = Date.now();
    this.tQueue = this.tConnect = this.tResponse = 0;
    this.bytesIn = head.headBytes;
    this.bytesOut = 0;
    this.status = 0;
    this.retries = 0;
    this.tried = undefined;
    this.responseStarted = false;
    this.upstreamResponded = false;
    this.closeAfter = !head.keepAlive || this.clientEnded || this.releaseMode === 'close';
    this.upstreamReusable = true;
    // A live apply takes effect between requests: this one runs start to end with the config
    // in force now (invariant I8). A frontend the apply removed serves it, then closes.
    const latest = this.fe.latest();
    if (latest) this.fe = latest;
    else this.closeAfter = true;
    this.requestId = this.fe.nextRequestId();
    this.fe.ctx.counters.requests++;
    // Request body framing.
    if (head.chunked) {
      this.reqBody = BODY_CHUNKED;
      (this.reqChunked ??= new ChunkedTracker('request', this.fe.limits)).reset();
      this.reqBodyDone = false;
    } else if (head.contentLength > 0) {
      this.reqBody = BODY_LENGTH;
      this.reqRemaining = head.contentLength;
      this.reqBodyDone = false;
    } else {
      this.reqBody = BODY_NONE;
      this.reqBodyDone = true;
    }
    this.setDeadline('client', this.fe.config.timeouts.client);
    // Body bytes that came with the head.
    if (!this.reqBodyDone && this.buf !== undefined) {
      const rest = this.buf;
      this.buf = undefined;
      this.requestBody(rest, 0);
      // A malformed body already answered (400) and ended this request: routing it now
      // would dereference the finished request and crash the worker.
      if (this.ended || this.req !== head) return;
    }

    if (head.method === 'CONNECT') {
      this.respondError(405, 'connect-not-supported', true);
      return;
    }
    const match = this.fe.router.match(head.host, head.path);
    if (!match) {
      this.respondError(503, 'no-route', !this.reqBodyDone);
      return;
    }
    this.route = match.route;
    this.rules = match.route ? this.fe.routeRules(match.route) : this.fe.frontendRules;
    this.backend = this.fe.version.backends.get(match.backend);
    if (!this.backend) {
      this.respondError(503, 'no-backend', !this.reqBodyDone);
      return;
    }
    this.acquire();
  }

  /** Feed request body bytes (from `offset`) through the framing tracker and on to the server. */
  private requestBody(chunk: Buffer, offset: number) {
    let n: number;
    const avail = chunk.length - offset;
    if (this.reqBody === BODY_LENGTH) {
      n = Math.min(avail, this.reqRemaining);
      this.reqRemaining -= n;
      if (this.reqRemaining === 0) this.reqBodyDone = true;
    } else {
      try {
        n = this.reqChunked!.feed(chunk, offset, chunk.length);
      } catch (err) {
        this.abortExchangeWith(err);
        return;
      }
      if (this.reqChunked!.done) this.reqBodyDone = true;
    }
    this.bytesIn += n;
    if (n > 0) {
      const part = n === chunk.length ? chunk : chunk.subarray(offset, offset + n);
      this.sendBody(part);
    }
    if (offset + n < chunk.length) this.bufferNext(chunk.subarray(offset + n));
    if (this.reqBodyDone && this.deadlineKind === 'client' && this.upstream) this.setDeadline('server', this.backendTimeouts().server);
  }

  private sendBody(part: Buffer) {
    const up = this.upstream;
    if (up && this.state !== 'closing') {
      if (!up.socket.write(part)) {
        this.readPaused = true;
        this.socket.pause();
      }
      return;
    }
    this.pendingBody.push(part);
    this.pendingBodyBytes += part.length;
    if (this.pendingBodyBytes > MAX_PENDING_BODY && !this.readPaused) {
      this.readPaused = true;
      this.socket.pause();
    }
  }

  private backendTimeouts() {
    return this.backend!.config.timeouts;
  }

  private selection() {
    return { clientAddress: this.clientAddress, uri: this.req!.path };
  }

  /** Get a slot on a server (queueing if every server is full), then a connection. */
  private acquire() {
    const backend = this.backend!;
    const slot = backend.tryAcquire(this.selection(), this.tried);
    if (slot) {
      this.gotSlot(slot);
      return;
    }
    if (!backend.hasUsable(this.tried)) {
      this.respondError(503, 'no-server', !this.reqBodyDone);
      return;
    }
    this.abort ??= new AbortController();
    const req = this.req;
    backend.acquire(this.selection(), { ...(this.tried ? { exclude: this.tried } : {}), signal: this.abort.signal }).then(
      (s) => {
        countQueueWait(this.fe.ctx.counters, backend.name, s.queuedMs);
        if (this.req !== req || this.ended) s.release();
        else this.gotSlot(s);
      },
      (err: unknown) => {
        if (this.req !== req || this.ended) return;
        const code = err instanceof HandoffError ? err.code : '';
        this.respondError(
          503,
          code === 'HANDOFF_ERR_QUEUE_TIMEOUT' ? 'queue-timeout' : code === 'HANDOFF_ERR_QUEUE_FULL' ? 'queue-full' : 'no-server',
          !this.reqBodyDone,
        );
      },
    );
  }

  private gotSlot(slot: Slot) {
    this.slot = slot;
    this.lastServer = slot.server.config.name;
    this.tQueue += slot.queuedMs;
    const idempotent = IDEMPOTENT.has(this.req!.method);
    const pooled = this.fe.pool.take(slot.server, idempotent ? undefined : SAFE_REUSE_MS);
    if (pooled) {
      this.useUpstream(pooled);
      return;
    }
    const t0 = Date.now();
    const req = this.req;
    connectTo(slot.server.config.address, this.backendTimeouts().connect, slot.server.config.tls).then(
      (socket) => {
        slot.connectSucceeded();
        if (this.req !== req || this.ended || this.slot !== slot) {
          socket.destroy();
          return;
        }
        this.tConnect += Date.now() - t0;
        this.useUpstream(this.fe.pool.create(socket, slot.server));
      },
      (err: unknown) => {
        const local = localResourceCode(err);
        if (local) {
          // Out of fds/ports/buffers here: not the server's fault, its health is untouched.
          reportLocalShortage(this.fe.ctx.log, local, 'connect to a server', { server: slot.server.config.address.key });
          if (this.req !== req || this.ended || this.slot !== slot) return;
          this.releaseSlot();
          this.respondError(503, 'local-resources', !this.reqBodyDone);
          return;
        }
        slot.connectFailed(err instanceof Error ? err.message : String(err));
        if (this.req !== req || this.ended || this.slot !== slot) return;
        // connect-failed, or tls-verify-failed / tls-handshake-failed (TLS to servers: a 502).
        this.retry(slot.server, connectFailureCause(err, this.fe.ctx.counters));
      },
    );
  }

  /** Try the next candidate server (a connection failure, or a reset before any response byte). */
  private retry(failed: ServerState | undefined, cause: string) {
    this.slot?.release();
    this.slot = undefined;
    if (failed) (this.tried ??= new Set()).add(failed);
    // Out of retries or of candidates: the client learns what actually failed (a reset is a
    // 502), not a generic "no server".
    if (this.retries >= this.backend!.config.retries || !this.backend!.hasUsable(this.tried)) {
      this.respondError(cause === 'connect-failed' ? 503 : 502, cause, !this.reqBodyDone);
      return;
    }
    this.retries++;
    this.fe.ctx.counters.retries++;
    this.acquire();
  }

  private useUpstream(up: UpstreamConnection) {
    this.upstream = up;
    up.user = this;
    up.requests++;
    up.scanner.reset();
    this.upstreamBuf = undefined;
    this.resHead = undefined;
    const head = this.buildRequestHead();
    const sock = up.socket;
    if (this.pendingBody.length === 0) sock.write(head, 'latin1');
    else {
      sock.cork();
      sock.write(head, 'latin1');
      for (const part of this.pendingBody) sock.write(part);
      this.pendingBody = [];
      this.pendingBodyBytes = 0;
      sock.uncork();
    }
    if (this.reqBodyDone) this.setDeadline('server', this.backendTimeouts().server);
    this.resumeClient();
  }

  private vars(): RuleVars {
    return {
      generation: this.fe.version.generation,
      pid: this.fe.ctx.pid,
      frontend: this.frontend,
      route: this.route?.name ?? '',
      backend: this.backend?.name ?? '',
      server: this.lastServer ?? '',
      clientAddress: this.clientAddress,
      requestId: this.requestId,
      requestStart: this.tStart,
    };
  }

  private buildRequestHead(): string {
    const req = this.req!;
    const drop = this.rules.request.drop;
    const tokens = req.connectionTokens;
    let head = req.method + ' ' + req.path + (req.versionMinor === 1 ? ' HTTP/1.1\r\n' : ' HTTP/1.0\r\n');
    let xff: string | undefined;
    let sawHost = false;
    const h = req.headers;
    for (let i = 0; i < h.length; i += 2) {
      const name = h[i]!;
      const lower = name.toLowerCase();
      switch (lower) {
        case 'x-forwarded-proto':
        case 'x-forwarded-host':
          continue;
        case 'x-forwarded-for':
          xff = xff === undefined ? h[i + 1]! : xff + ', ' + h[i + 1]!;
          continue;
        case 'host':
          // An absolute-form target's authority replaces Host (RFC 9112 §3.2.2).
          if (req.authority !== undefined) continue;
          sawHost = true;
          break;
        case 'content-length':
          // Sent once below: the parser collapsed identical duplicates ("5, 5").
          continue;
      }
      if (forwarded(lower, tokens, drop)) head += name + ': ' + h[i + 1]! + '\r\n';
    }
    if (!sawHost && req.host !== undefined) head += 'Host: ' + req.host + '\r\n';
    if (req.contentLength >= 0 && !req.chunked) head += 'Content-Length: ' + req.contentLength + '\r\n';
    if (!drop.has('x-forwarded-for'))
      head += 'X-Forwarded-For: ' + (xff === undefined ? this.clientAddress : xff + ', ' + this.clientAddress) + '\r\n';
    if (!drop.has('x-forwarded-proto')) head += 'X-Forwarded-Proto: http\r\n';
    if (req.host !== undefined && !drop.has('x-forwarded-host')) head += 'X-Forwarded-Host: ' + req.host + '\r\n';
    if (req.upgrade !== undefined) head += 'Connection: upgrade\r\nUpgrade: ' + req.upgrade + '\r\n';
    else if (req.versionMinor === 0) head += 'Connection: keep-alive\r\n';
    if (!this.rules.request.empty) head += this.rules.request.render(this.vars());
    return head + '\r\n';
  }

  // ---- server input ---------------------------------------------------------------------------

  onUpstreamData(chunk: Buffer): void {
    this.upstreamResponded = true;
    if (this.deadlineKind === 'server') this.deadline = this.fe.sweeper.now + this.backendTimeouts().server;
    if (this.resHead === undefined) {
      this.upstreamBuf = this.upstreamBuf === undefined ? chunk : Buffer.concat([this.upstreamBuf, chunk]);
      this.parseResponse();
    } else {
      this.responseBody(chunk, 0);
    }
  }

  private parseResponse() {
    const up = this.upstream!;
    for (;;) {
      const buf = this.upstreamBuf!;
      let end: number;
      let head: ResponseHead;
      try {
        end = up.scanner.scan(buf, 0, buf.length, this.fe.limits, 'response');
        if (end < 0) return;
        head = parseResponseHead(buf, 0, end, this.fe.limits);
      } catch {
        this.badResponse('bad-response');
        return;
      }
      if (head.status >= 100 && head.status < 200 && head.status !== 101) {
        // Interim response (100 Continue, 103 Early Hints): forward to a 1.1 client, then
        // wait for the final one.
        // A server may send them without end: each write is bounded by the client's reading.
        if (this.req!.versionMinor === 1 && !this.socket.write(buf.subarray(0, end))) this.pauseUpstream();
        this.upstreamBuf = end === buf.length ? undefined : buf.subarray(end);
        up.scanner.reset();
        if (this.upstreamBuf === undefined) return;
        continue;
      }
      this.upstreamBuf = undefined;
      this.startResponse(head, buf, end);
      return;
    }
  }

  private startResponse(head: ResponseHead, buf: Buffer, bodyStart: number) {
    const req = this.req!;
    this.resHead = head;
    this.tResponse = Date.now() - this.tStart;
    this.status = head.status;
    const framing = responseBodyFraming(head, req.method);
    if (framing.kind === 'tunnel') {
      if (head.status === 101 && req.upgrade !== undefined) {
        this.startTunnel(head, buf.subarray(bodyStart));
        return;
      }
      // 2xx to CONNECT is refused earlier; a 101 nobody asked for is a bad response.
      this.badResponse('unexpected-101');
      return;
    }
    switch (framing.kind) {
      case 'none':
        this.resFraming = RES_NONE;
        break;
      case 'length':
        this.resFraming = RES_LENGTH;
        this.resRemaining = framing.length;
        break;
      case 'chunked':
        this.resFraming = RES_CHUNKED;
        (this.resChunked ??= new ChunkedTracker('response', this.fe.limits)).reset();
        break;
      case 'close':
        this.resFraming = RES_CLOSE;
        break;
    }
    if (!head.keepAlive || head.closeAfter || this.resFraming === RES_CLOSE || !this.reqBodyDone) this.upstreamReusable = false;
    // The client connection closes after this response when the body ends with the
    // connection, the client asked, a drain asked, or the request body cannot be skipped.
    if (
      this.resFraming === RES_CLOSE ||
      !this.reqBodyDone ||
      this.releaseMode === 'close' ||
      (req.versionMinor === 0 && this.resFraming === RES_CHUNKED)
    )
      this.closeAfter = true;
    this.state = 'writing';
    this.responseStarted = true;
    const out = this.buildResponseHead(head);
    this.bytesOut += out.length;
    if (this.resFraming === RES_NONE) {
      this.socket.write(out, 'latin1');
      if (bodyStart < buf.length) this.upstreamReusable = false; // bytes after a body-less response
      this.finishResponse();
      return;
    }
    this.responseBody(buf, bodyStart, out);
  }

  private buildResponseHead(res: ResponseHead): string {
    const drop = this.rules.response.drop;
    const tokens = res.connectionTokens;
    let head = 'HTTP/1.1 ' + res.status + ' ' + res.reason + '\r\n';
    const h = res.headers;
    for (let i = 0; i < h.length; i += 2) {
      const name = h[i]!;
      const lower = name.toLowerCase();
      // Content-Length is sent once below (identical duplicates were collapsed).
      if (lower !== 'content-length' && forwarded(lower, tokens, drop)) head += name + ': ' + h[i + 1]! + '\r\n';
    }
    if (res.contentLength >= 0) head += 'Content-Length: ' + res.contentLength + '\r\n';
    if (!this.rules.response.empty) head += this.rules.response.render(this.vars());
    if (this.closeAfter) head += 'Connection: close\r\n';
    else if (this.req!.versionMinor === 0) head += 'Connection: keep-alive\r\n';
    return head + '\r\n';
  }

  /**
   * Forward the response body bytes of `chunk` from `offset`. `head`: the response head,
   * not yet written: it goes out in the same write as the first body bytes (one buffer,
   * one system call, no cork/writev on the hot path).
   */
  private responseBody(chunk: Buffer, offset: number, head?: string) {
    let n: number;
    const avail = chunk.length - offset;
    let done = false;
    switch (this.resFraming) {
      case RES_LENGTH:
        n = Math.min(avail, this.resRemaining);
        this.resRemaining -= n;
        done = this.resRemaining === 0;
        break;
      case RES_CHUNKED:
        try {
          n = this.resChunked!.feed(chunk, offset, chunk.length);
        } catch {
          if (head !== undefined) {
            // Nothing went to the client yet: it gets the 502 page.
            this.responseStarted = false;
            this.badResponse('bad-response-body');
          } else {
            // Headers are out: all the client can be told is a closed connection.
            this.abortExchange('bad-response-body');
          }
          return;
        }
        done = this.resChunked!.done;
        break;
      default:
        n = avail; // close-delimited: everything until the server closes
    }
    let flushed = true;
    if (n > 0) {
      const part = n === chunk.length ? chunk : chunk.subarray(offset, offset + n);
      this.bytesOut += n;
      if (head === undefined) flushed = this.socket.write(part);
      else {
        const out = Buffer.allocUnsafe(head.length + n);
        out.write(head, 0, 'latin1');
        part.copy(out, head.length);
        flushed = this.socket.write(out);
      }
    } else if (head !== undefined) {
      flushed = this.socket.write(head, 'latin1');
    }
    if (!flushed && !done) this.pauseUpstream();
    if (offset + n < chunk.length) this.upstreamReusable = false; // the server sent more than one response
    if (done) this.finishResponse();
  }

  onUpstreamEnd(): void {
    if (this.resHead !== undefined && this.resFraming === RES_CLOSE) {
      this.upstreamReusable = false;
      this.finishResponse();
      return;
    }
    // The server is done sending before the response was complete. Server sockets are
    // half-open (allowHalfOpen), so 'close' would not follow on its own and the exchange
    // would wait for timeouts.server: destroy it, and onUpstreamClose decides (retry, 502,
    // or a closed client connection mid-response).
    this.upstream?.socket.destroy();
  }

  onUpstreamClose(hadError: boolean): void {
    const up = this.upstream;
    this.upstream = undefined;
    if (!this.req || this.ended) return;
    if (this.resHead === undefined) {
      // Closed or reset before a complete response head. Safe to try again only when the
      // server cannot have acted on the request: no response byte came, the request is
      // idempotent, and its body (if any) is not half-sent.
      const safe = !this.upstreamResponded && IDEMPOTENT.has(this.req.method) && this.reqBody === BODY_NONE;
      if (safe) {
        // A reused connection the server had closed: same server, fresh connection.
        const reused = up !== undefined && up.requests > 1;
        this.retry(reused ? undefined : up?.server, hadError ? 'server-reset' : 'server-closed');
        return;
      }
      this.releaseSlot();
      this.respondError(502, hadError ? 'server-reset' : 'server-closed', true);
      return;
    }
    // Mid-response: the client can only be told by a closed connection.
    this.abortExchange(hadError ? 'server-reset-mid-response' : 'server-closed-mid-response');
  }

  onUpstreamDrain(): void {
    if (this.readPaused && !this.reqBodyDone) this.resumeClient();
  }

  private badResponse(cause: string) {
    this.dropUpstream();
    this.respondError(502, cause, true);
  }

  // ---- ends of exchanges ----------------------------------------------------------------------

  private releaseSlot() {
    this.slot?.release();
    this.slot = undefined;
  }

  /** Close the server connection without reuse. */
  private dropUpstream() {
    const up = this.upstream;
    this.upstream = undefined;
    if (up) up.destroy();
    this.releaseSlot();
    this.abort?.abort();
    this.abort = undefined;
  }

  private finishResponse() {
    const up = this.upstream;
    this.upstream = undefined;
    if (up) {
      if (this.upstreamReusable && this.reqBodyDone) this.fe.pool.put(up);
      else up.destroy();
    }
    if (this.upstreamPaused) this.upstreamPaused = false;
    this.releaseSlot();
    this.endRequest('ok');
  }

  /** Count and log the request in flight, and forget it. */
  private logRequest(termination: string) {
    // Body bytes held for a server that never got the request (handoff answered it
    // itself) must not be sent ahead of the next request: that would smuggle them.
    this.pendingBody = [];
    this.pendingBodyBytes = 0;
    const req = this.req;
    if (!req) return;
    const c = this.fe.ctx.counters;
    const s = this.status;
    countFinishedRequest(c, this.frontend, this.backend?.name, s, Date.now() - this.tStart);
    c.bytesIn += this.bytesIn;
    c.bytesOut += this.bytesOut;
    if (this.fe.ctx.accessLog.enabled) {
      const entry: AccessEntry = {
        time: new Date(this.tStart).toISOString(),
        generation: this.fe.version.generation,
        pid: this.fe.ctx.pid,
        client: peerAddress(this.socket),
        frontend: this.frontend,
        host: req.host,
        request_id: this.requestId,
        client_request_id: undefined,
        route: this.route?.name,
        backend: this.backend?.name,
        server: this.lastServer,
        method: req.method,
        path: req.path,
        protocol: req.versionMinor === 1 ? 'HTTP/1.1' : 'HTTP/1.0',
        status: s,
        user_agent: undefined,
        referer: undefined,
        bytes_in: this.bytesIn,
        bytes_out: this.bytesOut,
        timings: { queue: this.tQueue, connect: this.tConnect, response: this.tResponse, total: Date.now() - this.tStart },
        termination,
        retries: this.retries || undefined,
      };
      recordRequestHeaders(entry, req.headers);
      this.fe.ctx.accessLog.write(entry);
    }
    this.req = undefined;
    this.route = undefined;
    this.backend = undefined;
    this.resHead = undefined;
    this.upstreamBuf = undefined;
    this.lastServer = undefined;
    // Between requests: hold the newest compiled frontend, not the one this request used,
    // so an idle connection never keeps an old config alive through many live applies.
    this.fe = this.fe.latest() ?? this.fe;
    this.rules = this.fe.frontendRules;
  }

  /** The response is complete: log it, then go idle (or on to a pipelined request) or close. */
  private endRequest(termination: string) {
    this.served++;
    this.logRequest(termination);
    if (this.closeAfter || this.clientEnded) {
      this.close(termination === 'ok' ? 'done' : termination);
      return;
    }
    this.state = 'idle';
    this.setDeadline('keep-alive', this.fe.config.timeouts.keepAlive);
    if (this.buf !== undefined && this.buf.length > 0) {
      if (this.releaseMode === 'migrate') {
        this.migrateNow();
        return;
      }
      this.state = 'reading';
      if (outputBacklogged(this.socket)) {
        // The client pipelines without reading our responses: start the next one only once
        // it has read these ('drain'), and read no more from it meanwhile.
        this.awaitingOutput = true;
        if (!this.readPaused) {
          this.readPaused = true;
          this.socket.pause();
        }
        this.setDeadline('client', this.fe.config.timeouts.client);
        return;
      }
      this.startPipelined();
      return;
    }
    this.resumeClient();
    if (this.releaseMode) this.releaseAtIdle();
  }

  private lastServer: string | undefined;

  /** A pipelined request is already here: parse it on the next turn, so that a long pipeline does not recurse. */
  private startPipelined() {
    this.setDeadline('request', this.fe.config.timeouts.httpRequest);
    this.resumeClient();
    setImmediate(() => {
      if (!this.ended && !this.migrating && this.state === 'reading' && !this.awaitingOutput) this.parseNext();
    });
  }

  /** Answer with one of handoff's own pages. Closes the connection when `close` is set. */
  private respondError(status: number, cause: string, close: boolean) {
    if (this.ended) return;
    if (this.responseStarted) {
      this.abortExchange(cause);
      return;
    }
    this.dropUpstream();
    if (!this.req) {
      // No request parsed (bad head, slowloris): still count and log it as a request.
      this.tStart = Date.now();
      this.bytesIn = this.buf?.length ?? 0;
      this.req = {
        method: '-',
        target: '',
        path: '',
        authority: undefined,
        versionMinor: 1,
        headers: [],
        host: undefined,
        contentLength: -1,
        chunked: false,
        keepAlive: false,
        connectionTokens: [],
        upgrade: undefined,
        expect: undefined,
        expectContinue: false,
        headBytes: 0,
      };
      this.fe.ctx.counters.requests++;
      this.buf = undefined;
      close = true;
    }
    if (close || this.releaseMode === 'close') this.closeAfter = true;
    this.status = status;
    this.responseStarted = true;
    const pages = this.fe.config.errors;
    const out = renderErrorResponse(status, pages, this.rules.response, this.vars(), this.closeAfter);
    this.bytesOut += out.length;
    this.socket.write(out);
    this.endRequest(cause);
  }

  /** The exchange cannot finish properly (reset, timeout, abort): close both sides. */
  private abortExchange(cause: string) {
    this.dropUpstream();
    this.logRequest(cause);
    this.destroy(cause);
  }

  private abortExchangeWith(err: unknown) {
    if (!this.responseStarted && err instanceof HttpParseError) {
      this.dropUpstream();
      this.respondError(err.status, `bad-request: ${err.reason}`, true);
      return;
    }
    this.abortExchange('bad-request-body');
  }

  // ---- closing, draining, migrating ------------------------------------------------------------

  /** Graceful close: send what is queued, then FIN; destroy if the client does not let go. */
  private close(cause: string) {
    if (this.ended) return;
    this.state = 'closing';
    this.setDeadline('closing', Math.max(1000, Math.min(this.fe.config.timeouts.client, 10_000)));
    this.socket.end();
    // Keep reading (and discarding) until the client's FIN: a paused socket (pipelined
    // bytes over the limit) would never see it and linger until the closing deadline, then
    // reset the client, possibly before it has read our last response.
    this.readPaused = false;
    this.socket.resume();
    // Once our FIN is out and the client's has arrived (or it resets), 'close' fires.
    this.socket.once('close', () => this.finishConnection(cause, 'closed'));
    if (this.clientEnded) this.socket.once('finish', () => this.socket.destroy());
  }

  private destroy(cause: string) {
    if (this.ended) return;
    this.socket.destroy();
    this.finishConnection(cause, this.releaseMode ? 'killed' : 'closed');
  }

  private finishConnection(_cause: string, how: ConnectionEnd) {
    if (this.ended) return;
    this.ended = true;
    this.deadline = 0;
    this.dropUpstream();
    this.fe.sweeper.delete(this);
    this.fe.ctx.connections.remove(this, how);
  }

  release(mode: ReleaseMode): void {
    if (this.ended || this.migrating) return;
    if (mode === 'migrate' && !this.fe.ctx.migrator) mode = 'close';
    this.releaseMode = mode;
    if (this.state === 'tunnel') {
      if (mode === 'migrate') void this.migrateTunnel();
      return; // 'close': a tunnel runs until the drain deadline
    }
    if (mode === 'close' && this.served === 0 && !this.req) {
      // Just accepted (its request may be on the way): not an idle point. Its first
      // response carries Connection: close; http-request bounds the wait.
      return;
    }
    if (this.state === 'idle' || (this.state === 'reading' && !this.req)) this.releaseAtIdle();
    else if (mode === 'close') this.closeAfter = true; // Connection: close on the response in flight
  }

  private releaseAtIdle() {
    if (this.releaseMode === 'migrate') this.migrateNow();
    else this.close('drain');
  }

  /**
   * Hand this idle connection to the new generation: stop reading, wait for our last
   * response to leave for the kernel, then pass the socket with the bytes read but not
   * parsed (a partial or pipelined next request), which the receiver processes first.
   */
  private migrateNow() {
    const migrator = this.fe.ctx.migrator;
    if (!migrator || this.migrating || this.ended) return;
    this.migrating = true;
    const socket = this.socket;
    stopReading(socket);
    const buffered = takeBuffered(socket);
    const unread = this.buf === undefined ? buffered : buffered.length === 0 ? this.buf : Buffer.concat([this.buf, buffered]);
    this.buf = undefined;
    const deadline = Date.now() + 2000;
    const go = () => {
      if (this.ended) return;
      if (pendingWriteBytes(socket) > 0) {
        if (Date.now() < deadline && !socket.destroyed) {
          setTimeout(go, 1);
          return;
        }
        // The client does not read its last response: it is not idle after all. Keep it
        // here; the drain closes it at the deadline.
        this.migrating = false;
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
      this.ended = true;
      this.deadline = 0;
      this.fe.sweeper.delete(this);
      this.fe.ctx.connections.remove(this, 'migrated');
      migrator.migrateHttp(this.frontend, handle, unread);
    };
    go();
  }

  kill(): void {
    if (this.ended) return;
    if (this.tunnel) {
      this.tunnel.kill();
      return;
    }
    if (this.req) this.abortExchange('killed');
    else this.destroy('killed');
  }

  // ---- upgrade tunnels --------------------------------------------------------------------------

  private startTunnel(res: ResponseHead, serverRest: Buffer) {
    const up = this.upstream!;
    this.upstream = undefined;
    this.status = 101;
    this.responseStarted = true;
    // The connection becomes the tunnel: no Connection: close (a drain or the client's
    // "close, upgrade" asked for one), whatever happens after the tunnel ends it.
    this.closeAfter = false;
    const out = this.buildResponseHead(res).replace(
      /\r\n\r\n$/,
      '\r\nConnection: upgrade\r\nUpgrade: ' + (headerValue(res.headers, 'upgrade') ?? this.req!.upgrade) + '\r\n\r\n',
    );
    const server = up.detachSocket();
    const socket = this.socket;
    socket.off('data', this.onClientData);
    socket.off('end', this.onClientEnd);
    socket.off('close', this.onClientClose);
    socket.off('drain', this.onClientDrain);
    socket.off('error', noop);
    socket.cork();
    socket.write(out, 'latin1');
    if (serverRest.length > 0) socket.write(serverRest);
    socket.uncork();
    // Client bytes that came after the upgrade request belong to the tunnel.
    if (this.buf !== undefined && this.buf.length > 0) server.write(this.buf);
    this.buf = undefined;
    if (this.readPaused) this.readPaused = false;
    this.bytesOut += out.length;
    this.state = 'tunnel';
    this.deadline = 0;
    this.tunnelResume = {
      backend: this.backend?.name ?? '',
      server: this.lastServer ?? '',
      origin: 'upgrade',
      lastActivity: Date.now(),
      clientAddress: peerAddress(socket),
      clientEnded: false,
      serverEnded: false,
    };
    this.tunnel = new Tunnel(socket, server, {
      idleTimeout: tunnelTimeout(this.fe.config, this.backend?.config),
      onEnd: (how, bytes) => this.tunnelEnded(how, bytes),
    });
    if (this.releaseMode === 'migrate') void this.migrateTunnel();
  }

  private tunnelResume: TunnelResume | undefined;

  /** Continue a tunnel migrated from an older generation. */
  resumeTunnel(tunnel: Tunnel, resume: TunnelResume, slot: Slot | undefined) {
    this.tunnelResume = resume;
    this.slot = slot;
    this.lastServer = resume.server;
    this.state = 'tunnel';
    this.deadline = 0;
    this.tunnel = tunnel;
  }

  tunnelEnded(how: TunnelEnd, bytes: { fromClient: number; fromServer: number }): void {
    this.bytesIn += bytes.fromClient;
    this.bytesOut += bytes.fromServer;
    if (how === 'migrated') return;
    this.logRequest(how === 'done' ? 'ok' : how);
    this.releaseSlot();
    this.finishConnection(how, how === 'killed' ? 'killed' : 'closed');
  }

  private async migrateTunnel(): Promise<void> {
    const migrator = this.fe.ctx.migrator;
    const tunnel = this.tunnel;
    if (!migrator || !tunnel || this.ended || this.migrating) return;
    this.migrating = true;
    const detached = await tunnel.detach(Date.now() + 1000);
    if (!detached) {
      this.migrating = false;
      return;
    }
    const resume: TunnelResume = { ...this.tunnelResume!, lastActivity: detached.lastActivity };
    this.fe.ctx.counters.migratedOut++;
    this.releaseSlot();
    this.ended = true;
    this.deadline = 0;
    this.fe.sweeper.delete(this);
    this.fe.ctx.connections.remove(this, 'migrated');
    migrator.migrateTunnel(this.frontend, detached.client, detached.server, resume);
  }
}

/**
 * Whether a received header (lower-cased name) goes on to the next hop: not hop-by-hop
 * (RFC 9110 §7.6.1: it describes this connection, not the message), not named in the
 * message's Connection header, not removed by a header rule. handoff adds its own
 * Connection/Upgrade where the next hop needs them.
 */
function forwarded(lower: string, connectionTokens: readonly string[], drop: ReadonlySet<string>): boolean {
  switch (lower) {
    case 'connection':
    case 'keep-alive':
    case 'proxy-connection':
    case 'te':
    case 'upgrade':
      return false;
  }
  if (connectionTokens.length > 0 && connectionTokens.includes(lower)) return false;
  return drop.size === 0 || !drop.has(lower);
}

function headerValue(headers: readonly string[], lowerName: string): string | undefined {
  for (let i = 0; i < headers.length; i += 2) if (headers[i]!.toLowerCase() === lowerName) return headers[i + 1];
  return undefined;
}

function noop() {}
