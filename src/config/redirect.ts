// `redirect_https:` (issue 11): a plain-HTTP frontend, or one of its routes, answers every
// request it takes with a redirect to the same host, path and query over https. On a
// frontend it is the default action (in place of default_backend: requests no route
// matches); on a route it replaces the route's backend. Checked and normalised here.
import type { PathSegment } from './issue.js';
import type { Reporter } from './semantic-checks.js';
import type { HttpsRedirect } from './tls-types.js';

type Rec = Record<string, unknown>;
const rec = (v: unknown): Rec | undefined => (v && typeof v === 'object' && !Array.isArray(v) ? (v as Rec) : undefined);

/** Where redirect_https is used, whether it fits. */
export function checkRedirects(data: unknown, report: Reporter): void {
  const frontends = rec(rec(data)?.frontends) ?? {};
  for (const [name, value] of Object.entries(frontends)) {
    const fe = rec(value);
    if (!fe) continue;
    const at: PathSegment[] = ['frontends', name];
    if ('redirect_https' in fe) {
      if (fe.mode === 'tcp') report.error([...at, 'redirect_https'], 'key', 'redirect_https applies to http frontends');
      if ('default_backend' in fe)
        report.error([...at, 'redirect_https'], 'key', 'redirect_https and default_backend are both the default action: keep one');
    }
    if (!Array.isArray(fe.routes)) continue;
    fe.routes.forEach((value, i) => {
      const route = rec(value);
      if (!route) return;
      const path: PathSegment[] = [...at, 'routes', i];
      // Neither: the schema says "missing required key backend".
      if ('backend' in route && 'redirect_https' in route)
        report.error([...path, 'redirect_https'], 'key', 'a route has a backend or redirect_https, not both');
    });
  }
}

/** The model of a `redirect_https` value that passed the checks; undefined when absent. */
export function httpsRedirect(raw: unknown): HttpsRedirect | undefined {
  if (raw === undefined) return undefined;
  if (raw === 301 || raw === 308) return { code: raw };
  const r = rec(raw) ?? {};
  const code = r.code === 301 ? 301 : 308;
  return typeof r.port === 'number' && r.port !== 443 ? { code, port: r.port } : { code };
}
