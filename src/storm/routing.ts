// Where storm sends load and who may answer it. For handoff the config says it all: every
// HTTP frontend address, one Host (and path) per route, and the route's backend servers,
// which map to storm's backend names by address. For any other proxy the user says it with
// --frontend and --route HOST=NAME (without --route: any backend the config refers to).
import { hostMatches } from '../config/host-pattern.js';
import type { Config, Frontend, Route, SocketAddress } from '../config/types.js';
import type { StormBackends } from './backends.js';
import type { LoadTarget, RouteSpec, Routing } from './types.js';

/** Host used for a default backend: a reserved name no route can match by accident. */
export const UNROUTED_HOST = 'storm-default.invalid';

export function loadTarget(frontend: SocketAddress, host: string, path: string): LoadTarget {
  return { frontend, host, path, key: `${frontend.key} ${host} ${path}` };
}

/** "127.0.0.1:8080 a.test /storm" for reports. */
export function describeTarget(t: LoadTarget): string {
  return `${t.host}${t.path === '/storm' ? '' : t.path} via ${t.frontend.key}`;
}

function hostFor(route: Route, frontend: SocketAddress): string {
  const exact = route.hosts.find((h) => h.kind === 'exact');
  if (exact && exact.kind === 'exact') return exact.name;
  const suffix = route.hosts.find((h) => h.kind === 'suffix');
  if (suffix && suffix.kind === 'suffix') return `storm${suffix.suffix}`;
  return frontend.host.includes(':') ? `[${frontend.host}]` : frontend.host; // any host matches
}

function pathFor(route: Route): string {
  const base = route.path ?? '';
  return base.endsWith('/') ? `${base}storm` : `${base}/storm`;
}

/** The backend handoff routes host+path to on this frontend: first matching route, else the default; undefined: none (503). */
export function routeOf(frontend: Frontend, host: string, path: string): string | undefined {
  const h = host.startsWith('[') ? host : host.toLowerCase();
  for (const r of frontend.routes) {
    const hostOk = r.hosts.length === 0 || r.hosts.some((p) => hostMatches(p, h));
    if (hostOk && (r.path === undefined || path.startsWith(r.path))) return r.backend;
  }
  return frontend.defaultBackend;
}

const httpFrontends = (config: Config) => config.frontends.filter((f) => f.mode === 'http');

/** One target per (address, route) of every HTTP frontend, and one for its default backend. */
export function handoffTargets(config: Config): LoadTarget[] {
  const seen = new Map<string, LoadTarget>();
  for (const f of httpFrontends(config)) {
    for (const bind of f.binds) {
      const wanted: [string, string][] = f.routes.map((r) => [hostFor(r, bind), pathFor(r)]);
      if (f.defaultBackend !== undefined) wanted.push([UNROUTED_HOST, '/storm']);
      for (const [host, path] of wanted) {
        if (routeOf(f, host, path) === undefined) continue;
        const t = loadTarget(bind, host, path);
        if (!seen.has(t.key)) seen.set(t.key, t);
      }
    }
  }
  return [...seen.values()];
}

/** Storm backend names a handoff backend may answer with; null when none of its servers is one of ours (not checked). */
function namesOf(config: Config, backend: string, backends: StormBackends): ReadonlySet<string> | null {
  const b = config.backends.find((x) => x.name === backend);
  if (!b) return new Set();
  const names = b.servers.map((s) => backends.nameAt(s.address.host, s.address.port)).filter((n): n is string => n !== undefined);
  return names.length === 0 ? null : new Set(names);
}

/** Who may answer each target under this config (an empty set: nobody, the config routes it nowhere). */
export function handoffRouting(config: Config, targets: readonly LoadTarget[], backends: StormBackends): Routing {
  const out = new Map<string, ReadonlySet<string> | null>();
  for (const t of targets) {
    const f = httpFrontends(config).find((x) => x.binds.some((b) => b.key === t.frontend.key));
    const backend = f ? routeOf(f, t.host, t.path) : undefined;
    out.set(t.key, backend === undefined ? new Set() : namesOf(config, backend, backends));
  }
  return out;
}

/** Targets of the next config that the current one does not route the same way: what the new-route phase probes. */
export function newHandoffTargets(current: Config, next: Config, backends: StormBackends, probeHost: string | undefined): LoadTarget[] {
  const candidates =
    probeHost === undefined
      ? handoffTargets(next)
      : httpFrontends(next).flatMap((f) =>
          f.binds.filter(() => routeOf(f, probeHost, '/storm') !== undefined).map((b) => loadTarget(b, probeHost, '/storm')),
        );
  if (probeHost !== undefined) return candidates;
  const before = handoffRouting(current, candidates, backends);
  const after = handoffRouting(next, candidates, backends);
  return candidates.filter((t) => !sameNames(before.get(t.key), after.get(t.key)));
}

function sameNames(a: ReadonlySet<string> | null | undefined, b: ReadonlySet<string> | null | undefined): boolean {
  if (a === b) return true;
  if (!a || !b || a.size !== b.size) return false;
  return [...a].every((n) => b.has(n));
}

/** Generic targets: each frontend with each --route host, or with its own address as Host when there are no routes. */
export function commandTargets(frontends: readonly SocketAddress[], routes: readonly RouteSpec[]): LoadTarget[] {
  return frontends.flatMap((f) =>
    routes.length === 0 ? [loadTarget(f, f.key, '/storm')] : routes.map((r) => loadTarget(f, r.host, '/storm')),
  );
}

/** Generic routing: the --route backends, or (no routes) any backend the config template refers to. */
export function commandRouting(
  targets: readonly LoadTarget[],
  routes: readonly RouteSpec[],
  referenced: ReadonlySet<string>,
  extra?: { host: string; backends: ReadonlySet<string> },
): Routing {
  const out = new Map<string, ReadonlySet<string> | null>();
  for (const t of targets) {
    if (extra && t.host === extra.host) {
      out.set(t.key, extra.backends);
      continue;
    }
    const r = routes.find((x) => x.host === t.host);
    out.set(t.key, r ? new Set(r.backends) : referenced.size > 0 ? referenced : null);
  }
  return out;
}
