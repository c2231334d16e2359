// ChunkedTracker: where a chunked body ends, whatever the read boundaries, and every way a
// chunked body can be malformed.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ChunkedTracker, MAX_CHUNK_EXTENSION_BYTES } from '../../src/worker/http/chunked-tracker.js';
import { bytes, chunkedRefusal, refusal, trackChunked, type Refusal } from './parse.js';

const NEXT = 'GET /next HTTP/1.1\r\nHost: a\r\n\r\n';
// Extensions (token, quoted with escapes and obs-text, valueless), hex in both cases,
// leading zeros, an empty chunk-data CRLF, trailers, then the next message.
const BODY =
  '4;name=value;flag;q="a \\"b\\" \u00e9"\r\nWiki\r\n' +
  '5\r\npedia\r\n' +
  '00E;x=1\r\n in\r\n\r\nchunks.\r\n' +
  'a\r\n0123456789\r\n' +
  '0;last\r\nExpires: Wed, 21 Oct 2015 07:28:00 GMT\r\nX-Checksum:  abc \r\n\r\n';

test('a simple body: done at the final CRLF, nothing more claimed', () => {
  const body = '5\r\nhello\r\n0\r\n\r\n';
  assert.deepEqual(trackChunked(body + NEXT), { consumed: body.length, done: true, trailers: false });
});

test('extensions and trailers', () => {
  assert.deepEqual(trackChunked(BODY + NEXT), { consumed: BODY.length, done: true, trailers: true });
});

test('fed one byte at a time: same outcome', () => {
  const raw = BODY + NEXT;
  const cuts = Array.from({ length: raw.length - 1 }, (_, i) => i + 1);
  assert.deepEqual(trackChunked(raw, cuts), { consumed: BODY.length, done: true, trailers: true });
});

test('split in two at every byte boundary: same outcome', () => {
  const raw = BODY + NEXT;
  for (let cut = 0; cut <= raw.length; cut++) {
    assert.deepEqual(trackChunked(raw, [cut]), { consumed: BODY.length, done: true, trailers: true }, `cut at ${cut}`);
  }
});

test('an incomplete body claims every byte and is not done; then completes', () => {
  const tracker = new ChunkedTracker();
  const buf = bytes(`xx${BODY}${NEXT}`); // the body starts at offset 2 of the buffer
  const half = 2 + 40;
  assert.equal(tracker.feed(buf, 2, half), 40);
  assert.equal(tracker.done, false);
  assert.equal(tracker.feed(buf, half, buf.length), BODY.length - 40);
  assert.equal(tracker.done, true);
  assert.equal(tracker.trailers, true);
  assert.equal(tracker.feed(buf, 2 + BODY.length, buf.length), 0, 'done: the rest belongs to the next message');
});

test('large chunks are skipped without looking at their bytes, in any piece sizes', () => {
  const data = Buffer.alloc(70_000, '\r'); // CRs inside data are data
  const raw = Buffer.concat([bytes('11170\r\n'), data, bytes('\r\n0\r\n\r\n')]); // 0x11170 = 70000
  const cuts = [3, 7, 8, 1000, 65536, 70007, 70008, 70010];
  assert.deepEqual(trackChunked(raw, cuts), { consumed: raw.length, done: true, trailers: false });
});

test('the largest chunk-size accepted is 2^53-1', () => {
  const tracker = new ChunkedTracker();
  const head = bytes('1fffffffffffff\r\n');
  assert.equal(tracker.feed(head, 0, head.length), head.length);
  assert.equal(tracker.done, false);
  const more = bytes('0000000000000001\r\n'); // 16 digits with leading zeros: fine
  const t2 = new ChunkedTracker();
  assert.equal(t2.feed(more, 0, more.length), more.length);
});

test('reset() starts over for the next body', () => {
  const tracker = new ChunkedTracker();
  const one = bytes('3\r\nabc\r\n0\r\nX: y\r\n\r\n');
  assert.equal(tracker.feed(one, 0, one.length), one.length);
  assert.equal(tracker.trailers, true);
  tracker.reset();
  assert.equal(tracker.done, false);
  assert.equal(tracker.trailers, false);
  const two = bytes('0\r\n\r\n');
  assert.equal(tracker.feed(two, 0, two.length), two.length);
  assert.equal(tracker.done, true);
  assert.equal(tracker.trailers, false);
});

const bad = (reason: string): Refusal => ({ status: 400, reason });
const refused: Array<[string, string, Refusal]> = [
  ['chunk-size overflow (17 digits)', 'fffffffffffffffff\r\n', bad('chunk-size overflow')],
  ['chunk-size over 2^53-1', '20000000000000\r\n', bad('chunk-size overflow')],
  ['chunk-size with 17 digits of leading zeros', '00000000000000001\r\n', bad('chunk-size overflow')],
  ['empty chunk-size', '\r\nabc\r\n', bad('invalid chunk size')],
  ['chunk-size with a leading space', ' 5\r\nhello\r\n0\r\n\r\n', bad('whitespace in chunk line')],
  ['chunk-size with a trailing space', '5 \r\nhello\r\n0\r\n\r\n', bad('whitespace in chunk line')],
  ['chunk-size with a trailing tab', '5\t\r\nhello\r\n0\r\n\r\n', bad('whitespace in chunk line')],
  ['space before an extension', '5 ;a=b\r\nhello\r\n0\r\n\r\n', bad('whitespace in chunk line')],
  ['chunk-size "0x5"', '0x5\r\nhello\r\n0\r\n\r\n', bad('invalid chunk size')],
  ['chunk-size "-5"', '-5\r\nhello\r\n0\r\n\r\n', bad('invalid chunk size')],
  ['chunk-size "+5"', '+5\r\nhello\r\n0\r\n\r\n', bad('invalid chunk size')],
  ['chunk-size "5g"', '5g\r\nhello\r\n0\r\n\r\n', bad('invalid chunk size')],
  ['bare LF after chunk-size', '5\nhello\r\n0\r\n\r\n', bad('bare LF in chunked body')],
  ['bare CR after chunk-size', '5\rhello\r\n0\r\n\r\n', bad('bare CR in chunk line')],
  ['missing CRLF after chunk data', '5\r\nhelloX\r\n0\r\n\r\n', bad('missing CRLF after chunk data')],
  ['more data than the chunk-size', '3\r\nhello\r\n0\r\n\r\n', bad('missing CRLF after chunk data')],
  ['bare LF after chunk data', '5\r\nhello\n0\r\n\r\n', bad('bare LF in chunked body')],
  ['CR without LF after chunk data', '5\r\nhello\r0\r\n\r\n', bad('missing CRLF after chunk data')],
  ['empty extension', '5;\r\nhello\r\n0\r\n\r\n', bad('invalid chunk extension')],
  ['extension without a name', '5;=x\r\nhello\r\n0\r\n\r\n', bad('invalid chunk extension')],
  ['extension with an empty value', '5;a=\r\nhello\r\n0\r\n\r\n', bad('invalid chunk extension')],
  ['extension with a space in the value', '5;a=b c\r\nhello\r\n0\r\n\r\n', bad('whitespace in chunk line')],
  ['extension name with a bad character', '5;a@b\r\nhello\r\n0\r\n\r\n', bad('invalid chunk extension')],
  ['extension with NUL', '5;a\u0000\r\nhello\r\n0\r\n\r\n', bad('invalid chunk extension')],
  ['unterminated quoted extension', '5;a="b\r\nhello\r\n0\r\n\r\n', bad('invalid chunk extension')],
  ['text after a quoted extension', '5;a="b"c\r\nhello\r\n0\r\n\r\n', bad('invalid chunk extension')],
  ['control character escaped in a quoted extension', '5;a="\\\u0001"\r\nhello\r\n0\r\n\r\n', bad('invalid chunk extension')],
  ['bare LF in an extension', '5;a=b\nhello\r\n0\r\n\r\n', bad('bare LF in chunked body')],
  ['extension too long', `5;a=${'x'.repeat(MAX_CHUNK_EXTENSION_BYTES)}\r\nhello\r\n0\r\n\r\n`, bad('chunk extension too long')],
  ['obs-fold in a trailer', '0\r\nX: a\r\n b\r\n\r\n', bad('obs-fold (trailer line starts with whitespace)')],
  ['space before colon in a trailer', '0\r\nX : a\r\n\r\n', bad('whitespace before colon in trailer')],
  ['bad trailer name character', '0\r\nX(: a\r\n\r\n', bad('invalid trailer field name character')],
  ['trailer without colon', '0\r\nX\r\n\r\n', bad('invalid trailer field name character')],
  ['NUL in a trailer value', '0\r\nX: a\u0000\r\n\r\n', bad('invalid trailer field value character')],
  ['bare LF in a trailer', '0\r\nX: a\n\r\n', bad('bare LF in chunked body')],
  ['bare CR in a trailer', '0\r\nX: a\rb\r\n\r\n', bad('bare CR in trailer section')],
  ['bare LF as the final line', '0\r\n\n', bad('bare LF in chunked body')],
  ['bare CR as the final line', '0\r\n\rX', bad('bare CR in trailer section')],
];

for (const [name, body, expected] of refused) {
  test(`refused: ${name}`, () => {
    assert.deepEqual(chunkedRefusal(body), expected);
    // Byte by byte: refused just the same.
    const cuts = Array.from({ length: body.length - 1 }, (_, i) => i + 1);
    assert.deepEqual(
      refusal('request', () => trackChunked(body, cuts)),
      expected,
    );
  });
}

test('a chunk extension just under the bound is accepted', () => {
  const ext = `;a=${'x'.repeat(MAX_CHUNK_EXTENSION_BYTES - 3)}`;
  const body = `5${ext}\r\nhello\r\n0\r\n\r\n`;
  assert.deepEqual(trackChunked(body), { consumed: body.length, done: true, trailers: false });
});

test('the trailer section is bounded by limits.headerSize and limits.headerCount (431)', () => {
  const limits = { requestLine: 100, headerSize: 20, headerCount: 2 };
  assert.deepEqual(chunkedRefusal(`0\r\nX: ${'v'.repeat(30)}\r\n\r\n`, 'request', limits), {
    status: 431,
    reason: 'trailer section too large',
  });
  assert.deepEqual(chunkedRefusal('0\r\nA: 1\r\nB: 2\r\nC: 3\r\n\r\n', 'request', limits), {
    status: 431,
    reason: 'too many trailer fields',
  });
  const two = '0\r\nA: 1\r\nB: 2\r\n\r\n';
  assert.deepEqual(trackChunked(two, [], 'request', limits), { consumed: two.length, done: true, trailers: true });
});

test('a response body refuses with 502', () => {
  assert.deepEqual(chunkedRefusal('5\r\nhelloX', 'response'), { status: 502, reason: 'missing CRLF after chunk data' });
  assert.deepEqual(chunkedRefusal('fffffffffffffffff', 'response'), { status: 502, reason: 'chunk-size overflow' });
});
