// TLS passthrough: a tcp frontend's `routes` pick a backend by the ClientHello's server_name
// (`sni: a.example.com` or `sni: "*.b.example"`, one pattern or a list; first match wins);
// `default_backend` takes the connections without SNI or without a match, and without it
// they are closed. The checks here run beside semantic-checks.ts; the model is built by
// normalize.ts through sniRoutes().
import type { RawRoute } from './file-types.js';
import { parseHostPattern } from './host-pattern.js';
import type { PathSegment } from './issue.js';
import type { Target } from './yaml-source.js';
import type { SniRoute } from './types.js';

/** What semantic-checks.ts reports through (declared here: that module imports this one). */
interface Reporter {
  error(path: PathSegment[], target: Target, message: string): void;
  warning(path: PathSegment[], target: Target, message: string): void;
}
type Rec = Record<string, unknown>;
const rec = (v: unknown): Rec | undefined => (v && typeof v === 'object' && !Array.isArray(v) ? (v as Rec) : undefined);

/** Keys a tcp route may have. */
const TCP_ROUTE_KEYS = new Set(['name', 'sni', 'backend']);

/** A tcp frontend: its routes (if any) must be sni routes; it needs routes or a default_backend. */
export function checkTcpRoutes(
  at: PathSegment[],
  fe: Rec,
  checkBackendRef: (path: PathSegment[], value: unknown) => void,
  report: Reporter,
): void {
  const routes = Array.isArray(fe.routes) ? fe.routes : [];
  if (routes.length === 0 && !('default_backend' in fe))
    report.error([...at, 'default_backend'], 'node', 'a tcp frontend needs a default_backend (or routes by sni)');
  const names = new Map<string, number>();
  routes.forEach((value, i) => {
    const route = rec(value);
    if (!route) return;
    const path: PathSegment[] = [...at, 'routes', i];
    for (const key of Object.keys(route)) {
      if (!TCP_ROUTE_KEYS.has(key))
        report.error(
          [...path, key],
          'key',
          `"${key}" is not allowed in a tcp route (a tcp frontend does not parse HTTP; it routes by sni, the TLS server name)`,
        );
    }
    if (!('sni' in route)) report.error([...path, 'sni'], 'node', 'a tcp route needs sni (a server name pattern)');
    checkBackendRef([...path, 'backend'], route.backend);
    const name = typeof route.name === 'string' ? route.name : String(i);
    const first = names.get(name);
    if (first !== undefined)
      report.error(
        typeof route.name === 'string' ? [...path, 'name'] : path,
        'value',
        `duplicate route name "${name}" (first: routes[${first}])`,
      );
    else names.set(name, i);
  });
}

/** An http frontend routes by Host: `sni` belongs to tcp routes. */
export function refuseSniInHttpRoutes(at: PathSegment[], routes: unknown[], report: Reporter): void {
  routes.forEach((value, i) => {
    const route = rec(value);
    if (route && 'sni' in route)
      report.error([...at, 'routes', i, 'sni'], 'key', 'sni routes are for mode: tcp (TLS passthrough); an http frontend routes by host');
  });
}

/** The model's routes of a tcp frontend (empty list when it has none). */
export function sniRoutes(raw: readonly RawRoute[] | undefined): SniRoute[] {
  return (raw ?? []).map((r, i) => {
    const sni = r.sni === undefined ? [] : Array.isArray(r.sni) ? r.sni : [r.sni];
    return { name: r.name ?? String(i), patterns: sni.map(parseHostPattern), backend: r.backend ?? '' }; // required in tcp routes (checked)
  });
}
