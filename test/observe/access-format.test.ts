// The JSON access-log line is written field by field (for speed); it must be byte for byte
// what JSON.stringify gives for the entries the engine builds: the HTTP entry and the TCP
// entry (different keys, different order), with any string a client can send (quotes,
// backslashes, control characters, non-ASCII, lone surrogates) and optional fields absent.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { entryFormatter, JSON_KEYS } from '../../src/observe/access-format.js';
import type { AccessEntry, Termination } from '../../src/observe/access-entry.js';

const jsonLine = entryFormatter('json');

const text = fc.oneof(fc.string(), fc.string({ unit: 'binary' }), fc.constantFrom('', '"', '\\', '\u2028', '\ud800', 'a\u0000b', 'é'));
const maybe = <T>(a: fc.Arbitrary<T>) => fc.option(a, { nil: undefined });
// Termination is a closed set today; any string stands in for a value added tomorrow.
const termination = text as fc.Arbitrary<Termination>;
const ms = fc.oneof(fc.nat(), fc.double({ noNaN: false }));

/** As http-connection.ts builds it (every key present, some undefined). */
const httpEntry = fc.record({
  time: fc.date({ noInvalidDate: true }).map((d) => d.toISOString()),
  generation: fc.nat(),
  pid: fc.nat(),
  client: text,
  frontend: text,
  host: maybe(text),
  request_id: maybe(text),
  client_request_id: maybe(text),
  route: maybe(text),
  backend: maybe(text),
  server: maybe(text),
  method: text,
  path: text,
  protocol: fc.constantFrom('HTTP/1.1' as const, 'HTTP/1.0' as const),
  status: fc.integer({ min: 100, max: 599 }),
  user_agent: maybe(text),
  referer: maybe(text),
  bytes_in: fc.nat(),
  bytes_out: fc.nat(),
  timings: fc.record({ queue: maybe(ms), connect: maybe(ms), response: maybe(ms), total: ms }),
  termination,
  retries: maybe(fc.nat()),
});

/** As tcp-frontend.ts builds it. */
const tcpEntry = fc.record({
  time: fc.date({ noInvalidDate: true }).map((d) => d.toISOString()),
  generation: fc.nat(),
  pid: fc.nat(),
  client: text,
  frontend: text,
  backend: maybe(text),
  server: maybe(text),
  bytes_in: fc.nat(),
  bytes_out: fc.nat(),
  timings: fc.record({ queue: maybe(ms), connect: maybe(ms), total: ms }),
  termination,
  retries: maybe(fc.nat()),
  migrated: maybe(fc.boolean()),
});

test('the HTTP entry: the line is JSON.stringify(entry), byte for byte', () => {
  fc.assert(
    fc.property(httpEntry, (e: AccessEntry) => {
      assert.equal(jsonLine(e), JSON.stringify(e));
    }),
    { numRuns: 2000 },
  );
});

test('the TCP entry: the line is JSON.stringify(entry), byte for byte', () => {
  fc.assert(
    fc.property(tcpEntry, (e: AccessEntry) => {
      assert.equal(jsonLine(e), JSON.stringify(e));
    }),
    { numRuns: 2000 },
  );
});

test('an entry with every key set writes every key, in JSON_KEYS order', () => {
  const e: Required<AccessEntry> = {
    time: '2026-12-02T15:00:00.000Z',
    generation: 3,
    pid: 4121,
    client: '127.0.0.1:5123',
    frontend: 'web',
    host: 'a.example',
    request_id: 'r-1',
    client_request_id: 'c-1',
    route: 'api',
    backend: 'app',
    server: 'app-1',
    method: 'GET',
    path: '/x?"y"',
    protocol: 'HTTP/1.1',
    status: 200,
    user_agent: 'curl/8.5.0',
    referer: 'http://b.example/',
    bytes_in: 78,
    bytes_out: 512,
    timings: { queue: 0, connect: 1, response: 3, total: 4 },
    termination: 'ok',
    retries: 1,
    migrated: true,
  };
  const parsed = JSON.parse(jsonLine(e)) as Record<string, unknown>;
  assert.deepEqual(Object.keys(parsed), [...JSON_KEYS]);
  assert.deepEqual(parsed, e);
});
