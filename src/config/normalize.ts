// Builds the immutable model (types.ts) from a file that passed every check: parses scalars,
// applies defaults, merges global timeouts and error pages into each frontend and backend,
// and resolves paths against the config file's folder.
import { resolve } from 'node:path';
import type { AccessLog, Backend, Config, ErrorPages, Frontend, HealthCheck, Route, Server, Timeouts } from './types.js';
import type { RawBackend, RawConfig, RawErrors, RawFrontend, RawHealth, RawRoute, RawServer, RawTimeouts } from './file-types.js';
import { parseAddress, parseBind } from './address.js';
import { DEFAULT_LIMITS, DEFAULT_TIMEOUTS, DEFAULTS } from './defaults.js';
import { parseDuration } from './duration.js';
import { BUILT_IN_ERROR_PAGES, withErrorFiles } from './error-pages.js';
import { headerRules } from './header-rules.js';
import { parseHostPattern } from './host-pattern.js';
import { parseSize } from './size.js';
import { parseStatusRange } from './status-range.js';
import { parseWorkers } from './workers.js';
import { sniRoutes } from './sni-routes.js';
import { withUpstreamTls } from './upstream-tls.js';
import { httpsRedirect } from './redirect.js';
import type { FrontendTls } from './tls-types.js';

export interface NormalizeContext {
  readonly source: string;
  readonly hash: string;
  readonly baseDir: string;
  /** Contents of the referenced files, by absolute path. */
  readonly files: ReadonlyMap<string, Buffer>;
  /** TLS settings by frontend name, read and checked by src/config/tls.ts. */
  readonly tls?: ReadonlyMap<string, FrontendTls>;
}

export function normalizeConfig(raw: RawConfig, ctx: NormalizeContext): Config {
  const timeouts = mergeTimeouts(DEFAULT_TIMEOUTS, raw.timeouts);
  const errors = withErrorFiles(BUILT_IN_ERROR_PAGES, absoluteErrors(raw.errors, ctx.baseDir), ctx.files);
  return {
    source: ctx.source,
    hash: ctx.hash,
    workers: parseWorkers(raw.workers ?? 'auto'),
    control: resolve(ctx.baseDir, raw.control ?? DEFAULTS.control),
    drain: {
      timeout: raw.drain?.timeout === undefined ? DEFAULTS.drain.timeout : parseDuration(raw.drain.timeout),
      migrate: raw.drain?.migrate ?? DEFAULTS.drain.migrate,
      acceptGrace: raw.drain?.accept_grace === undefined ? DEFAULTS.drain.acceptGrace : parseDuration(raw.drain.accept_grace),
    },
    timeouts,
    limits: {
      requestLine: raw.limits?.['request-line'] === undefined ? DEFAULT_LIMITS.requestLine : parseSize(raw.limits['request-line']),
      headerSize: raw.limits?.['header-size'] === undefined ? DEFAULT_LIMITS.headerSize : parseSize(raw.limits['header-size']),
      headerCount: raw.limits?.['header-count'] ?? DEFAULT_LIMITS.headerCount,
      pipeline: raw.limits?.pipeline ?? DEFAULT_LIMITS.pipeline,
    },
    log: {
      ...accessLog(raw.log?.access ?? DEFAULTS.logAccess, ctx.baseDir),
      buffer: raw.log?.buffer === undefined ? DEFAULTS.logBuffer : parseSize(raw.log.buffer),
      format: raw.log?.format ?? DEFAULTS.logFormat,
    },
    ...(raw.stats ? { stats: { bind: parseAddress(raw.stats.bind) } } : {}),
    frontends: Object.entries(raw.frontends).map(([name, fe]) => frontend(name, fe, timeouts, errors, ctx)),
    backends: Object.entries(raw.backends ?? {}).map(([name, be]) => backend(name, be, timeouts, ctx)),
  };
}

function frontend(name: string, raw: RawFrontend, globalTimeouts: Timeouts, globalErrors: ErrorPages, ctx: NormalizeContext): Frontend {
  const binds = (Array.isArray(raw.bind) ? raw.bind : [raw.bind]).flatMap((b) => parseBind(b));
  return {
    name,
    mode: raw.mode ?? DEFAULTS.mode,
    binds,
    routes: raw.mode === 'tcp' ? [] : (raw.routes ?? []).map((r, i) => route(r, i)),
    ...(raw.mode === 'tcp' && raw.routes?.length ? { sniRoutes: sniRoutes(raw.routes) } : {}), // TLS passthrough
    ...(raw.default_backend === undefined ? {} : { defaultBackend: raw.default_backend }),
    headers: headerRules(raw.headers),
    timeouts: mergeTimeouts(globalTimeouts, raw.timeouts),
    errors: withErrorFiles(globalErrors, absoluteErrors(raw.errors, ctx.baseDir), ctx.files),
    ...(raw.maxconn === undefined ? {} : { maxconn: raw.maxconn }),
    // TLS (issue 11).
    ...(ctx.tls?.get(name) ? { tls: ctx.tls.get(name)! } : {}),
    ...(raw.redirect_https === undefined ? {} : { redirectHttps: httpsRedirect(raw.redirect_https)! }),
  };
}

function route(raw: RawRoute, index: number): Route {
  const hosts = raw.host === undefined ? [] : Array.isArray(raw.host) ? raw.host : [raw.host];
  return {
    name: raw.name ?? String(index),
    hosts: hosts.map(parseHostPattern),
    ...(raw.path === undefined ? {} : { path: raw.path }),
    // A redirect_https route has no backend (''): it never reaches one.
    backend: raw.backend ?? '',
    headers: headerRules(raw.headers),
    ...(raw.redirect_https === undefined ? {} : { redirectHttps: httpsRedirect(raw.redirect_https)! }),
  };
}

function backend(name: string, raw: RawBackend, globalTimeouts: Timeouts, ctx: NormalizeContext): Backend {
  return {
    name,
    balance: raw.balance ?? DEFAULTS.balance,
    // TLS to servers: the backend's `tls` with each server's overrides (upstream-tls.ts).
    servers: raw.servers.map((s) => withUpstreamTls(server(s), raw.tls, s.tls, ctx)),
    ...(raw.health ? { health: health(raw.health) } : {}),
    retries: raw.retries ?? DEFAULTS.retries,
    ...(raw.maxqueue === undefined ? {} : { maxqueue: raw.maxqueue }),
    passive: {
      fall: raw.passive?.fall ?? DEFAULTS.passive.fall,
      cooldown: raw.passive?.cooldown === undefined ? DEFAULTS.passive.cooldown : parseDuration(raw.passive.cooldown),
    },
    timeouts: mergeTimeouts(globalTimeouts, raw.timeouts),
    ...(raw.timeouts?.tunnel === undefined ? {} : { tunnel: parseDuration(raw.timeouts.tunnel) }),
  };
}

function server(raw: RawServer): Server {
  return {
    name: raw.name,
    address: parseAddress(raw.address, { wildcard: false }),
    weight: raw.weight ?? DEFAULTS.server.weight,
    ...(raw.maxconn === undefined ? {} : { maxconn: raw.maxconn }),
    backup: raw.backup ?? DEFAULTS.server.backup,
    admin: raw.admin ?? DEFAULTS.server.admin,
  };
}

function health(raw: RawHealth): HealthCheck {
  const d = DEFAULTS.health;
  const interval = raw.interval === undefined ? d.interval : parseDuration(raw.interval);
  return {
    type: raw.type ?? d.type,
    interval,
    timeout: raw.timeout === undefined ? Math.min(interval, d.timeout) : parseDuration(raw.timeout),
    rise: raw.rise ?? d.rise,
    fall: raw.fall ?? d.fall,
    method: raw.method ?? d.method,
    path: raw.path ?? d.path,
    ...(raw.host === undefined ? {} : { host: raw.host }),
    expect: raw.expect === undefined ? { ...d.expect } : parseStatusRange(raw.expect),
  };
}

function mergeTimeouts(base: Timeouts, raw: RawTimeouts | undefined): Timeouts {
  if (!raw) return base;
  const pick = (value: string | undefined, fallback: number) => (value === undefined ? fallback : parseDuration(value));
  return {
    connect: pick(raw.connect, base.connect),
    client: pick(raw.client, base.client),
    server: pick(raw.server, base.server),
    queue: pick(raw.queue, base.queue),
    httpRequest: pick(raw['http-request'], base.httpRequest),
    keepAlive: pick(raw['keep-alive'], base.keepAlive),
    tunnel: pick(raw.tunnel, base.tunnel),
  };
}

function absoluteErrors(raw: RawErrors | undefined, baseDir: string): Record<string, string> | undefined {
  if (!raw) return undefined;
  return Object.fromEntries(Object.entries(raw).map(([status, file]) => [status, resolve(baseDir, file)]));
}

function accessLog(access: string, baseDir: string): AccessLog {
  if (access === 'stdout' || access === 'off') return { target: access };
  return { target: { file: resolve(baseDir, access) } };
}
