// Header rules (`headers:` on a frontend or a route): set headers from templates such as
// "${server} gen ${generation}", remove headers by name. Templates are checked at load time so
// a typo in a variable fails `handoff check`, not a request.
import { HandoffError } from '../lib/errors.js';
import type { HeaderOps, HeaderRules } from './types.js';
import { describeValue } from './describe-value.js';

/** Every variable a header template may use. */
export const HEADER_VARIABLES = [
  'generation',
  'worker.pid',
  'frontend',
  'route',
  'backend',
  'server',
  'client.address',
  'request.id',
  'request.start',
  'tls.sni',
  'tls.version',
  'tls.client.subject',
] as const;

export type HeaderVariable = (typeof HEADER_VARIABLES)[number];

export type TemplatePart = { readonly literal: string } | { readonly variable: HeaderVariable };

/** RFC 9110 token: the characters a header field name may have. */
const TOKEN = /^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/;

export function checkHeaderName(value: unknown): string {
  if (typeof value === 'string' && TOKEN.test(value)) return value;
  throw fail(`expected a header name (letters, digits and !#$%&'*+-.^_\`|~), got ${describeValue(value)}`);
}

/** Split a template into literals and variables; throws on an unknown or unterminated variable. */
export function parseHeaderTemplate(value: unknown): TemplatePart[] {
  if (typeof value !== 'string') throw fail(`expected a header value template (a string, e.g. "\${server}"), got ${describeValue(value)}`);
  if (/[\r\n\0]/.test(value)) throw fail(`a header value cannot contain CR, LF or NUL, got ${describeValue(value)}`);
  const parts: TemplatePart[] = [];
  let rest = value;
  while (rest.length > 0) {
    const at = rest.indexOf('${');
    if (at < 0) {
      parts.push({ literal: rest });
      break;
    }
    if (at > 0) parts.push({ literal: rest.slice(0, at) });
    const end = rest.indexOf('}', at);
    if (end < 0) throw fail(`unterminated "\${" in header template ${describeValue(value)}`);
    const name = rest.slice(at + 2, end);
    if (!(HEADER_VARIABLES as readonly string[]).includes(name)) {
      throw fail(`unknown variable "\${${name}}" in header template (variables: ${HEADER_VARIABLES.map((v) => `\${${v}}`).join(' ')})`);
    }
    parts.push({ variable: name as HeaderVariable });
    rest = rest.slice(end + 1);
  }
  return parts;
}

/** Expand a template with the values known for one request (unknown ones become ""). */
export function expandHeaderTemplate(template: string, values: Partial<Record<HeaderVariable, string | number>>): string {
  return parseHeaderTemplate(template)
    .map((p) => ('literal' in p ? p.literal : String(values[p.variable] ?? '')))
    .join('');
}

export const NO_HEADER_OPS: HeaderOps = { set: [], remove: [] };
export const NO_HEADER_RULES: HeaderRules = { request: NO_HEADER_OPS, response: NO_HEADER_OPS };

interface RawOps {
  set?: Record<string, string>;
  remove?: string[];
}

/** The model form of a validated `headers:` mapping. */
export function headerRules(raw: { request?: RawOps; response?: RawOps } | undefined): HeaderRules {
  if (!raw) return NO_HEADER_RULES;
  return { request: headerOps(raw.request), response: headerOps(raw.response) };
}

function headerOps(raw: RawOps | undefined): HeaderOps {
  if (!raw) return NO_HEADER_OPS;
  return { set: Object.entries(raw.set ?? {}).map(([name, template]) => [name, template] as const), remove: [...(raw.remove ?? [])] };
}

function fail(message: string): HandoffError {
  return new HandoffError('HANDOFF_ERR_CONFIG', 'config', message);
}
