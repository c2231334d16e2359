// The validated, immutable configuration model. Everything outside src/config uses these
// types, never the raw YAML. The model is plain data (arrays and records, no Maps or
// classes) so the master can send it to workers over IPC as JSON unchanged.

import type { FrontendTls, HttpsRedirect } from './tls-types.js';

/** Milliseconds. Written in the file as a string with a unit: 250ms, 5s, 2m, 1h. */
export type Duration = number;

import type { SocketAddress } from '../lib/socket-address.js';

export type { SocketAddress } from '../lib/socket-address.js';

export interface Timeouts {
  readonly connect: Duration;
  readonly client: Duration;
  readonly server: Duration;
  readonly queue: Duration;
  readonly httpRequest: Duration; // key "http-request"
  readonly keepAlive: Duration; // key "keep-alive"
  readonly tunnel: Duration;
}

/** HTTP status code (as a string key, JSON-friendly) → page body. Always holds 400, 403, 404, 408, 413, 431, 500, 502, 503, 504. */
export type ErrorPages = Readonly<Record<string, ErrorPage>>;

export interface ErrorPage {
  readonly status: number;
  readonly contentType: string;
  readonly body: string;
  /** Absolute path of the file it was read from; undefined for a built-in page. */
  readonly file?: string;
}

export interface HeaderOps {
  /** Header name → value template; variables like ${generation} are expanded per request. */
  readonly set: readonly (readonly [name: string, template: string])[];
  /** Header names to remove (compared case-insensitively). */
  readonly remove: readonly string[];
}

export interface HeaderRules {
  readonly request: HeaderOps;
  readonly response: HeaderOps;
}

/** A host pattern: exact name, or "*.suffix" (matches any name ending in ".suffix"). Lower-cased. */
export type HostPattern = { readonly kind: 'exact'; readonly name: string } | { readonly kind: 'suffix'; readonly suffix: string }; // suffix includes the leading dot

export interface Route {
  /** Index in the frontend's list, or the `name` given in the file. Used in logs and ${route}. */
  readonly name: string;
  /** Empty means any host. */
  readonly hosts: readonly HostPattern[];
  /** Path prefix; undefined means any path. */
  readonly path?: string;
  /** '' for a redirect_https route (it never reaches a backend). */
  readonly backend: string;
  readonly headers: HeaderRules;
  /** Answer with the https URL instead of proxying (issue 11). */
  readonly redirectHttps?: HttpsRedirect;
}

export type FrontendMode = 'http' | 'tcp';

export interface Frontend {
  readonly name: string;
  readonly mode: FrontendMode;
  readonly binds: readonly SocketAddress[];
  /** http mode only; tcp mode uses defaultBackend. */
  readonly routes: readonly Route[];
  readonly defaultBackend?: string;
  readonly headers: HeaderRules;
  /** Global timeouts with this frontend's overrides applied. */
  readonly timeouts: Timeouts;
  /** Global error pages with this frontend's overrides applied. */
  readonly errors: ErrorPages;
  /** Max concurrent client connections per worker; undefined means unlimited. */
  readonly maxconn?: number;
  /** TLS termination (issue 11): certificates, versions, client certificates. */
  readonly tls?: FrontendTls;
  /** The default action when no route matches (instead of defaultBackend): redirect to https. */
  readonly redirectHttps?: HttpsRedirect;
  /** mode: tcp with `routes`: pick the backend by the ClientHello's server_name (TLS passthrough). */
  readonly sniRoutes?: readonly SniRoute[];
}

// ---- TLS passthrough and TLS to servers ----

/** A tcp frontend's route: a TLS server_name matching one of `patterns` goes to `backend`. */
export interface SniRoute {
  /** Index in the frontend's list, or the `name` given in the file. */
  readonly name: string;
  readonly patterns: readonly HostPattern[];
  readonly backend: string;
}

/** TLS from handoff to a server (the backend's settings with the server's overrides). */
export interface UpstreamTls {
  /** Check the server's certificate chain (against `ca`, or the system roots) and its name. */
  readonly verify: boolean;
  /** The CA certificates (PEM) read at load, and the file they came from. */
  readonly ca?: { readonly file: string; readonly pem: string };
  /** server_name sent, and the name the certificate must hold; without it: no SNI, the certificate must hold the server's IP address. */
  readonly sni?: string;
}

export type BalanceAlgorithm = 'roundrobin' | 'leastconn' | 'random' | 'source' | 'uri';

export interface HealthCheck {
  readonly type: 'tcp' | 'http';
  readonly interval: Duration;
  /** Per-check timeout; default: 2 s, capped by the interval (the connect phase is also capped by timeouts.connect). */
  readonly timeout: Duration;
  readonly rise: number;
  readonly fall: number;
  /** http checks only. */
  readonly method: string;
  readonly path: string;
  /** Host header for http checks; default: the server address. */
  readonly host?: string;
  /** Inclusive status range counted as healthy; default 200-399. */
  readonly expect: { readonly min: number; readonly max: number };
}

export type AdminState = 'ready' | 'drain' | 'maint';

export interface Server {
  readonly name: string;
  readonly address: SocketAddress;
  readonly weight: number; // default 1; 0 takes no new traffic
  /** Max concurrent connections/requests to this server per worker; undefined = unlimited. */
  readonly maxconn?: number;
  readonly backup: boolean;
  /** Admin state as configured; default 'ready'. */
  readonly admin: AdminState;
  /** Connections to this server use TLS (handshake within timeouts.connect). */
  readonly tls?: UpstreamTls;
}

export interface Backend {
  readonly name: string;
  readonly balance: BalanceAlgorithm;
  readonly servers: readonly Server[];
  readonly health?: HealthCheck;
  /** Retries on another candidate after a connection failure; default 2. */
  readonly retries: number;
  /** Max waiting requests; beyond it a request is turned away at once (503). Undefined = unbounded count (still bounded in time by timeouts.queue). */
  readonly maxqueue?: number;
  /** Passive health: `fall` consecutive connection failures seen by traffic mark a server down (0 disables); without active checks it is tried again after `cooldown`. Defaults 3 and 5s. */
  readonly passive: { readonly fall: number; readonly cooldown: Duration };
  /** Global timeouts with this backend's overrides applied. */
  readonly timeouts: Timeouts;
  /** The tunnel timeout this backend sets itself, if any: it wins over the frontend's (see tunnelTimeout). */
  readonly tunnel?: Duration;
}

export interface Limits {
  readonly requestLine: number; // bytes; "request-line"
  readonly headerSize: number; // bytes of the whole header block; "header-size"
  readonly headerCount: number; // "header-count"
  /** Pipelined requests waiting (read, not yet started) per client connection; past it, the client is not read. */
  readonly pipeline: number;
}

export interface AccessLog {
  /** 'stdout', 'off', or an absolute file path. */
  readonly target: 'stdout' | 'off' | { readonly file: string };
  /** Bytes buffered at most while the destination does not take them; past it lines are dropped and counted. */
  readonly buffer?: number;
  /** json: one JSON object per line; combined: Apache/nginx combined, handoff's fields appended. Absent: json. */
  readonly format?: AccessLogFormat;
}

export type AccessLogFormat = 'json' | 'combined';

export interface Config {
  /** Absolute path of the file, or "<demo>" for the built-in demo. */
  readonly source: string;
  /** Short hash of the file's bytes (and of every file it references), for status. */
  readonly hash: string;
  readonly workers: number;
  /** Absolute path of the control socket. */
  readonly control: string;
  /**
   * timeout: hard deadline for a draining generation. acceptGrace: at a graceful stop, how
   * long new connections are still served (load balancers in front still send some).
   */
  readonly drain: { readonly timeout: Duration; readonly migrate: boolean; readonly acceptGrace: Duration };
  readonly timeouts: Timeouts;
  readonly limits: Limits;
  readonly log: AccessLog;
  readonly stats?: { readonly bind: SocketAddress };
  readonly frontends: readonly Frontend[];
  readonly backends: readonly Backend[];
}
