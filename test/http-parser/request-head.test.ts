// Requests the parser must accept, and exactly what it makes of them.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { HeadScanner } from '../../src/worker/http/head-scanner.js';
import { DEFAULT_PARSE_LIMITS } from '../../src/worker/http/limits.js';
import { parseRequestHead } from '../../src/worker/http/request-head.js';
import type { HttpParseError } from '../../src/worker/http/errors.js';
import { bytes, parseRequest } from './parse.js';

test('simple HTTP/1.1 GET', () => {
  const raw = 'GET /index.html?a=1&b=2 HTTP/1.1\r\nHost: example.com\r\nUser-Agent: t/1\r\nAccept: */*\r\n\r\n';
  const { head, end } = parseRequest(raw);
  assert.equal(end, raw.length);
  assert.deepEqual(head, {
    method: 'GET',
    target: '/index.html?a=1&b=2',
    path: '/index.html?a=1&b=2',
    authority: undefined,
    versionMinor: 1,
    headers: ['Host', 'example.com', 'User-Agent', 't/1', 'Accept', '*/*'],
    host: 'example.com',
    contentLength: -1,
    chunked: false,
    keepAlive: true,
    connectionTokens: [],
    upgrade: undefined,
    expect: undefined,
    expectContinue: false,
    headBytes: raw.length,
  });
});

test('HTTP/1.0 closes unless it asks for keep-alive; Host is optional', () => {
  const plain = parseRequest('GET / HTTP/1.0\r\n\r\n').head;
  assert.equal(plain.versionMinor, 0);
  assert.equal(plain.keepAlive, false);
  assert.equal(plain.host, undefined);
  assert.deepEqual(plain.headers, []);

  const keepAlive = parseRequest('GET / HTTP/1.0\r\nConnection: Keep-Alive\r\nHost: a\r\n\r\n').head;
  assert.equal(keepAlive.keepAlive, true);
  assert.deepEqual(keepAlive.connectionTokens, ['keep-alive']);
  assert.equal(keepAlive.host, 'a');
});

test('Connection: close ends keep-alive in HTTP/1.1, and close beats keep-alive', () => {
  assert.equal(parseRequest('GET / HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n').head.keepAlive, false);
  assert.equal(parseRequest('GET / HTTP/1.1\r\nHost: a\r\nConnection: keep-alive, CLOSE\r\n\r\n').head.keepAlive, false);
  assert.equal(parseRequest('GET / HTTP/1.0\r\nConnection: keep-alive\r\nConnection: close\r\n\r\n').head.keepAlive, false);
});

test('several Connection headers and tokens are gathered, lower-cased, empty elements ignored', () => {
  const { head } = parseRequest('GET / HTTP/1.1\r\nConnection: Keep-Alive,  X-Trace\r\nHost: a\r\nconnection: ,te,\t,Upgrade\r\n\r\n');
  assert.deepEqual(head.connectionTokens, ['keep-alive', 'x-trace', 'te', 'upgrade']);
  assert.equal(head.keepAlive, true);
  assert.equal(head.upgrade, undefined, 'Connection: upgrade without an Upgrade header');
});

test('pipelined heads in one buffer: the second is parsed from the offset the first returned', () => {
  const first = 'GET /one HTTP/1.1\r\nHost: a\r\n\r\n';
  const second = 'HEAD /two HTTP/1.1\r\nHost: b\r\nConnection: close\r\n\r\n';
  const buf = bytes(`${first + second}GET /thr`);
  const scanner = new HeadScanner();
  const end1 = scanner.scan(buf, 0, buf.length, DEFAULT_PARSE_LIMITS, 'request');
  assert.equal(end1, first.length);
  const one = parseRequestHead(buf, scanner.skipped, end1, DEFAULT_PARSE_LIMITS);
  assert.equal(one.path, '/one');
  assert.equal(one.host, 'a');
  assert.equal(one.headBytes, first.length);

  // After a complete head the scanner starts a new one by itself.
  const end2 = scanner.scan(buf, end1, buf.length, DEFAULT_PARSE_LIMITS, 'request');
  assert.equal(end2, first.length + second.length);
  const two = parseRequestHead(buf, end1 + scanner.skipped, end2, DEFAULT_PARSE_LIMITS);
  assert.equal(two.method, 'HEAD');
  assert.equal(two.path, '/two');
  assert.equal(two.host, 'b');
  assert.equal(two.keepAlive, false);

  // The third is incomplete: more bytes needed.
  assert.equal(scanner.scan(buf, end2, buf.length, DEFAULT_PARSE_LIMITS, 'request'), -1);
});

test('absolute-form: the authority is the host (equal to Host up to case and default port); the path is extracted', () => {
  const { head } = parseRequest('GET http://Origin.Example:8080/a/b?c=d HTTP/1.1\r\nHost: origin.example:8080\r\n\r\n');
  assert.equal(head.target, 'http://Origin.Example:8080/a/b?c=d');
  assert.equal(head.path, '/a/b?c=d');
  assert.equal(head.authority, 'Origin.Example:8080');
  assert.equal(head.host, 'Origin.Example:8080');

  const empty = parseRequest('GET HTTPS://a.example HTTP/1.1\r\nHost: a.example\r\n\r\n').head;
  assert.equal(empty.path, '/');
  assert.equal(empty.authority, 'a.example');

  const query = parseRequest('GET http://a.example?x=1 HTTP/1.1\r\nHost: a.example\r\n\r\n').head;
  assert.equal(query.path, '/?x=1');

  const ipv6 = parseRequest('GET http://[::1]:81/ HTTP/1.1\r\nHost: [::1]:81\r\n\r\n').head;
  assert.equal(ipv6.authority, '[::1]:81');
  assert.equal(ipv6.path, '/');
});

test('absolute-form: a Host header that differs from the authority is refused (400), as HAProxy does', () => {
  for (const [target, host] of [
    ['http://other.example/', 'a.example'],
    ['http://a.example:8080/', 'a.example'],
    ['https://a.example/', 'a.example:80'],
    ['http://a.example/', ''],
  ]) {
    assert.throws(
      () => parseRequest(`GET ${target} HTTP/1.1\r\nHost: ${host}\r\n\r\n`),
      (e: HttpParseError) => e.status === 400 && /differs from the authority/.test(e.reason),
      `${target} with Host: ${host}`,
    );
  }
  // Equal up to case and the scheme's default port; HTTP/1.0 without Host routes by the authority.
  assert.equal(parseRequest('GET http://A.example:80/ HTTP/1.1\r\nHost: a.EXAMPLE\r\n\r\n').head.host, 'A.example:80');
  assert.equal(parseRequest('GET https://a.example/ HTTP/1.1\r\nHost: a.example:443\r\n\r\n').head.host, 'a.example');
  assert.equal(parseRequest('GET http://b.example/x HTTP/1.0\r\n\r\n').head.host, 'b.example');
});

test('HTTP/0.9 (a request line without a version) is refused as soon as its line ends, not after a header section', () => {
  for (const line of ['GET /\r\n', 'GET\r\n']) {
    assert.throws(
      () => new HeadScanner().scan(bytes(line), 0, line.length, DEFAULT_PARSE_LIMITS, 'request'),
      (e: HttpParseError) => e.status === 400 && /HTTP\/0\.9/.test(e.reason),
      JSON.stringify(line),
    );
  }
});

test('OPTIONS * (asterisk-form)', () => {
  const { head } = parseRequest('OPTIONS * HTTP/1.1\r\nHost: a\r\n\r\n');
  assert.equal(head.method, 'OPTIONS');
  assert.equal(head.target, '*');
  assert.equal(head.path, '*');
  assert.equal(head.authority, undefined);
});

test('CONNECT host:port (authority-form)', () => {
  const { head } = parseRequest('CONNECT db.internal:5432 HTTP/1.1\r\nHost: db.internal:5432\r\n\r\n');
  assert.equal(head.method, 'CONNECT');
  assert.equal(head.authority, 'db.internal:5432');
  assert.equal(head.path, '');
  assert.equal(head.host, 'db.internal:5432');
  assert.equal(parseRequest('CONNECT [2001:db8::1]:443 HTTP/1.1\r\nHost: x\r\n\r\n').head.authority, '[2001:db8::1]:443');
});

test('leading empty lines before the request line are skipped and reported', () => {
  const raw = '\r\n\r\nGET / HTTP/1.1\r\nHost: a\r\n\r\n';
  const { head, end, skipped } = parseRequest(raw);
  assert.equal(skipped, 4);
  assert.equal(end, raw.length);
  assert.equal(head.headBytes, raw.length - 4);
  assert.equal(head.path, '/');
});

test('Expect: 100-continue (case-insensitive), other expectations recorded raw', () => {
  const cont = parseRequest('PUT /f HTTP/1.1\r\nHost: a\r\nExpect: 100-Continue\r\nContent-Length: 3\r\n\r\n').head;
  assert.equal(cont.expectContinue, true);
  assert.equal(cont.expect, '100-Continue');
  assert.equal(cont.contentLength, 3);

  const other = parseRequest('PUT /f HTTP/1.1\r\nHost: a\r\nExpect: something-else\r\n\r\n').head;
  assert.equal(other.expectContinue, false);
  assert.equal(other.expect, 'something-else');

  // HTTP/1.0: the expectation is ignored (RFC 9110 §10.1.1), still recorded.
  const old = parseRequest('PUT /f HTTP/1.0\r\nExpect: 100-continue\r\n\r\n').head;
  assert.equal(old.expectContinue, false);
  assert.equal(old.expect, '100-continue');
});

test('Upgrade: websocket with Connection: Upgrade', () => {
  const raw =
    'GET /chat HTTP/1.1\r\nHost: a\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n' +
    'Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n';
  const { head } = parseRequest(raw);
  assert.equal(head.upgrade, 'websocket');
  assert.deepEqual(head.connectionTokens, ['upgrade']);
  assert.equal(head.keepAlive, true);
  // Without the Connection token, Upgrade means nothing; in HTTP/1.0 it is ignored.
  assert.equal(parseRequest('GET / HTTP/1.1\r\nHost: a\r\nUpgrade: websocket\r\n\r\n').head.upgrade, undefined);
  assert.equal(parseRequest('GET / HTTP/1.0\r\nUpgrade: websocket\r\nConnection: upgrade\r\n\r\n').head.upgrade, undefined);
});

test('chunked request: Transfer-Encoding is matched case-insensitively, across lines, with OWS', () => {
  for (const te of ['chunked', 'Chunked', 'CHUNKED', ' chunked\t', 'gzip, chunked', 'gzip,chunked', 'x-gzip ,\tdeflate , chunked']) {
    const { head } = parseRequest(`POST /up HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: ${te}\r\n\r\n`);
    assert.equal(head.chunked, true, te);
    assert.equal(head.contentLength, -1, te);
  }
  const split = parseRequest('POST /up HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: gzip\r\ntransfer-encoding: chunked\r\n\r\n').head;
  assert.equal(split.chunked, true);
});

test('Content-Length: identical duplicates and the list form collapse; leading zeros are digits', () => {
  assert.equal(parseRequest('POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\nContent-Length: 5\r\n\r\n').head.contentLength, 5);
  assert.equal(parseRequest('POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 5, 5,5\r\n\r\n').head.contentLength, 5);
  assert.equal(parseRequest('POST / HTTP/1.1\r\nHost: a\r\ncontent-length: 007\r\n\r\n').head.contentLength, 7);
  assert.equal(parseRequest('POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 0\r\n\r\n').head.contentLength, 0);
  assert.equal(
    parseRequest('POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 9007199254740991\r\n\r\n').head.contentLength,
    Number.MAX_SAFE_INTEGER,
  );
});

test('header values: surrounding OWS removed, inner whitespace and obs-text kept, names as received', () => {
  const raw = Buffer.concat([
    bytes('GET / HTTP/1.1\r\nHost:a\r\nX-Spaces: \t a  b \t\r\nX-Empty:\r\nX-Blank:   \r\nX-Latin: caf'),
    Buffer.from([0xe9, 0xff]),
    bytes('\r\n\r\n'),
  ]);
  const { head } = parseRequest(raw);
  assert.deepEqual(head.headers, ['Host', 'a', 'X-Spaces', 'a  b', 'X-Empty', '', 'X-Blank', '', 'X-Latin', 'caf\u00e9\u00ff']);
});

test('Host values: names, IPv4, IPv6 literals, ports, percent-encoding, empty', () => {
  for (const host of [
    'example.com',
    'EXAMPLE.com:8080',
    '10.0.0.1',
    '10.0.0.1:65535',
    '[::1]',
    '[2001:db8::1]:443',
    'a-b_c~d.e',
    'x%41y',
    '',
  ]) {
    const { head } = parseRequest(`GET / HTTP/1.1\r\nHost: ${host}\r\n\r\n`);
    assert.equal(head.host, host, host);
  }
});

test('common methods and any other token method are accepted, case-sensitive', () => {
  for (const method of ['GET', 'POST', 'PUT', 'DELETE', 'PATCH', 'HEAD', 'OPTIONS', 'PROPFIND', 'get', 'X-CUSTOM!']) {
    assert.equal(parseRequest(`${method} / HTTP/1.1\r\nHost: a\r\n\r\n`).head.method, method);
  }
});

test('limits exactly at the bound are accepted', () => {
  const limits = { requestLine: 20, headerSize: 26, headerCount: 2 };
  const line = 'GET /123456 HTTP/1.1'; // 20 bytes
  const fields = 'Host: a\r\nX-Ab: 1234567\r\n\r\n'; // 26 bytes, 2 lines
  assert.equal(line.length, 20);
  assert.equal(fields.length, 26);
  const { head } = parseRequest(`${line}\r\n${fields}`, limits);
  assert.deepEqual(head.headers, ['Host', 'a', 'X-Ab', '1234567']);
});
