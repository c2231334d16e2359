// One request/response pair on an HTTP connection: the request head, its body framing, the
// server slot and connection, retries, the response framing, the timings and bytes, and how
// it ended. The connection (http-connection.ts) owns the socket and its lifecycle and makes
// one Exchange per request; the Exchange asks it to write, pause or resume the client, set
// deadlines, and tells it when it is done (done(), aborted(), upgraded()).
//
// An exchange runs start to end with the compiled frontend in force when it started: its
// backend and rules come from that one config (invariant I8).
import type { AccessEntry, Termination } from '../observe/access-entry.js';
import { recordRequestHeaders } from '../observe/access-log.js';
import { countFinishedRequest, peerAddress } from './context.js';
import type { HttpsRedirect } from '../config/tls-types.js';
import { renderErrorResponse } from './error-response.js';
import { httpsLocation, renderHttpsRedirect } from './https-redirect.js';
import type { ExchangeHost } from './exchange-host.js';
import { ExchangeUpstream, IDEMPOTENT } from './exchange-upstream.js';
import type { HttpFrontendShared } from './http-frontend-shared.js';
import { HttpParseError } from './http/errors.js';
import { buildResponseHead, headerValue } from './http/head-rewrite.js';
import type { RequestHead } from './http/request-head.js';
import { parseResponseHead, type ResponseHead, responseBodyFraming } from './http/response-head.js';

// Body framing of the request (numbers, not strings: compared on every body chunk).
const BODY_NONE = 0;
const BODY_LENGTH = 1;
const BODY_CHUNKED = 2;

// Response framing (mirrors BodyFraming kinds).
const RES_NONE = 0;
const RES_LENGTH = 1;
const RES_CHUNKED = 2;
const RES_CLOSE = 3;

export class Exchange extends ExchangeUpstream {
  // Request
  private reqBody = BODY_NONE;
  private reqRemaining = 0;

  // Server
  private upstreamResponded = false; // bytes of a response came from the server
  private upstreamReusable = true;
  private upstreamPaused = false;

  // Response
  responseStarted = false; // bytes of a response went to the client
  private resFraming = RES_NONE;
  private resRemaining = 0;

  // Timings and sizes for the access log (queue and connect: ExchangeUpstream)
  private tResponse = 0;
  bytesIn: number;
  private bytesOut = 0;
  private status = 0;

  constructor(conn: ExchangeHost, fe: HttpFrontendShared, req: RequestHead, closeAfter: boolean) {
    super(conn, fe, req, closeAfter);
    this.bytesIn = req.headBytes;
  }

  /** Route the request and get it going: body framing, then a server. */
  start(): void {
    const head = this.req;
    const conn = this.conn;
    if (head.chunked) {
      this.reqBody = BODY_CHUNKED;
      conn.requestTracker().reset();
      this.reqBodyDone = false;
    } else if (head.contentLength > 0) {
      this.reqBody = BODY_LENGTH;
      this.reqRemaining = head.contentLength;
      this.reqBodyDone = false;
    }
    // The client's inactivity bounds only what it still owes (its body). A complete request
    // waiting for a slot or a connection is bounded by timeouts.queue and connect, and gets
    // the 503 page (I7), not a reset at timeouts.client; the server deadline starts once sent.
    if (this.reqBodyDone) conn.deadline = 0;
    else conn.setDeadline('client', this.fe.config.timeouts.client);
    // Body bytes that came with the head.
    if (!this.reqBodyDone) {
      const rest = conn.takeInput();
      if (rest !== undefined) {
        this.requestBody(rest, 0);
        // A malformed body already answered (400) and ended this exchange.
        if (this.termination !== undefined) return;
      }
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
    // redirect_https on the route (or as the frontend's default): answered here, no backend.
    const redirect = match.route ? match.route.redirectHttps : this.fe.config.redirectHttps;
    if (redirect) {
      this.respondRedirect(redirect);
      return;
    }
    this.backend = this.fe.version.backends.get(match.backend);
    if (!this.backend) {
      this.respondError(503, 'no-backend', !this.reqBodyDone);
      return;
    }
    this.acquire();
  }

  // ---- request body ------------------------------------------------------------------------

  /** Feed request body bytes (from `offset`) through the framing tracker and on to the server. */
  requestBody(chunk: Buffer, offset: number): void {
    let n: number;
    const avail = chunk.length - offset;
    const conn = this.conn;
    if (this.reqBody === BODY_LENGTH) {
      n = Math.min(avail, this.reqRemaining);
      this.reqRemaining -= n;
      if (this.reqRemaining === 0) this.reqBodyDone = true;
    } else {
      const tracker = conn.requestTracker();
      try {
        n = tracker.feed(chunk, offset, chunk.length);
      } catch (err) {
        this.badRequestBody(err);
        return;
      }
      if (tracker.done) this.reqBodyDone = true;
    }
    this.bytesIn += n;
    if (n > 0) this.sendBody(n === chunk.length ? chunk : chunk.subarray(offset, offset + n));
    if (offset + n < chunk.length) conn.bufferNext(chunk.subarray(offset + n));
    if (this.reqBodyDone && conn.deadlineKind === 'client') {
      if (this.upstream) conn.setDeadline('server', this.serverTimeout());
      else conn.deadline = 0; // still waiting for a server: see start()
    }
  }

  private badRequestBody(err: unknown) {
    if (err instanceof HttpParseError) {
      this.fe.ctx.log.debug('bad request body', { frontend: this.fe.config.name, client: this.conn.clientAddress, reason: err.reason });
      if (!this.responseStarted) {
        this.dropUpstream();
        this.respondError(err.status, 'bad-request', true);
        return;
      }
    }
    this.abort('bad-request-body');
  }

  // ---- the response -------------------------------------------------------------------------

  onUpstreamData(chunk: Buffer): void {
    this.upstreamResponded = true;
    const conn = this.conn;
    if (conn.deadlineKind === 'server') conn.deadline = this.fe.sweeper.now + this.serverTimeout();
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
        // wait for the final one. A server may send them without end: each write is bounded
        // by the client's reading.
        if (this.req.versionMinor === 1 && !this.conn.socket.write(buf.subarray(0, end))) this.pauseUpstream();
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
    const req = this.req;
    this.resHead = head;
    this.tResponse = Date.now() - this.tStart;
    this.status = head.status;
    const framing = responseBodyFraming(head, req.method);
    switch (framing.kind) {
      case 'tunnel':
        // 2xx to CONNECT is refused earlier; a 101 nobody asked for is a bad response.
        if (head.status === 101 && req.upgrade !== undefined) this.upgrade(head, buf.subarray(bodyStart));
        else this.badResponse('unexpected-101');
        return;
      case 'none':
        this.resFraming = RES_NONE;
        break;
      case 'length':
        this.resFraming = RES_LENGTH;
        this.resRemaining = framing.length;
        break;
      case 'chunked':
        this.resFraming = RES_CHUNKED;
        this.conn.responseTracker().reset();
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
      this.conn.leaveMode === 'close' ||
      (req.versionMinor === 0 && this.resFraming === RES_CHUNKED)
    )
      this.closeAfter = true;
    this.conn.writing();
    this.responseStarted = true;
    const out = buildResponseHead(head, this.rules, req.versionMinor, this.closeAfter, this);
    this.bytesOut += out.length;
    if (this.resFraming === RES_NONE) {
      this.conn.socket.write(out, 'latin1');
      if (bodyStart < buf.length) this.upstreamReusable = false; // bytes after a body-less response
      this.finishResponse();
      return;
    }
    this.responseBody(buf, bodyStart, out);
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
      case RES_CHUNKED: {
        const tracker = this.conn.responseTracker();
        try {
          n = tracker.feed(chunk, offset, chunk.length);
        } catch {
          if (head !== undefined) {
            // Nothing went to the client yet: it gets the 502 page.
            this.responseStarted = false;
            this.badResponse('bad-response-body');
          } else {
            // Headers are out: all the client can be told is a closed connection.
            this.abort('bad-response-body');
          }
          return;
        }
        done = tracker.done;
        break;
      }
      default:
        n = avail; // close-delimited: everything until the server closes
    }
    const socket = this.conn.socket;
    let flushed = true;
    if (n > 0) {
      const part = n === chunk.length ? chunk : chunk.subarray(offset, offset + n);
      this.bytesOut += n;
      if (head === undefined) flushed = socket.write(part);
      else {
        const out = Buffer.allocUnsafe(head.length + n);
        out.write(head, 0, 'latin1');
        part.copy(out, head.length);
        flushed = socket.write(out);
      }
    } else if (head !== undefined) {
      flushed = socket.write(head, 'latin1');
    }
    if (!flushed && !done) this.pauseUpstream();
    if (offset + n < chunk.length) this.upstreamReusable = false; // the server sent more than one response
    if (done) this.finishResponse();
  }

  /** Stop reading the server: the client has not read what is queued to it. onClientDrain resumes. */
  private pauseUpstream() {
    if (this.upstreamPaused || !this.upstream) return;
    this.upstreamPaused = true;
    this.upstream.socket.pause();
    if (this.reqBodyDone) this.conn.setDeadline('client', this.fe.config.timeouts.client);
  }

  /** The client read what was queued to it. */
  onClientDrain(): void {
    if (!this.upstreamPaused) return;
    this.upstreamPaused = false;
    this.upstream?.socket.resume();
    if (this.conn.deadlineKind === 'client' && this.reqBodyDone) this.conn.setDeadline('server', this.serverTimeout());
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
    if (this.termination !== undefined) return;
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
    this.abort(hadError ? 'server-reset-mid-response' : 'server-closed-mid-response');
  }

  onUpstreamDrain(): void {
    if (!this.reqBodyDone) this.conn.resumeClient();
  }

  /** A timeout of the connection's sweeper, while this exchange was waiting on the server. */
  onServerTimeout(): void {
    if (!this.responseStarted) {
      this.dropUpstream();
      this.respondError(504, 'server-timeout', !this.reqBodyDone);
    } else this.abort('server-timeout');
  }

  /** ... or on the client (its body, or its reading of the response). */
  onClientTimeout(): void {
    // A client that stopped sending its body is told why (408) while no response has
    // started; otherwise (it stopped reading) a close is all that is left.
    if (!this.responseStarted && !this.reqBodyDone) this.respondError(408, 'client-timeout', true);
    else this.abort('client-timeout');
  }

  private badResponse(cause: Termination) {
    this.dropUpstream();
    this.respondError(502, cause, true);
  }

  // ---- ends ----------------------------------------------------------------------------------

  private finishResponse() {
    const up = this.upstream;
    this.upstream = undefined;
    if (up) {
      if (this.upstreamReusable && this.reqBodyDone) {
        // Paused by a backlogged 1xx whose final response came in the same read: a pooled
        // connection must read again (the next response, or the server's close).
        if (this.upstreamPaused) up.socket.resume();
        this.fe.pool.put(up);
      } else up.destroy();
    }
    this.upstreamPaused = false;
    this.releaseSlot();
    this.conn.done('ok');
  }

  /** Answer with one of handoff's own pages. Closes the connection when `close` is set. */
  respondError(status: number, cause: Termination, close: boolean): void {
    if (this.termination !== undefined) return;
    if (this.responseStarted) {
      this.abort(cause);
      return;
    }
    this.dropUpstream();
    if (close || this.conn.leaveMode === 'close') this.closeAfter = true;
    this.status = status;
    this.conn.writing();
    this.responseStarted = true;
    const out = renderErrorResponse(status, this.fe.config.errors, this.rules.response, this.vars(), this.closeAfter);
    this.bytesOut += out.length;
    this.conn.socket.write(out);
    this.conn.done(cause);
  }

  /** 301/308 to the https URL (https-redirect.ts); a Host that cannot go into Location gets 400. */
  private respondRedirect(redirect: HttpsRedirect) {
    const location = httpsLocation(redirect, this.req.host, this.req.path);
    if (location === undefined) {
      this.respondError(400, 'bad-request', true);
      return;
    }
    // A body not yet read cannot be skipped safely: close after the answer.
    if (!this.reqBodyDone || this.conn.leaveMode === 'close') this.closeAfter = true;
    this.status = redirect.code;
    this.conn.writing();
    this.responseStarted = true;
    const out = renderHttpsRedirect(redirect, location, this.rules.response, this.vars(), this.closeAfter);
    this.bytesOut += out.length;
    this.conn.socket.write(out);
    this.conn.done('ok');
  }

  /** The exchange cannot finish properly (reset, timeout, abort): close both sides. */
  abort(cause: Termination): void {
    if (this.termination !== undefined) return;
    this.dropUpstream();
    this.conn.aborted(cause);
  }

  /** A 101: the response head goes out, and the connection becomes a tunnel with the server's socket. */
  private upgrade(res: ResponseHead, serverRest: Buffer) {
    const up = this.upstream!;
    this.upstream = undefined;
    this.status = 101;
    this.responseStarted = true;
    // The connection becomes the tunnel: no Connection: close (a drain or the client's
    // "close, upgrade" asked for one), whatever happens after the tunnel ends it.
    this.closeAfter = false;
    const protocol = headerValue(res.headers, 'upgrade') ?? this.req.upgrade;
    const out = buildResponseHead(res, this.rules, this.req.versionMinor, false, this, protocol);
    this.bytesOut += out.length;
    const slot = this.slot;
    this.slot = undefined; // the tunnel holds it now
    this.termination = 'ok';
    this.countHeads();
    this.conn.upgraded(out, serverRest, up.detachSocket(), slot, this.accessEntry('ok'));
  }

  /** The entry for the access log (a tunnel completes it when it ends). */
  accessEntry(termination: Termination): AccessEntry {
    const req = this.req;
    const entry: AccessEntry = {
      time: new Date(this.tStart).toISOString(),
      generation: this.fe.version.generation,
      pid: this.fe.ctx.pid,
      client: peerAddress(this.conn.socket),
      frontend: this.fe.config.name,
      host: req.host,
      request_id: this.requestId,
      client_request_id: undefined,
      route: this.route?.name,
      backend: this.backend?.name,
      server: this.lastServer,
      method: req.method,
      path: req.path,
      protocol: req.versionMinor === 1 ? 'HTTP/1.1' : 'HTTP/1.0',
      status: this.status,
      user_agent: undefined,
      referer: undefined,
      bytes_in: this.bytesIn,
      bytes_out: this.bytesOut,
      timings: { queue: this.tQueue, connect: this.tConnect, response: this.tResponse, total: Date.now() - this.tStart },
      termination,
      retries: this.retries || undefined,
      migrated: this.conn.migratedIn || undefined,
    };
    recordRequestHeaders(entry, req.headers);
    return entry;
  }

  /** Count the finished exchange and write its access-log line. */
  log(termination: Termination): void {
    this.termination = termination;
    const ctx = this.fe.ctx;
    const c = ctx.counters;
    countFinishedRequest(c, this.fe.config.name, this.backend?.name, this.status, Date.now() - this.tStart);
    c.bytesIn += this.bytesIn;
    c.bytesOut += this.bytesOut;
    if (ctx.accessLog.enabled) ctx.accessLog.write(this.accessEntry(termination));
  }

  /** The head bytes of an exchange that became a tunnel (the tunnel counts its own). */
  private countHeads(): void {
    const c = this.fe.ctx.counters;
    c.bytesIn += this.bytesIn;
    c.bytesOut += this.bytesOut;
  }
}
