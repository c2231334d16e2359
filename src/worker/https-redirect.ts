// The answer of a `redirect_https` frontend or route (issue 11): 301 or 308 to the same
// host, path and query over https, on the configured port (none: 443, left out of the URL).
// The host comes from the request (Host, or the absolute-form authority): it is checked to
// be a plain host name or IP literal before it goes into Location, so a client cannot make
// handoff send it elsewhere (no userinfo, no path, no spaces).
import type { HttpsRedirect } from '../config/tls-types.js';
import { REASONS } from './error-response.js';
import type { CompiledOps, RuleVars } from './header-rules.js';
import { normalizeHost } from './router.js';

const HOST = /^(?:[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?(?:\.[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?)*|\[[0-9a-f:.]+\])$/;

/** The https URL for a request, or undefined when its host cannot be used (answer 400). */
export function httpsLocation(r: HttpsRedirect, host: string | undefined, path: string): string | undefined {
  const name = normalizeHost(host);
  if (name === '' || name.length > 253 || !HOST.test(name)) return undefined;
  const target = path.startsWith('/') ? path : '/';
  return `https://${name}${r.port === undefined ? '' : `:${r.port}`}${target}`;
}

export function renderHttpsRedirect(r: HttpsRedirect, location: string, rules: CompiledOps, vars: RuleVars, close: boolean): Buffer {
  let head = `HTTP/1.1 ${r.code} ${REASONS[r.code]}\r\nLocation: ${location}\r\nContent-Length: 0\r\nCache-Control: no-cache\r\n`;
  if (close) head += 'Connection: close\r\n';
  head += `${rules.render(vars)}\r\n`;
  return Buffer.from(head, 'latin1');
}
