// Property-based tests of the HTTP/1 parsers (fast-check), against an independent reader:
// Node's llhttp in strict mode, through a real node:http server on loopback. Properties:
// no crash, no hang, every refusal is a status handoff answers with, and never a request
// boundary the oracle does not see (two requests where it sees one is request smuggling).
// FUZZ_RUNS sets the number of cases (default small, for npm test); `npm run fuzz` runs many.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import fc from 'fast-check';
import { HttpParseError } from '../../src/worker/http/errors.js';
import { HeadScanner } from '../../src/worker/http/head-scanner.js';
import { DEFAULT_PARSE_LIMITS } from '../../src/worker/http/limits.js';
import { parseResponseHead } from '../../src/worker/http/response-head.js';
import { readRequests } from './fuzz/handoff-reader.js';
import { NodeOracle } from './fuzz/node-oracle.js';
import { requestStream } from './fuzz/requests.js';

const RUNS = Number(process.env.FUZZ_RUNS ?? 300);
const SEED = process.env.FUZZ_SEED === undefined ? undefined : Number(process.env.FUZZ_SEED);
const REQUEST_REFUSALS = new Set([400, 414, 431, 501, 505]);

const oracle = new NodeOracle();
before(() => oracle.start());
after(() => oracle.stop());

test('request streams: no crash, refusals are 4xx (or 501/505), no request boundary llhttp does not see', async () => {
  await fc.assert(
    fc.asyncProperty(requestStream, async (bytes) => {
      const ours = readRequests(bytes); // throws (a crash) on anything but HttpParseError
      if (ours.refusal) assert.ok(REQUEST_REFUSALS.has(ours.refusal.status), `refusal ${ours.refusal.status} ${ours.refusal.reason}`);
      const theirs = await oracle.read(bytes);
      // Every request handoff accepted, llhttp saw too, at the same place in the stream; unless
      // llhttp refused the first one it lacks for a reason that is not framing: a method
      // token it does not know (handoff accepts any token, RFC 9110 §9.1) or repeated equal
      // Content-Length lines (RFC 9110 §8.6 lets a recipient accept them; handoff forwards one).
      const both = Math.min(ours.accepted.length, theirs.requests.length);
      if (ours.accepted.length > theirs.requests.length) {
        const first = ours.accepted[both]!;
        assert.ok(
          theirs.error !== undefined && (!http.METHODS.includes(first.method) || first.repeatedContentLength),
          `handoff saw ${ours.accepted.length} requests, llhttp ${theirs.requests.length} (error ${theirs.error}): ${JSON.stringify(ours.accepted)} vs ${JSON.stringify(theirs.requests)}`,
        );
      }
      ours.accepted.slice(0, both).forEach((r, i) => {
        assert.equal(r.method, theirs.requests[i]!.method, `request ${i}: method`);
        assert.equal(r.target, theirs.requests[i]!.url, `request ${i}: target`);
      });
    }),
    { numRuns: RUNS, seed: SEED, includeErrorInReport: true },
  );
});

const responseHead = fc
  .tuple(
    fc.constantFrom(
      'HTTP/1.1 200 OK',
      'HTTP/1.1 204 No Content',
      'HTTP/1.0 304',
      'HTTP/1.1 200',
      'HTTP/1.1 2000 X',
      'HTTP/1.1 099 X',
      'HTTP/2 200 OK',
      'HTTP/1.1  200 OK',
      'http/1.1 200 OK',
      'HTTP/1.1 101 Switching',
      '',
    ),
    fc.array(
      fc.constantFrom(
        'Content-Length: 5',
        'Content-Length: 5, 5',
        'Content-Length: -1',
        'Content-Length: 5\r\nContent-Length: 6',
        'Transfer-Encoding: chunked',
        'Transfer-Encoding: gzip',
        'Transfer-Encoding: chunked, gzip',
        'Connection: close',
        'X: y',
        ' folded',
        'Bad Name: x',
        'X:\x00',
        'X: \xff',
      ),
      { maxLength: 4 },
    ),
    fc.constantFrom('\r\n', '\n', '\r'),
  )
  .map(([line, fields, eol]) => Buffer.from(`${[line, ...fields].join(eol)}\r\n\r\n`, 'latin1'));

test('response heads: no crash, every refusal is a 502', () => {
  fc.assert(
    fc.property(responseHead, (bytes) => {
      try {
        const scanner = new HeadScanner();
        const end = scanner.scan(bytes, 0, bytes.length, DEFAULT_PARSE_LIMITS, 'response');
        if (end !== -1) parseResponseHead(bytes, 0, end, DEFAULT_PARSE_LIMITS);
      } catch (err) {
        if (!(err instanceof HttpParseError)) throw err;
        assert.equal(err.status, 502, err.reason);
      }
    }),
    { numRuns: RUNS * 3, seed: SEED, includeErrorInReport: true },
  );
});
