// Routing for an HTTP frontend: the first route whose host pattern and path prefix match
// wins; otherwise the default backend; otherwise nothing (503). Hosts compare
// case-insensitively, without port or trailing dot. With many routes (one per host is the
// common case), the candidate routes of a host are computed once and cached.
import type { Frontend, Route } from '../config/types.js';

export interface RouteMatch {
  readonly route: Route | undefined; // undefined: the default backend
  readonly backend: string;
}

const CACHE_LIMIT = 10_000;

export class Router {
  private readonly byHost = new Map<string, readonly Route[]>();
  private readonly defaultMatch: RouteMatch | undefined;

  constructor(private readonly frontend: Frontend) {
    this.defaultMatch =
      frontend.defaultBackend !== undefined
        ? { route: undefined, backend: frontend.defaultBackend }
        : frontend.redirectHttps // issue 11: the frontend's default action is the https redirect (no backend)
          ? { route: undefined, backend: '' }
          : undefined;
  }

  /** host: the Host header (or absolute-form authority) as received; path: origin-form path with query. */
  match(host: string | undefined, path: string): RouteMatch | undefined {
    const candidates = this.candidates(normalizeHost(host));
    for (let i = 0; i < candidates.length; i++) {
      const r = candidates[i]!;
      if (r.path === undefined || path.startsWith(r.path)) return { route: r, backend: r.backend };
    }
    return this.defaultMatch;
  }

  private candidates(host: string): readonly Route[] {
    let list = this.byHost.get(host);
    if (list === undefined) {
      list = this.frontend.routes.filter(
        (r) =>
          r.hosts.length === 0 ||
          r.hosts.some((p) => (p.kind === 'exact' ? p.name === host : host.endsWith(p.suffix) && host.length > p.suffix.length)),
      );
      if (this.byHost.size >= CACHE_LIMIT) this.byHost.clear();
      this.byHost.set(host, list);
    }
    return list;
  }
}

/** "Example.COM:8080" → "example.com"; "[::1]:80" → "[::1]"; "a.b." → "a.b". */
export function normalizeHost(host: string | undefined): string {
  if (!host) return '';
  let h = host;
  if (h.charCodeAt(0) === 0x5b /* [ */) {
    const end = h.indexOf(']');
    h = end > 0 ? h.slice(0, end + 1) : h;
  } else {
    const colon = h.indexOf(':');
    if (colon >= 0) h = h.slice(0, colon);
  }
  if (h.endsWith('.')) h = h.slice(0, -1);
  return h.toLowerCase();
}
