// The server side of an exchange: a slot on a server of the route's backend (waiting in
// its queue when every server is at maxconn), a pooled or new connection, retries on the
// next candidate, and the request head (with any body bytes held meanwhile) sent on it.
// Exchange (exchange.ts) extends it with the request body, the response and the ends.
import type { BackendRuntime } from '../backend/backend-runtime.js';
import type { ServerState, Slot } from '../backend/types.js';
import type { Route } from '../config/types.js';
import type { Termination } from '../observe/access-entry.js';
import { countQueueWait } from './context.js';
import type { ExchangeHost } from './exchange-host.js';
import type { CompiledRules, RuleVars } from './header-rules.js';
import type { HttpFrontendShared } from './http-frontend-shared.js';
import { buildRequestHead, type RuleVarsSource } from './http/head-rewrite.js';
import type { RequestHead } from './http/request-head.js';
import type { ResponseHead } from './http/response-head.js';
import { localResourceCode, reportLocalShortage } from './local-resources.js';
import { queueTermination } from './termination.js';
import { connectTo } from './upstream-connect.js';
import { upstreamFailureCause } from './upstream-failure.js';
import type { UpstreamConnection, UpstreamUser } from './upstream-pool.js';
import { tlsInfo } from '../tls/connection-info.js';

export const IDEMPOTENT = new Set(['GET', 'HEAD', 'OPTIONS', 'TRACE', 'PUT', 'DELETE']);
/** A non-idempotent request cannot be retried after a reset, so it reuses only connections idle for less than this. */
const SAFE_REUSE_MS = 1000;
/** Request body bytes held while no server connection is ready yet; beyond, the client is paused. */
const MAX_PENDING_BODY = 64 * 1024;

export abstract class ExchangeUpstream implements UpstreamUser, RuleVarsSource {
  readonly requestId: string;
  /** The client connection closes after this response (Connection: close). */
  closeAfter: boolean;
  /** Set once the exchange is over (logged): late callbacks (queue, connect) check it. */
  termination: Termination | undefined;
  reqBodyDone = true;
  protected route: Route | undefined;
  protected backend: BackendRuntime | undefined;
  protected rules: CompiledRules;
  private pendingBody: Buffer[] | undefined;
  private pendingBodyBytes = 0;

  protected slot: Slot | undefined;
  protected upstream: UpstreamConnection | undefined;
  private tried: Set<ServerState> | undefined;
  protected retries = 0;
  private abortCtl: AbortController | undefined;
  protected lastServer: string | undefined;
  protected upstreamBuf: Buffer | undefined;
  protected resHead: ResponseHead | undefined;

  protected readonly tStart = Date.now();
  protected tQueue = 0;
  protected tConnect = 0;

  constructor(
    protected readonly conn: ExchangeHost,
    protected readonly fe: HttpFrontendShared,
    readonly req: RequestHead,
    closeAfter: boolean,
  ) {
    this.closeAfter = closeAfter;
    this.rules = fe.frontendRules;
    this.requestId = fe.nextRequestId();
    fe.ctx.counters.requests++;
  }

  /** Answer with one of handoff's own pages (Exchange). */
  abstract respondError(status: number, cause: Termination, close: boolean): void;
  abstract onUpstreamData(chunk: Buffer): void;
  abstract onUpstreamEnd(): void;
  abstract onUpstreamClose(hadError: boolean): void;
  abstract onUpstreamDrain(): void;

  /** Body bytes for the server: written when it is connected, held (bounded) until then. */
  protected sendBody(part: Buffer): void {
    const up = this.upstream;
    if (up) {
      if (!up.socket.write(part)) this.conn.pauseReading();
      return;
    }
    if (this.pendingBody === undefined) this.pendingBody = [part];
    else this.pendingBody.push(part);
    this.pendingBodyBytes += part.length;
    if (this.pendingBodyBytes > MAX_PENDING_BODY) this.conn.pauseReading();
  }

  protected serverTimeout(): number {
    return this.backend!.config.timeouts.server;
  }

  private selection() {
    return { clientAddress: this.conn.clientAddress, uri: this.req.path };
  }

  /** Get a slot on a server (queueing if every server is full), then a connection. */
  protected acquire() {
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
    this.abortCtl ??= new AbortController();
    backend.acquire(this.selection(), { ...(this.tried ? { exclude: this.tried } : {}), signal: this.abortCtl.signal }).then(
      (s) => {
        countQueueWait(this.fe.ctx.counters, backend.name, s.queuedMs);
        if (this.termination !== undefined) s.release();
        else this.gotSlot(s);
      },
      (err: unknown) => {
        if (this.termination === undefined) this.respondError(503, queueTermination(err), !this.reqBodyDone);
      },
    );
  }

  private gotSlot(slot: Slot) {
    this.slot = slot;
    this.lastServer = slot.server.config.name;
    this.tQueue += slot.queuedMs;
    const idempotent = IDEMPOTENT.has(this.req.method);
    const pooled = this.fe.pool.take(slot.server, idempotent ? undefined : SAFE_REUSE_MS);
    if (pooled) {
      this.useUpstream(pooled);
      return;
    }
    const t0 = Date.now();
    connectTo(slot.server.config.address, this.backend!.config.timeouts.connect, slot.server.config.tls).then(
      (socket) => {
        slot.connectSucceeded();
        if (this.termination !== undefined || this.slot !== slot) {
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
          if (this.termination !== undefined || this.slot !== slot) return;
          this.releaseSlot();
          this.respondError(503, 'local-resources', !this.reqBodyDone);
          return;
        }
        slot.connectFailed(err instanceof Error ? err.message : String(err));
        if (this.termination !== undefined || this.slot !== slot) return;
        // connect-failed, or tls-verify-failed / tls-handshake-failed (TLS to servers: a 502).
        this.retry(slot.server, upstreamFailureCause(err, this.fe.ctx.counters));
      },
    );
  }

  /** Try the next candidate server (a connection failure, or a reset before any response byte). */
  protected retry(
    failed: ServerState | undefined,
    cause: 'connect-failed' | 'tls-verify-failed' | 'tls-handshake-failed' | 'server-reset' | 'server-closed',
  ) {
    this.releaseSlot();
    if (failed) {
      this.tried ??= new Set();
      this.tried.add(failed);
    }
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
    const head = buildRequestHead(this.req, this.rules, this.conn.clientAddress, this.conn.secure, this);
    const sock = up.socket;
    const pending = this.pendingBody;
    if (pending === undefined || pending.length === 0) sock.write(head, 'latin1');
    else {
      sock.cork();
      sock.write(head, 'latin1');
      for (const part of pending) sock.write(part);
      this.pendingBody = undefined;
      this.pendingBodyBytes = 0;
      sock.uncork();
    }
    if (this.reqBodyDone) this.conn.setDeadline('server', this.serverTimeout());
    this.conn.resumeClient();
  }

  vars(): RuleVars {
    return {
      generation: this.fe.version.generation,
      pid: this.fe.ctx.pid,
      frontend: this.fe.config.name,
      route: this.route?.name ?? '',
      backend: this.backend?.name ?? '',
      server: this.lastServer ?? '',
      clientAddress: this.conn.clientAddress,
      requestId: this.requestId,
      requestStart: this.tStart,
      tls: tlsInfo(this.conn.socket), // empty strings on a plain connection
    };
  }

  protected releaseSlot(): void {
    this.slot?.release();
    this.slot = undefined;
  }

  /** Close the server connection without reuse; give the slot back; leave the queue. */
  dropUpstream(): void {
    const up = this.upstream;
    this.upstream = undefined;
    if (up) up.destroy();
    this.releaseSlot();
    this.abortCtl?.abort();
    this.abortCtl = undefined;
  }
}
