// Response heads: status line forms, the fields that matter, and body framing (RFC 9112 §6.3).

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { responseBodyFraming, type BodyFraming } from '../../src/worker/http/response-head.js';
import { bytes, parseResponse, responseRefusal } from './parse.js';

test('a typical response', () => {
  const raw = 'HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 12\r\nX-Pad:  v \r\n\r\nhello world!';
  const { head, end } = parseResponse(raw);
  assert.equal(end, raw.length - 12);
  assert.deepEqual(head, {
    versionMinor: 1,
    status: 200,
    reason: 'OK',
    headers: ['Content-Type', 'text/plain', 'Content-Length', '12', 'X-Pad', 'v'],
    contentLength: 12,
    chunked: false,
    closeAfter: false,
    keepAlive: true,
    connectionTokens: [],
    upgrade: undefined,
    headBytes: end,
  });
  assert.deepEqual(responseBodyFraming(head, 'GET'), { kind: 'length', length: 12 });
});

test('status line forms: reason phrases, empty reason with or without its space, HTTP/1.0', () => {
  const forms: Array<[string, number, string, 0 | 1]> = [
    ['HTTP/1.1 404 Not Found', 404, 'Not Found', 1],
    ['HTTP/1.0 200 OK', 200, 'OK', 0],
    ['HTTP/1.1 203 Non-Authoritative  Information', 203, 'Non-Authoritative  Information', 1],
    ['HTTP/1.1 200 ', 200, '', 1],
    ['HTTP/1.1 200', 200, '', 1],
    ['HTTP/1.1 599 \tx', 599, '\tx', 1],
    ['HTTP/1.1 100 Continue', 100, 'Continue', 1],
    ['HTTP/1.1 200 caf\u00e9', 200, 'caf\u00e9', 1],
  ];
  for (const [line, status, reason, versionMinor] of forms) {
    const { head } = parseResponse(`${line}\r\nX: y\r\n\r\n`);
    assert.deepEqual([head.status, head.reason, head.versionMinor], [status, reason, versionMinor], line);
  }
});

test('bad status lines are refused with 502', () => {
  const bad: Array<[string, string]> = [
    ['HTTP/1.1 2000 OK', 'invalid status code'],
    ['HTTP/1.1 20 OK', 'invalid status code'],
    ['HTTP/1.1 099 Low', 'invalid status code'],
    ['HTTP/1.1 600 High', 'invalid status code'],
    ['HTTP/1.1 abc OK', 'invalid status code'],
    ['HTTP/1.1 -20 OK', 'invalid status code'],
    ['HTTP/1.1  200 OK', 'invalid status code'],
    ['HTTP/1.1 200\tOK', 'invalid status code'],
    ['http/1.1 200 OK', 'malformed status line'],
    ['HTTP/1.1\t200 OK', 'malformed status line'],
    ['HTTP/1.1', 'malformed status line'],
    ['HTTP/11 200 OK', 'malformed status line'],
    ['ICY 200 OK', 'malformed status line'],
    ['HTTP/2.0 200 OK', 'HTTP version not supported'],
    ['HTTP/1.2 200 OK', 'HTTP version not supported'],
    ['HTTP/1.1 200 O\u0001K', 'control character in header block'],
  ];
  for (const [line, reason] of bad) {
    assert.deepEqual(responseRefusal(`${line}\r\nX: y\r\n\r\n`), { status: 502, reason }, line);
  }
});

test('header syntax errors in a response are 502s with the same reasons as for requests', () => {
  assert.deepEqual(responseRefusal('HTTP/1.1 200 OK\r\nContent-Length : 5\r\n\r\n'), { status: 502, reason: 'whitespace before colon' });
  assert.deepEqual(responseRefusal('HTTP/1.1 200 OK\r\nX: a\r\n b\r\n\r\n'), {
    status: 502,
    reason: 'obs-fold (header line starts with whitespace)',
  });
  assert.deepEqual(responseRefusal('HTTP/1.1 200 OK\r\nX{: a\r\n\r\n'), { status: 502, reason: 'invalid header name character' });
  assert.deepEqual(responseRefusal('HTTP/1.1 200 OK\r\nContent-Length: 5\r\nContent-Length: 7\r\n\r\n'), {
    status: 502,
    reason: 'conflicting Content-Length values',
  });
  assert.deepEqual(responseRefusal('HTTP/1.1 200 OK\r\nContent-Length: -5\r\n\r\n'), { status: 502, reason: 'invalid Content-Length' });
  assert.deepEqual(responseRefusal('HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked, chunked\r\n\r\n'), {
    status: 502,
    reason: 'chunked applied more than once',
  });
  assert.deepEqual(responseRefusal('HTTP/1.0 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n'), {
    status: 502,
    reason: 'Transfer-Encoding in HTTP/1.0 response',
  });
  assert.deepEqual(responseRefusal('HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked;x=1\r\n\r\n'), {
    status: 502,
    reason: 'transfer coding parameters not supported',
  });
  assert.deepEqual(
    responseRefusal('HTTP/1.1 200 OK\r\nX: 1\r\nY: 2\r\nZ: 3\r\n\r\n', { requestLine: 100, headerSize: 100, headerCount: 2 }),
    {
      status: 502,
      reason: 'too many header fields',
    },
  );
});

test('keep-alive and Connection tokens', () => {
  assert.equal(parseResponse('HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n').head.keepAlive, true);
  assert.equal(parseResponse('HTTP/1.1 200 OK\r\nConnection: close\r\nContent-Length: 0\r\n\r\n').head.keepAlive, false);
  assert.equal(parseResponse('HTTP/1.0 200 OK\r\nContent-Length: 0\r\n\r\n').head.keepAlive, false);
  const ka = parseResponse('HTTP/1.0 200 OK\r\nConnection: Keep-Alive\r\nConnection: x-a\r\nContent-Length: 0\r\n\r\n').head;
  assert.equal(ka.keepAlive, true);
  assert.deepEqual(ka.connectionTokens, ['keep-alive', 'x-a']);
});

test('Content-Length with Transfer-Encoding: chunked wins and the connection closes after', () => {
  const { head } = parseResponse('HTTP/1.1 200 OK\r\nContent-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n');
  assert.equal(head.chunked, true);
  assert.equal(head.contentLength, -1);
  assert.equal(head.closeAfter, true);
  assert.equal(head.keepAlive, false);
  assert.deepEqual(responseBodyFraming(head, 'GET'), { kind: 'chunked' });
});

test('Transfer-Encoding without final chunked: close-delimited, even with Content-Length', () => {
  for (const raw of [
    'HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip\r\n\r\n',
    'HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked, gzip\r\nContent-Length: 10\r\n\r\n',
  ]) {
    const { head } = parseResponse(raw);
    assert.equal(head.chunked, false);
    assert.equal(head.contentLength, -1);
    assert.equal(head.closeAfter, true);
    assert.equal(head.keepAlive, false);
    assert.deepEqual(responseBodyFraming(head, 'GET'), { kind: 'close' });
  }
  // A coding handoff does not know is forwarded as is: only the chunked framing matters.
  assert.equal(parseResponse('HTTP/1.1 200 OK\r\nTransfer-Encoding: br, Chunked\r\n\r\n').head.chunked, true);
});

test('body framing per RFC 9112 §6.3', () => {
  const framing = (statusLine: string, fields: string, method = 'GET'): BodyFraming =>
    responseBodyFraming(parseResponse(`${statusLine}\r\n${fields}\r\n`).head, method);
  const none = { kind: 'none' };
  assert.deepEqual(framing('HTTP/1.1 200 OK', 'Content-Length: 10\r\n', 'HEAD'), none);
  assert.deepEqual(framing('HTTP/1.1 200 OK', 'Transfer-Encoding: chunked\r\n', 'HEAD'), none);
  assert.deepEqual(framing('HTTP/1.1 100 Continue', ''), none);
  assert.deepEqual(framing('HTTP/1.1 103 Early Hints', 'Link: </s.css>; rel=preload\r\n'), none);
  assert.deepEqual(framing('HTTP/1.1 204 No Content', 'Content-Length: 10\r\n'), none);
  assert.deepEqual(framing('HTTP/1.1 304 Not Modified', 'Content-Length: 10\r\n'), none);
  assert.deepEqual(framing('HTTP/1.1 101 Switching Protocols', 'Upgrade: websocket\r\nConnection: Upgrade\r\n'), { kind: 'tunnel' });
  assert.deepEqual(framing('HTTP/1.1 200 Connection Established', '', 'CONNECT'), { kind: 'tunnel' });
  assert.deepEqual(framing('HTTP/1.1 407 Proxy Auth', 'Content-Length: 3\r\n', 'CONNECT'), { kind: 'length', length: 3 });
  assert.deepEqual(framing('HTTP/1.1 200 OK', 'Transfer-Encoding: chunked\r\n'), { kind: 'chunked' });
  assert.deepEqual(framing('HTTP/1.1 200 OK', 'Content-Length: 0\r\n'), { kind: 'length', length: 0 });
  assert.deepEqual(framing('HTTP/1.1 404 Not Found', 'Content-Length: 9\r\n', 'POST'), { kind: 'length', length: 9 });
  assert.deepEqual(framing('HTTP/1.1 200 OK', 'Content-Type: text/plain\r\n'), { kind: 'close' });
  assert.deepEqual(framing('HTTP/1.0 200 OK', ''), { kind: 'close' });
});

test('101 Switching Protocols reports the Upgrade the server chose', () => {
  const { head } = parseResponse(
    'HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: x\r\n\r\n',
  );
  assert.equal(head.upgrade, 'websocket');
  assert.deepEqual(head.connectionTokens, ['upgrade']);
});

test('a response head parsed from the middle of a buffer', () => {
  const first = 'HTTP/1.1 100 Continue\r\n\r\n';
  const second = 'HTTP/1.1 201 Created\r\nContent-Length: 2\r\n\r\nok';
  const buf = bytes(first + second);
  const one = parseResponse(buf);
  assert.equal(one.end, first.length);
  assert.equal(one.head.status, 100);
  const two = parseResponse(buf, undefined, one.end);
  assert.equal(two.end, buf.length - 2);
  assert.equal(two.head.status, 201);
  assert.equal(two.head.headBytes, second.length - 2);
});
