// TLS passthrough (mode: tcp with routes): which backend a ClientHello's server_name goes to.
// Routes are tried in order, the first whose pattern matches wins (exact names, or
// "*.suffix" for any name ending in ".suffix", as HTTP host routes); no server_name, or no
// match, goes to default_backend, and without one the connection is closed ('no-route').
import { hostMatches } from '../config/host-pattern.js';
import type { Frontend } from '../config/types.js';

export interface SniChoice {
  /** The backend's name, or undefined: no route and no default_backend. */
  readonly backend: string | undefined;
  /** The route's name, or undefined for default_backend. */
  readonly route: string | undefined;
}

/** Whether this tcp frontend reads the ClientHello before choosing a backend. */
export function routesBySni(frontend: Frontend): boolean {
  return (frontend.sniRoutes?.length ?? 0) > 0;
}

export function chooseBySni(frontend: Frontend, serverName: string | undefined): SniChoice {
  if (serverName !== undefined) {
    for (const r of frontend.sniRoutes ?? []) {
      if (r.patterns.some((p) => hostMatches(p, serverName))) return { backend: r.backend, route: r.name };
    }
  }
  return { backend: frontend.defaultBackend, route: undefined };
}
