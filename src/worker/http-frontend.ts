// mode: http. Owns what the connections of one frontend share: the router, compiled header
// rules, parse limits, the upstream connection pools and the deadline sweeper.
import { randomBytes } from 'node:crypto';
import type net from 'node:net';
import type { Frontend, Limits, Route } from '../config/types.js';
import { tunnelTimeout } from '../config/timeouts.js';
import type { TcpHandle } from '../lib/node-handles.js';
import type { TunnelResume } from '../protocol/ipc.js';
import type { HttpFrontendShared } from './http-frontend-shared.js';
import type { CompiledFrontend, ConfigVersion, WorkerContext } from './context.js';
import type { DeadlineSweeper } from './deadlines.js';
import { compileRules, type CompiledRules } from './header-rules.js';
import { HttpConnection } from './http-connection.js';
import type { ParseLimits } from './http/limits.js';
import { Router } from './router.js';
import { TunnelSession } from './tunnel-session.js';
import { createTlsHost, TlsHandshake, type TlsHost } from './tls-accept.js';
import type { UpstreamPool } from './upstream-pool.js';

export class HttpFrontend implements HttpFrontendShared, CompiledFrontend {
  readonly router: Router;
  readonly limits: ParseLimits & Pick<Limits, 'pipeline'>;
  readonly frontendRules: CompiledRules;
  readonly pool: UpstreamPool;
  readonly sweeper: DeadlineSweeper;
  private readonly rulesByRoute = new Map<Route, CompiledRules>();
  private readonly idPrefix: string;
  private seq = 0;

  constructor(
    readonly config: Frontend,
    readonly version: ConfigVersion,
    readonly ctx: WorkerContext,
  ) {
    this.router = new Router(config);
    this.limits = version.config.limits;
    this.frontendRules = compileRules(config.headers);
    for (const r of config.routes) this.rulesByRoute.set(r, compileRules(config.headers, r.headers));
    this.pool = ctx.pool;
    this.sweeper = ctx.sweeper;
    // Request ids unique across workers and generations without coordination.
    this.idPrefix = `${randomBytes(4).toString('hex')}-`;
    // TLS termination: contexts compiled here, at prepare; those whose material did not
    // change are taken over from the frontend in force (src/worker/tls-accept.ts).
    const inForce = ctx.live?.frontends.get(config.name);
    this.tls = createTlsHost(this, inForce instanceof HttpFrontend ? inForce.tls : undefined, (s) => {
      new HttpConnection(s, this.latest() ?? this);
    });
  }

  /** Present when the frontend terminates TLS. */
  readonly tls: TlsHost | undefined;

  latest(): HttpFrontend | undefined {
    const fe = this.ctx.live.frontends.get(this.config.name);
    return fe instanceof HttpFrontend ? fe : undefined;
  }

  routeRules(route: Route): CompiledRules {
    return this.rulesByRoute.get(route) ?? this.frontendRules;
  }

  nextRequestId(): string {
    return this.idPrefix + (++this.seq).toString(36);
  }

  accept(socket: net.Socket): void {
    this.ctx.counters.accepted++;
    // TLS: handshake first; the HttpConnection gets the TLS socket after 'secure'.
    if (this.tls) new TlsHandshake(socket, this.tls);
    else new HttpConnection(socket, this);
  }

  /** An idle keep-alive connection migrated from an older generation, with its unparsed bytes. */
  adoptConnection(socket: net.Socket, unread: Buffer): void {
    new HttpConnection(socket, this, unread);
  }

  /** A WebSocket (or other Upgrade) tunnel migrated from an older generation. */
  adoptTunnel(client: TcpHandle, server: TcpHandle, resume: TunnelResume): void {
    const backend = this.version.backends.get(resume.backend);
    const idle = tunnelTimeout(this.config, backend?.config);
    TunnelSession.adopt(this.ctx, this.config.name, this.version.generation, backend, idle, client, server, resume);
  }
}
