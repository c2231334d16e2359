// Checks the schema cannot express: names that must refer to something, addresses that must
// be unique, options that do not fit a frontend's mode, files that must be readable. Runs on
// the raw data even when the schema found errors (every error is reported at once), so it
// looks at each value defensively and skips what it cannot make sense of.
import { constants } from 'node:fs';
import { access as fsAccess, readFile, stat } from 'node:fs/promises';
import { dirname, resolve } from 'node:path';
import { systemCode } from '../lib/errors.js';
import type { SocketAddress } from './types.js';
import { parseAddress, parseBind } from './address.js';
import { parseDuration } from './duration.js';
import { MAX_SOCKET_PATH_BYTES, DEFAULTS } from './defaults.js';
import { formatPath, type PathSegment } from './issue.js';
import { ERROR_STATUSES } from './error-pages.js';
import { NAME_PATTERN } from './names.js';
import type { Target } from './yaml-source.js';
import { checkTcpRoutes, refuseSniInHttpRoutes } from './sni-routes.js';
import { checkUpstreamTls } from './upstream-tls.js';

export interface Reporter {
  error(path: PathSegment[], target: Target, message: string): void;
  warning(path: PathSegment[], target: Target, message: string): void;
}

type Rec = Record<string, unknown>;

const rec = (v: unknown): Rec | undefined => (v && typeof v === 'object' && !Array.isArray(v) ? (v as Rec) : undefined);
const TOKEN = /^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/;
const HTTP_ONLY_HEALTH_KEYS = ['method', 'path', 'host', 'expect'] as const;

/**
 * Reports every semantic problem; returns the contents of the referenced files that could be
 * read (absolute path → bytes), which the model and the config hash are built from.
 */
export async function checkSemantics(data: unknown, baseDir: string, report: Reporter): Promise<Map<string, Buffer>> {
  const root = rec(data);
  if (!root) return new Map();
  const frontends = rec(root.frontends) ?? {};
  const backends = rec(root.backends) ?? {};
  const backendNames = Object.keys(backends);
  const referenced = new Set<string>();
  const files: { path: PathSegment[]; file: string; abs: string }[] = [];

  const checkBackendRef = (path: PathSegment[], value: unknown) => {
    if (typeof value !== 'string') return;
    referenced.add(value);
    if (!Object.hasOwn(backends, value)) {
      const known = backendNames.length ? `backends: ${backendNames.join(', ')}` : 'no backends are defined';
      report.error(path, 'value', `unknown backend "${value}" (${known})`);
    }
  };

  const collectErrorFiles = (path: PathSegment[], value: unknown) => {
    for (const [status, file] of Object.entries(rec(value) ?? {})) {
      if (ERROR_STATUSES.some((s) => String(s) === status) && typeof file === 'string' && file !== '')
        files.push({ path: [...path, status], file, abs: resolve(baseDir, file) });
    }
  };

  checkNames(frontends, 'frontends', 'frontend', report);
  checkNames(backends, 'backends', 'backend', report);
  collectErrorFiles(['errors'], root.errors);

  const listeners = new Listeners(report);
  // Addresses are taken in document order so that a duplicate is reported where it is repeated.
  const keys = Object.keys(root);
  const addStats = () => {
    const stats = rec(root.stats);
    if (!stats || !('bind' in stats)) return;
    try {
      listeners.add([parseAddress(stats.bind)], ['stats', 'bind']);
    } catch {
      // the schema reported it
    }
  };
  const statsFirst = keys.includes('stats') && keys.indexOf('stats') < keys.indexOf('frontends');
  if (statsFirst) addStats();
  for (const [name, value] of Object.entries(frontends)) {
    const fe = rec(value);
    if (!fe) continue;
    const at: PathSegment[] = ['frontends', name];
    const binds: [unknown, PathSegment[]][] = Array.isArray(fe.bind)
      ? fe.bind.map((b, i) => [b, [...at, 'bind', i]])
      : [[fe.bind, [...at, 'bind']]];
    for (const [bind, path] of binds) {
      try {
        listeners.add(parseBind(bind), path);
      } catch {
        // the schema reported it
      }
    }

    if (fe.mode === 'tcp') {
      if ('headers' in fe)
        report.error([...at, 'headers'], 'key', 'headers are not allowed in a tcp frontend (mode: tcp does not parse HTTP)');
      checkTcpRoutes(at, fe, checkBackendRef, report); // routes by sni (TLS passthrough): sni-routes.ts
    } else {
      const routes = Array.isArray(fe.routes) ? fe.routes : [];
      if (routes.length === 0 && !('default_backend' in fe) && !('redirect_https' in fe)) {
        report.warning(at, 'key', 'no routes and no default_backend: every request gets 503');
      }
      checkRoutes(at, routes, checkBackendRef, report);
      checkHeaders([...at, 'headers'], fe.headers, report);
      refuseSniInHttpRoutes(at, routes, report);
    }
    if ('default_backend' in fe) checkBackendRef([...at, 'default_backend'], fe.default_backend);
    collectErrorFiles([...at, 'errors'], fe.errors);
  }

  if (!statsFirst) addStats();
  listeners.checkWildcardOverlaps();

  for (const [name, value] of Object.entries(backends)) {
    const be = rec(value);
    if (!be) continue;
    const at: PathSegment[] = ['backends', name];
    if (!referenced.has(name)) report.warning(at, 'key', `backend "${name}" is not used by any frontend or route`);
    checkServers(at, be.servers, report);
    const health = rec(be.health);
    for (const key of ['interval', 'timeout'] as const) {
      if (health && isZeroDuration(health[key]))
        report.error([...at, 'health', key], 'value', `a health check ${key} must be longer than 0`);
    }
    if (health && (health.type ?? DEFAULTS.health.type) !== 'http') {
      for (const key of HTTP_ONLY_HEALTH_KEYS) {
        if (key in health) report.error([...at, 'health', key], 'key', `"${key}" applies to http checks only (set type: http)`);
      }
    }
  }

  if (typeof root.control === 'string' || root.control === undefined) {
    const control = resolve(baseDir, typeof root.control === 'string' ? root.control : DEFAULTS.control);
    if (Buffer.byteLength(control) > MAX_SOCKET_PATH_BYTES) {
      report.warning(
        ['control'],
        root.control === undefined ? 'node' : 'value',
        `the control socket path ${control} is longer than ${MAX_SOCKET_PATH_BYTES} bytes, the limit for UNIX sockets: the master will fail to listen on it`,
      );
    }
  }

  await checkAccessLogFile(rec(root.log)?.access, baseDir, report);
  const contents = await readFiles(files, report);
  // TLS to servers: CA files read and checked here, kept in the contents (model and hash).
  for (const [abs, pem] of await checkUpstreamTls(frontends, backends, baseDir, report)) contents.set(abs, pem);
  return contents;
}

/**
 * The access log file is opened by every worker at start: a folder that does not exist (or
 * that the master's user cannot write) would fail the reload there, with no position. Said
 * here instead, so `handoff check` and a reload agree, with file:line:col.
 */
async function checkAccessLogFile(access: unknown, baseDir: string, report: Reporter): Promise<void> {
  if (typeof access !== 'string' || access === '' || access === 'stdout' || access === 'off') return;
  const file = resolve(baseDir, access);
  const folder = dirname(file);
  try {
    if (!(await stat(folder)).isDirectory()) {
      report.error(['log', 'access'], 'value', `the access log's folder ${folder} is not a folder`);
      return;
    }
    await fsAccess(folder, constants.W_OK | constants.X_OK);
  } catch (err) {
    const code = systemCode(err);
    report.error(
      ['log', 'access'],
      'value',
      code === 'ENOENT'
        ? `the access log's folder ${folder} does not exist`
        : `the access log's folder ${folder} is not writable (${code ?? (err as Error).message})`,
    );
    return;
  }
  try {
    const st = await stat(file);
    if (st.isDirectory()) report.error(['log', 'access'], 'value', `the access log ${file} is a folder`);
    else await fsAccess(file, constants.W_OK);
  } catch (err) {
    const code = systemCode(err);
    if (code !== 'ENOENT')
      report.error(['log', 'access'], 'value', `the access log ${file} is not writable (${code ?? (err as Error).message})`);
  }
}

function isZeroDuration(value: unknown): boolean {
  try {
    return parseDuration(value) === 0;
  } catch {
    return false; // the schema reported it
  }
}

function checkNames(map: Rec, section: string, what: string, report: Reporter): void {
  for (const name of Object.keys(map)) {
    if (!NAME_PATTERN.test(name))
      report.error([section, name], 'key', `invalid ${what} name "${name}" (use letters, digits, "_", "." and "-")`);
  }
}

function checkRoutes(
  at: PathSegment[],
  routes: unknown[],
  checkBackendRef: (path: PathSegment[], value: unknown) => void,
  report: Reporter,
): void {
  const names = new Map<string, number>();
  routes.forEach((value, i) => {
    const route = rec(value);
    if (!route) return;
    const path: PathSegment[] = [...at, 'routes', i];
    checkBackendRef([...path, 'backend'], route.backend);
    checkHeaders([...path, 'headers'], route.headers, report);
    const name = typeof route.name === 'string' ? route.name : String(i);
    const first = names.get(name);
    if (first !== undefined) {
      report.error(
        typeof route.name === 'string' ? [...path, 'name'] : path,
        'value',
        `duplicate route name "${name}" (first: routes[${first}])`,
      );
    } else {
      names.set(name, i);
    }
    const hosts = route.host;
    const catchAll = (hosts === undefined || (Array.isArray(hosts) && hosts.length === 0)) && route.path === undefined;
    if (catchAll && i < routes.length - 1) {
      report.warning(path, 'value', `this route matches every request: the ${routes.length - 1 - i} route(s) after it are never used`);
    }
  });
}

function checkHeaders(at: PathSegment[], value: unknown, report: Reporter): void {
  const headers = rec(value);
  if (!headers) return;
  for (const side of ['request', 'response']) {
    const set = rec(rec(headers[side])?.set);
    if (!set) continue;
    const seen = new Map<string, string>();
    for (const name of Object.keys(set)) {
      const path = [...at, side, 'set', name];
      if (!TOKEN.test(name)) {
        report.error(path, 'key', `invalid header name "${name}" (letters, digits and !#$%&'*+-.^_\`|~, no spaces or colons)`);
        continue;
      }
      const first = seen.get(name.toLowerCase());
      if (first !== undefined)
        report.error(path, 'key', `header "${name}" is already set as "${first}" (header names are case-insensitive)`);
      else seen.set(name.toLowerCase(), name);
    }
  }
}

function checkServers(at: PathSegment[], value: unknown, report: Reporter): void {
  if (!Array.isArray(value)) return;
  const names = new Map<string, number>();
  value.forEach((item, i) => {
    const name = rec(item)?.name;
    if (typeof name !== 'string') return;
    const first = names.get(name);
    if (first !== undefined) {
      report.error(
        [...at, 'servers', i, 'name'],
        'value',
        `duplicate server name "${name}" in backend "${String(at[1])}" (first: servers[${first}])`,
      );
    } else {
      names.set(name, i);
    }
  });
}

/** Every listener address in the file, to find one bound twice or shadowed by a wildcard. */
class Listeners {
  private readonly byKey = new Map<string, { address: SocketAddress; path: PathSegment[] }>();

  constructor(private readonly report: Reporter) {}

  add(addresses: SocketAddress[], path: PathSegment[]): void {
    for (const address of addresses) {
      const first = this.byKey.get(address.key);
      if (first) {
        this.report.error(path, 'value', `address ${address.key} is already bound by ${formatPath(first.path)}`);
      } else {
        this.byKey.set(address.key, { address, path });
      }
    }
  }

  /** 0.0.0.0:80 and 127.0.0.1:80 cannot both be bound (EADDRINUSE); same for [::]:80 and [::1]:80. */
  checkWildcardOverlaps(): void {
    for (const { address, path } of this.byKey.values()) {
      if (address.host === '0.0.0.0' || address.host === '::') continue;
      const wildcard = address.family === 4 ? `0.0.0.0:${address.port}` : `[::]:${address.port}`;
      const other = this.byKey.get(wildcard);
      if (other) {
        this.report.error(
          path,
          'value',
          `address ${address.key} overlaps ${wildcard} (${formatPath(other.path)}): a wildcard address takes the port on every address`,
        );
      }
    }
  }
}

async function readFiles(files: { path: PathSegment[]; file: string; abs: string }[], report: Reporter): Promise<Map<string, Buffer>> {
  const contents = new Map<string, Buffer>();
  const failures = new Map<string, string>();
  for (const abs of new Set(files.map((f) => f.abs))) {
    try {
      contents.set(abs, await readFile(abs));
    } catch (err) {
      failures.set(abs, (err as Error).message);
    }
  }
  for (const f of files) {
    const why = failures.get(f.abs);
    if (why !== undefined) report.error(f.path, 'value', `cannot read error page "${f.file}": ${why}`);
  }
  return contents;
}
