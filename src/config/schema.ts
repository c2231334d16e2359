// The JSON schema of the config file (the shape: keys, types, ranges). Scalars with a syntax of
// their own (durations, addresses, templates...) use the `x-kind` keyword, validated by the
// parsers in value-kinds.ts so the schema and the loader can never disagree on them.
// Cross-references (a route's backend exists, binds are unique...) are checked in semantic-checks.ts.
import { ERROR_STATUSES } from './error-pages.js';
import type { ValueKind } from './value-kinds.js';
import { frontendTlsSchema, redirectHttpsSchema } from './tls-schema.js';

type Schema = Record<string, unknown>;

const kind = (k: ValueKind, extra: Schema = {}): Schema => ({ 'x-kind': k, ...extra });

const int = (minimum: number, maximum?: number): Schema => ({ type: 'integer', minimum, ...(maximum === undefined ? {} : { maximum }) });

const mapping = (properties: Record<string, Schema>, required: string[] = []): Schema => ({
  type: 'object',
  properties,
  additionalProperties: false,
  ...(required.length ? { required } : {}),
});

/** A single value or a list of them ("bind: addr" or "bind: [addr, addr]"). */
const oneOrList = (item: Schema, expected: string): Schema => ({
  'x-expected': expected,
  if: { type: 'array' },
  // biome-ignore lint/suspicious/noThenProperty: JSON Schema's if/then/else keyword, read by ajv.
  then: { type: 'array', items: item, minItems: 1, 'x-expected': expected },
  else: item,
});

const timeouts = mapping({
  connect: kind('duration'),
  client: kind('duration'),
  server: kind('duration'),
  queue: kind('duration'),
  'http-request': kind('duration'),
  'keep-alive': kind('duration'),
  tunnel: kind('duration'),
});

const errors = mapping(
  Object.fromEntries(ERROR_STATUSES.map((s) => [String(s), { type: 'string', minLength: 1, 'x-expected': 'a file path' }])),
);

const headerOps = mapping({
  // Header names (the keys of `set`) are checked in semantic-checks.ts, where their position is known.
  set: { type: 'object', additionalProperties: kind('header-template'), 'x-expected': 'a mapping of header name to value template' },
  remove: { type: 'array', items: kind('header-name'), 'x-expected': 'a list of header names' },
});

const headers = mapping({ request: headerOps, response: headerOps });

const route = mapping({
  name: { type: 'string', minLength: 1, 'x-expected': 'a route name' },
  host: oneOrList(kind('host-pattern'), 'a host pattern or a list of them'),
  // TLS passthrough (mode: tcp): route by the ClientHello's server_name; see sni-routes.ts.
  sni: oneOrList(kind('host-pattern'), 'a server name pattern or a list of them'),
  path: kind('path-prefix'),
  backend: { type: 'string', 'x-expected': 'a backend name' },
  headers,
  // TLS (issue 11): a route answers with the https URL instead of a backend.
  redirect_https: redirectHttpsSchema,
});
// A route needs a backend unless it redirects to https (issue 11).
Object.assign(route, {
  if: { properties: { redirect_https: {} }, required: ['redirect_https'] },
  else: { properties: { backend: {} }, required: ['backend'] },
});

const frontend = mapping(
  {
    bind: oneOrList(kind('bind'), 'an address or a list of addresses'),
    mode: { enum: ['http', 'tcp'] },
    routes: { type: 'array', items: route, 'x-expected': 'a list of routes' },
    default_backend: { type: 'string', 'x-expected': 'a backend name' },
    headers,
    timeouts,
    errors,
    maxconn: int(1),
    // TLS termination and the https redirect (issue 11): src/config/tls-schema.ts.
    tls: frontendTlsSchema,
    redirect_https: redirectHttpsSchema,
  },
  ['bind'],
);

// TLS to servers (backend `tls`, overridden per server): `tls: true` or a mapping; see upstream-tls.ts.
const upstreamTls: Schema = {
  'x-expected': 'true, false or a mapping with verify, ca, sni',
  if: { type: 'boolean' },
  // biome-ignore lint/suspicious/noThenProperty: a JSON Schema keyword, not a thenable
  then: { type: 'boolean' },
  else: mapping({
    verify: { type: 'boolean' },
    ca: { type: 'string', minLength: 1, 'x-expected': 'a CA file path' },
    sni: { type: 'string', minLength: 1, 'x-expected': 'a server name' },
  }),
};

const server = mapping(
  {
    name: kind('server-name'),
    address: kind('server-address'),
    weight: int(0, 256),
    maxconn: int(1),
    backup: { type: 'boolean' },
    admin: { enum: ['ready', 'drain', 'maint'] },
    tls: upstreamTls,
  },
  ['name', 'address'],
);

const health = mapping({
  type: { enum: ['tcp', 'http'] },
  interval: kind('duration'),
  timeout: kind('duration'),
  rise: int(1),
  fall: int(1),
  method: kind('http-method'),
  path: kind('request-path'),
  host: { type: 'string', minLength: 1, pattern: '^[^\\s]+$', 'x-expected': 'a Host header value without spaces' },
  expect: kind('status-range'),
});

const backend = mapping(
  {
    balance: { enum: ['roundrobin', 'leastconn', 'random', 'source', 'uri'] },
    servers: { type: 'array', items: server, minItems: 1, 'x-expected': 'a list of at least one server' },
    health,
    retries: int(0),
    maxqueue: int(0),
    passive: mapping({ fall: int(0), cooldown: kind('duration') }),
    timeouts,
    tls: upstreamTls,
  },
  ['servers'],
);

export const configSchema: Schema = mapping(
  {
    workers: kind('workers'),
    control: { type: 'string', minLength: 1, 'x-expected': 'a path' },
    drain: mapping({ timeout: kind('duration'), migrate: { type: 'boolean' }, accept_grace: kind('duration') }),
    timeouts,
    limits: mapping({ 'request-line': kind('size'), 'header-size': kind('size'), 'header-count': int(1), pipeline: int(1) }),
    log: mapping({
      access: { type: 'string', minLength: 1, 'x-expected': 'stdout, off or a file path' },
      buffer: kind('size'),
      format: { enum: ['json', 'combined'] },
    }),
    errors,
    stats: mapping({ bind: kind('address') }, ['bind']),
    frontends: { type: 'object', additionalProperties: frontend, minProperties: 1, 'x-expected': 'a mapping of at least one frontend' },
    backends: { type: 'object', additionalProperties: backend, 'x-expected': 'a mapping of backends' },
  },
  ['frontends'],
);
