// Helpers for the parser conformance tests: run a message through the parsers the way the
// proxy does (HeadScanner.scan, then parseRequestHead / parseResponseHead, or a
// ChunkedTracker) and report either the result or the refusal as { status, reason }.

import assert from 'node:assert/strict';
import { ChunkedTracker } from '../../src/worker/http/chunked-tracker.js';
import { HttpParseError, type HttpMessageKind } from '../../src/worker/http/errors.js';
import { HeadScanner } from '../../src/worker/http/head-scanner.js';
import { DEFAULT_PARSE_LIMITS, type ParseLimits } from '../../src/worker/http/limits.js';
import { parseRequestHead, type RequestHead } from '../../src/worker/http/request-head.js';
import { parseResponseHead, type ResponseHead } from '../../src/worker/http/response-head.js';

/** What a refused message produced. */
export interface Refusal {
  status: number;
  reason: string;
}

export function bytes(raw: string | Buffer): Buffer {
  return typeof raw === 'string' ? Buffer.from(raw, 'latin1') : raw;
}

/** Scans and parses the request head at `start`; the head must be complete. */
export function parseRequest(
  raw: string | Buffer,
  limits: ParseLimits = DEFAULT_PARSE_LIMITS,
  start = 0,
): { head: RequestHead; end: number; skipped: number } {
  const buf = bytes(raw);
  const scanner = new HeadScanner();
  const end = scanner.scan(buf, start, buf.length, limits, 'request');
  assert.notEqual(end, -1, 'request head incomplete');
  return { head: parseRequestHead(buf, start + scanner.skipped, end, limits), end, skipped: scanner.skipped };
}

/** Scans and parses the response head at `start`; the head must be complete. */
export function parseResponse(
  raw: string | Buffer,
  limits: ParseLimits = DEFAULT_PARSE_LIMITS,
  start = 0,
): { head: ResponseHead; end: number } {
  const buf = bytes(raw);
  const scanner = new HeadScanner();
  const end = scanner.scan(buf, start, buf.length, limits, 'response');
  assert.notEqual(end, -1, 'response head incomplete');
  return { head: parseResponseHead(buf, start, end, limits), end };
}

/** The refusal a function throws; fails the test if it throws anything else or nothing. */
export function refusal(kind: HttpMessageKind, fn: () => unknown): Refusal {
  try {
    fn();
  } catch (err) {
    assert.ok(err instanceof HttpParseError, `expected HttpParseError, got ${String(err)}`);
    assert.equal(err.kind, kind);
    assert.equal(err.code, kind === 'request' ? 'HANDOFF_ERR_BAD_REQUEST' : 'HANDOFF_ERR_BAD_RESPONSE');
    assert.equal(err.source, kind === 'request' ? 'client' : 'server');
    return { status: err.status, reason: err.reason };
  }
  assert.fail('expected the message to be refused');
}

/** How a request is refused (by the scanner or the parser). */
export function requestRefusal(raw: string | Buffer, limits: ParseLimits = DEFAULT_PARSE_LIMITS): Refusal {
  return refusal('request', () => parseRequest(raw, limits));
}

/** How a response is refused (by the scanner or the parser). */
export function responseRefusal(raw: string | Buffer, limits: ParseLimits = DEFAULT_PARSE_LIMITS): Refusal {
  return refusal('response', () => parseResponse(raw, limits));
}

/** Result of tracking a chunked body fed in the given pieces. */
export interface ChunkedOutcome {
  consumed: number;
  done: boolean;
  trailers: boolean;
}

/**
 * Feeds `body` to a fresh tracker cut at `cuts` (sorted offsets), each piece as its own
 * buffer, as socket reads would arrive. Stops feeding once done.
 */
export function trackChunked(
  body: string | Buffer,
  cuts: readonly number[] = [],
  kind: HttpMessageKind = 'request',
  limits?: ParseLimits,
): ChunkedOutcome {
  const buf = bytes(body);
  const tracker = new ChunkedTracker(kind, limits);
  let consumed = 0;
  const bounds = [...cuts, buf.length];
  let from = 0;
  for (const to of bounds) {
    const piece = Buffer.from(buf.subarray(from, to)); // a copy: no reliance on the original buffer
    const n = tracker.feed(piece, 0, piece.length);
    assert.ok(n >= 0 && n <= piece.length, `feed returned ${n} for ${piece.length} bytes`);
    consumed += n;
    if (tracker.done) break;
    assert.equal(n, piece.length, 'a tracker that is not done must claim every byte');
    from = to;
  }
  return { consumed, done: tracker.done, trailers: tracker.trailers };
}

/** How feeding a chunked body (in one piece) is refused. */
export function chunkedRefusal(body: string | Buffer, kind: HttpMessageKind = 'request', limits?: ParseLimits): Refusal {
  return refusal(kind, () => trackChunked(body, [], kind, limits));
}
