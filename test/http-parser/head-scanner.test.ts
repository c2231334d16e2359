// HeadScanner: finds the end of a head across arbitrary reads and refuses bad bytes as soon
// as they arrive, before the head is complete.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { HeadScanner } from '../../src/worker/http/head-scanner.js';
import { DEFAULT_PARSE_LIMITS, type ParseLimits } from '../../src/worker/http/limits.js';
import { parseRequestHead } from '../../src/worker/http/request-head.js';
import { bytes, refusal, type Refusal } from './parse.js';

const L = DEFAULT_PARSE_LIMITS;
const REQUEST = 'GET /a?b=c HTTP/1.1\r\nHost: example.com\r\nAccept: */*\r\nX-Tab:\ta\tb\r\n\r\n';

/** Scans `raw` arriving in pieces cut at `cuts`, accumulating as a connection would. */
function scanInPieces(
  raw: string | Buffer,
  cuts: readonly number[],
  kind: 'request' | 'response' = 'request',
  limits: ParseLimits = L,
): number[] {
  const all = bytes(raw);
  const scanner = new HeadScanner();
  const results: number[] = [];
  for (const to of [...cuts, all.length]) {
    const accumulated = Buffer.from(all.subarray(0, to)); // a new buffer object each time
    results.push(scanner.scan(accumulated, 0, accumulated.length, limits, kind));
  }
  return results;
}

/** The refusal raised while `raw` arrives one byte at a time, and at which byte count. */
function refusalWhileArriving(raw: string, kind: 'request' | 'response' = 'request', limits: ParseLimits = L): Refusal & { at: number } {
  const all = bytes(raw);
  const scanner = new HeadScanner();
  for (let n = 1; n <= all.length; n++) {
    try {
      scanner.scan(all, 0, n, limits, kind);
    } catch {
      return { ...refusal(kind, () => scanner.scan(all, 0, n, limits, kind)), at: n };
    }
  }
  assert.fail('never refused');
}

test('a head fed one byte at a time completes exactly at its last byte', () => {
  const cuts = Array.from({ length: REQUEST.length - 1 }, (_, i) => i + 1);
  const results = scanInPieces(REQUEST, cuts);
  assert.deepEqual(results.slice(0, -1), new Array(REQUEST.length - 1).fill(-1));
  assert.equal(results.at(-1), REQUEST.length);
});

test('every 2-piece split gives the same end, and the same parsed head', () => {
  const expected = parseRequestHead(bytes(REQUEST), 0, REQUEST.length, L);
  for (let cut = 0; cut <= REQUEST.length; cut++) {
    const results = scanInPieces(REQUEST, [cut]);
    assert.equal(results.at(-1), REQUEST.length, `cut at ${cut}`);
    if (cut < REQUEST.length) assert.equal(results[0], -1, `cut at ${cut}`);
    assert.deepEqual(parseRequestHead(bytes(REQUEST), 0, results.at(-1)!, L), expected);
  }
});

test('scanning resumes where it stopped: bytes already examined are not looked at again', () => {
  const scanner = new HeadScanner();
  const first = bytes('GET / HTTP/1.1\r\nHo');
  assert.equal(scanner.scan(first, 0, first.length, L, 'request'), -1);
  // Were the start rescanned, this NUL would be refused; the contract says these bytes are
  // unchanged, so the scanner does not pay to look at them twice.
  const next = bytes('\u0000ET / HTTP/1.1\r\nHost: a\r\n\r\n');
  assert.equal(scanner.scan(next, 0, next.length, L, 'request'), next.length);
});

test('the head end is found with body bytes and a pipelined request behind it', () => {
  const raw = 'POST /u HTTP/1.1\r\nHost: a\r\nContent-Length: 4\r\n\r\nbodyGET / HTTP/1.1\r\n';
  const scanner = new HeadScanner();
  const buf = bytes(raw);
  assert.equal(scanner.scan(buf, 0, buf.length, L, 'request'), raw.indexOf('body'));
});

test('a head starting mid-buffer: positions are absolute, counting is relative to start', () => {
  const prefix = 'xxxxxxxxxx';
  const buf = bytes(prefix + REQUEST);
  const scanner = new HeadScanner();
  assert.equal(scanner.scan(buf, prefix.length, prefix.length + 20, L, 'request'), -1);
  assert.equal(scanner.scan(buf, prefix.length, buf.length, L, 'request'), buf.length);
});

test('leading empty lines are skipped, also when they arrive piecemeal; skipped is reported', () => {
  const raw = `\r\n\r\n${REQUEST}`;
  const scanner = new HeadScanner();
  const buf = bytes(raw);
  assert.equal(scanner.scan(buf, 0, 1, L, 'request'), -1);
  assert.equal(scanner.scan(buf, 0, 3, L, 'request'), -1);
  assert.equal(scanner.scan(buf, 0, buf.length, L, 'request'), buf.length);
  assert.equal(scanner.skipped, 4);
  // The next head starts fresh.
  const again = bytes(REQUEST);
  assert.equal(scanner.scan(again, 0, again.length, L, 'request'), again.length);
  assert.equal(scanner.skipped, 0);
});

test('an endless stream of empty lines is refused once it exceeds the request line limit', () => {
  const limits = { ...L, requestLine: 10 };
  assert.deepEqual(refusalWhileArriving('\r\n'.repeat(10), 'request', limits), {
    status: 400,
    reason: 'too many empty lines before request line',
    at: 12,
  });
});

test('reset() forgets a partial head', () => {
  const scanner = new HeadScanner();
  const partial = bytes('GET / HTTP/1.1\r\nX: ');
  assert.equal(scanner.scan(partial, 0, partial.length, L, 'request'), -1);
  scanner.reset();
  const other = bytes('\r\nPUT / HTTP/1.1\r\nHost: a\r\n\r\n');
  assert.equal(scanner.scan(other, 0, other.length, L, 'request'), other.length);
  assert.equal(scanner.skipped, 2);
});

test('bad bytes are refused the moment they arrive, not when the head completes', () => {
  const head = 'GET / HTTP/1.1\r\nHost: a\r\n';
  assert.deepEqual(refusalWhileArriving(`${head}X: a\nmore`), { status: 400, reason: 'bare LF in header block', at: head.length + 5 });
  assert.deepEqual(refusalWhileArriving(`${head}X: a\u0000more`), {
    status: 400,
    reason: 'control character in header block',
    at: head.length + 5,
  });
  assert.deepEqual(refusalWhileArriving(`${head}X: a\u007fmore`), {
    status: 400,
    reason: 'control character in header block',
    at: head.length + 5,
  });
  assert.deepEqual(refusalWhileArriving(`${head} folded`), {
    status: 400,
    reason: 'obs-fold (header line starts with whitespace)',
    at: head.length + 1,
  });
  assert.deepEqual(refusalWhileArriving('GET /\u0001'), { status: 400, reason: 'control character in header block', at: 6 });
  // TLS or other binary garbage sent to a plaintext port: refused at the first bytes.
  assert.deepEqual(refusalWhileArriving('\u0016\u0003\u0001\u0002\u0000'), {
    status: 400,
    reason: 'control character in header block',
    at: 1,
  });
});

test('a CR at the end of the data waits for the next byte: LF continues, anything else is a bare CR', () => {
  const scanner = new HeadScanner();
  const buf = bytes('GET / HTTP/1.1\r\nHost: a\rX');
  const crAt = buf.indexOf('\rX');
  assert.equal(scanner.scan(buf, 0, crAt + 1, L, 'request'), -1);
  assert.deepEqual(
    refusal('request', () => scanner.scan(buf, 0, buf.length, L, 'request')),
    { status: 400, reason: 'bare CR in header block' },
  );

  const good = new HeadScanner();
  const ok = bytes('GET / HTTP/1.1\r\nHost: a\r\n\r\n');
  for (let n = 1; n < ok.length; n++) assert.equal(good.scan(ok, 0, n, L, 'request'), -1, `at ${n}`);
  assert.equal(good.scan(ok, 0, ok.length, L, 'request'), ok.length);
});

test('limits are enforced on the part already received', () => {
  const limits = { requestLine: 32, headerSize: 64, headerCount: 3 };
  // The request line is refused once its 33rd byte arrives, without waiting for its CRLF.
  assert.deepEqual(refusalWhileArriving(`GET /${'a'.repeat(100)}`, 'request', limits), {
    status: 414,
    reason: 'request line too long',
    at: 33,
  });
  // The header section is refused once it exceeds 64 bytes, without waiting for its end.
  const line = 'GET / HTTP/1.1\r\n';
  assert.deepEqual(refusalWhileArriving(`${line}X: ${'v'.repeat(200)}`, 'request', limits), {
    status: 431,
    reason: 'header section too large',
    at: line.length + 65,
  });
  // The 4th field line is refused when its CRLF is complete.
  const four = `${line}A: 1\r\nB: 2\r\nC: 3\r\nD: 4\r\n`;
  assert.deepEqual(refusalWhileArriving(four, 'request', limits), { status: 431, reason: 'too many header fields', at: four.length });
  // Exactly at the limits: accepted.
  const exact = `GET /${'a'.repeat(18)} HTTP/1.1\r\nA: 1\r\nB: 2\r\nC: ${'c'.repeat(45)}\r\n\r\n`;
  assert.equal(exact.indexOf('\r\n'), 32);
  assert.equal(exact.length - 34, 64);
  assert.deepEqual(scanInPieces(exact, [], 'request', limits), [exact.length]);
});

test('responses: every refusal is a 502, and no empty line may precede the status line', () => {
  assert.deepEqual(refusalWhileArriving('\r\nHTTP/1.1 200 OK\r\n\r\n', 'response'), {
    status: 502,
    reason: 'empty line before status line',
    at: 2,
  });
  assert.deepEqual(refusalWhileArriving('HTTP/1.1 200 OK\nX: y\r\n\r\n', 'response'), {
    status: 502,
    reason: 'bare LF in header block',
    at: 16,
  });
  assert.deepEqual(
    refusalWhileArriving(`HTTP/1.1 200 OK\r\nX: ${'v'.repeat(40)}`, 'response', { requestLine: 100, headerSize: 20, headerCount: 5 }),
    {
      status: 502,
      reason: 'header section too large',
      at: 17 + 21,
    },
  );
  assert.deepEqual(
    refusalWhileArriving(`HTTP/1.1 200 ${'O'.repeat(100)}`, 'response', { requestLine: 50, headerSize: 20, headerCount: 5 }),
    {
      status: 502,
      reason: 'status line too long',
      at: 51,
    },
  );
  const ok = 'HTTP/1.1 204 No Content\r\nDate: x\r\n\r\n';
  assert.deepEqual(scanInPieces(ok, [5, 20, 30], 'response'), [-1, -1, -1, ok.length]);
});
