// Every request the parsers must refuse, with the exact status and reason. Most of these
// are request smuggling vectors: messages two HTTP implementations could frame differently.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseRequestHead } from '../../src/worker/http/request-head.js';
import { bytes, refusal, requestRefusal, type Refusal } from './parse.js';

interface Case {
  name: string;
  raw: string;
  refusal: Refusal;
}

const H = 'Host: a\r\n';
const bad = (reason: string): Refusal => ({ status: 400, reason });

const cases: Case[] = [
  // Line endings
  { name: 'bare CR in the request line', raw: `GET / HTTP/1.1\r${H}\r\n`, refusal: bad('bare CR in header block') },
  { name: 'bare CR in a header value', raw: `GET / HTTP/1.1\r\nX: a\rb\r\n${H}\r\n`, refusal: bad('bare CR in header block') },
  { name: 'bare CR as a line end', raw: `GET / HTTP/1.1\r\n${H}X: a\r\r\n\r\n`, refusal: bad('bare CR in header block') },
  { name: 'bare LF in the request line', raw: `GET / HTTP/1.1\n${H}\r\n`, refusal: bad('bare LF in header block') },
  { name: 'bare LF inside the request line', raw: `GET /\n HTTP/1.1\r\n${H}\r\n`, refusal: bad('bare LF in header block') },
  { name: 'bare LF in a header', raw: `GET / HTTP/1.1\r\nX: a\nb\r\n${H}\r\n`, refusal: bad('bare LF in header block') },
  { name: 'bare LF ending a header line', raw: `GET / HTTP/1.1\r\nX: a\n${H}\r\n`, refusal: bad('bare LF in header block') },
  { name: 'bare LF as the head terminator', raw: `GET / HTTP/1.1\r\n${H}\n`, refusal: bad('bare LF in header block') },
  { name: 'LF-only head', raw: `GET / HTTP/1.1\n${H.replace('\r', '')}\n`, refusal: bad('bare LF in header block') },
  { name: 'bare LF before the request line', raw: `\nGET / HTTP/1.1\r\n${H}\r\n`, refusal: bad('bare LF in header block') },

  // Field line syntax
  { name: 'obs-fold', raw: `GET / HTTP/1.1\r\n${H}X-A: b\r\n c\r\n\r\n`, refusal: bad('obs-fold (header line starts with whitespace)') },
  {
    name: 'obs-fold with HTAB',
    raw: `GET / HTTP/1.1\r\n${H}X-A: b\r\n\tc\r\n\r\n`,
    refusal: bad('obs-fold (header line starts with whitespace)'),
  },
  {
    name: 'whitespace before the first field line',
    raw: `GET / HTTP/1.1\r\n ${H}\r\n`,
    refusal: bad('obs-fold (header line starts with whitespace)'),
  },
  { name: 'space before colon', raw: `GET / HTTP/1.1\r\nHost : a\r\n\r\n`, refusal: bad('whitespace before colon') },
  { name: 'tab before colon', raw: `GET / HTTP/1.1\r\n${H}Content-Length\t: 5\r\n\r\n`, refusal: bad('whitespace before colon') },
  { name: 'invalid name character "("', raw: `GET / HTTP/1.1\r\n${H}X(A): b\r\n\r\n`, refusal: bad('invalid header name character') },
  { name: 'invalid name character "@"', raw: `GET / HTTP/1.1\r\n${H}X@: b\r\n\r\n`, refusal: bad('invalid header name character') },
  {
    name: 'invalid name character "/"',
    raw: `GET / HTTP/1.1\r\n${H}Content/Length: 5\r\n\r\n`,
    refusal: bad('invalid header name character'),
  },
  { name: 'obs-text in a name', raw: `GET / HTTP/1.1\r\n${H}X\u00e9: b\r\n\r\n`, refusal: bad('invalid header name character') },
  { name: 'empty name', raw: `GET / HTTP/1.1\r\n${H}: b\r\n\r\n`, refusal: bad('empty header name') },
  { name: 'line without colon', raw: `GET / HTTP/1.1\r\n${H}Content-Length 5\r\n\r\n`, refusal: bad('whitespace before colon') },
  { name: 'name without colon', raw: `GET / HTTP/1.1\r\n${H}X-Flag\r\n\r\n`, refusal: bad('header line without colon') },
  { name: 'NUL in a value', raw: `GET / HTTP/1.1\r\n${H}X: a\u0000b\r\n\r\n`, refusal: bad('control character in header block') },
  { name: 'DEL in a value', raw: `GET / HTTP/1.1\r\n${H}X: a\u007fb\r\n\r\n`, refusal: bad('control character in header block') },
  { name: 'VT in a value', raw: `GET / HTTP/1.1\r\n${H}X: a\u000bb\r\n\r\n`, refusal: bad('control character in header block') },
  { name: 'ESC in a name', raw: `GET / HTTP/1.1\r\n${H}X\u001b: b\r\n\r\n`, refusal: bad('control character in header block') },
  { name: 'NUL in the request line', raw: `GET /\u0000 HTTP/1.1\r\n${H}\r\n`, refusal: bad('control character in header block') },

  // Request line
  { name: 'invalid method character', raw: `G(ET / HTTP/1.1\r\n${H}\r\n`, refusal: bad('invalid method character') },
  { name: 'method with obs-text', raw: `G\u00c9T / HTTP/1.1\r\n${H}\r\n`, refusal: bad('invalid method character') },
  { name: 'empty method (leading space)', raw: ` GET / HTTP/1.1\r\n${H}\r\n`, refusal: bad('malformed request line') },
  { name: 'tab as separator', raw: `GET\t/ HTTP/1.1\r\n${H}\r\n`, refusal: bad('malformed request line') },
  { name: 'two spaces after the method', raw: `GET  / HTTP/1.1\r\n${H}\r\n`, refusal: bad('malformed request line') },
  { name: 'two spaces before the version', raw: `GET /  HTTP/1.1\r\n${H}\r\n`, refusal: bad('malformed request line') },
  { name: 'trailing space', raw: `GET / HTTP/1.1 \r\n${H}\r\n`, refusal: bad('malformed request line') },
  { name: 'space inside the target', raw: `GET /a b HTTP/1.1\r\n${H}\r\n`, refusal: bad('malformed request line') },
  {
    name: 'no version (HTTP/0.9 style)',
    raw: `GET /\r\n${H}\r\n`,
    refusal: bad('malformed request line (no HTTP version: HTTP/0.9 is not served)'),
  },
  { name: 'only a method', raw: `GET\r\n${H}\r\n`, refusal: bad('malformed request line (no HTTP version: HTTP/0.9 is not served)') },
  { name: 'fragment in the target', raw: `GET /a#b HTTP/1.1\r\n${H}\r\n`, refusal: bad('invalid request-target character') },
  { name: 'obs-text in the target', raw: `GET /caf\u00e9 HTTP/1.1\r\n${H}\r\n`, refusal: bad('invalid request-target character') },
  { name: 'lowercase version http/1.1', raw: `GET / http/1.1\r\n${H}\r\n`, refusal: bad('invalid HTTP version') },
  { name: 'version HTTP/1', raw: `GET / HTTP/1\r\n${H}\r\n`, refusal: bad('invalid HTTP version') },
  { name: 'version HTTP/1.10', raw: `GET / HTTP/1.10\r\n${H}\r\n`, refusal: bad('invalid HTTP version') },
  { name: 'version garbage', raw: `GET / HTXP/1.1\r\n${H}\r\n`, refusal: bad('invalid HTTP version') },
  { name: 'HTTP/2.0', raw: `GET / HTTP/2.0\r\n${H}\r\n`, refusal: { status: 505, reason: 'HTTP version not supported' } },
  { name: 'HTTP/1.2', raw: `GET / HTTP/1.2\r\n${H}\r\n`, refusal: { status: 505, reason: 'HTTP version not supported' } },
  { name: 'HTTP/0.9', raw: `GET / HTTP/0.9\r\n${H}\r\n`, refusal: { status: 505, reason: 'HTTP version not supported' } },

  // Target forms
  { name: 'asterisk-form with GET', raw: `GET * HTTP/1.1\r\n${H}\r\n`, refusal: bad('asterisk-form target only with OPTIONS') },
  { name: 'authority-form with GET', raw: `GET a.example:80 HTTP/1.1\r\n${H}\r\n`, refusal: bad('invalid request-target form') },
  { name: 'relative target', raw: `GET index.html HTTP/1.1\r\n${H}\r\n`, refusal: bad('invalid request-target form') },
  {
    name: 'absolute-form with another scheme',
    raw: `GET ftp://a.example/ HTTP/1.1\r\n${H}\r\n`,
    refusal: bad('invalid request-target form'),
  },
  {
    name: 'absolute-form with userinfo',
    raw: `GET http://user@a.example/ HTTP/1.1\r\n${H}\r\n`,
    refusal: bad('invalid authority in request-target'),
  },
  {
    name: 'absolute-form with an empty host',
    raw: `GET http:///x HTTP/1.1\r\n${H}\r\n`,
    refusal: bad('invalid authority in request-target'),
  },
  {
    name: 'absolute-form with a bad port',
    raw: `GET http://a.example:99999/ HTTP/1.1\r\n${H}\r\n`,
    refusal: bad('invalid authority in request-target'),
  },
  { name: 'CONNECT with origin-form', raw: `CONNECT /x HTTP/1.1\r\n${H}\r\n`, refusal: bad('CONNECT target is not host:port') },
  { name: 'CONNECT without a port', raw: `CONNECT a.example HTTP/1.1\r\n${H}\r\n`, refusal: bad('CONNECT target is not host:port') },
  {
    name: 'CONNECT with absolute-form',
    raw: `CONNECT http://a.example:80/ HTTP/1.1\r\n${H}\r\n`,
    refusal: bad('CONNECT target is not host:port'),
  },
  { name: 'asterisk-form with more', raw: `OPTIONS *x HTTP/1.1\r\n${H}\r\n`, refusal: bad('invalid request-target form') },

  // Content-Length
  {
    name: 'Content-Length with Transfer-Encoding',
    raw: `POST / HTTP/1.1\r\n${H}Content-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n`,
    refusal: bad('Content-Length and Transfer-Encoding together'),
  },
  {
    name: 'Transfer-Encoding with Content-Length',
    raw: `POST / HTTP/1.1\r\n${H}Transfer-Encoding: chunked\r\nContent-Length: 0\r\n\r\n`,
    refusal: bad('Content-Length and Transfer-Encoding together'),
  },
  {
    name: 'two different Content-Lengths',
    raw: `POST / HTTP/1.1\r\n${H}Content-Length: 5\r\nContent-Length: 6\r\n\r\n`,
    refusal: bad('conflicting Content-Length values'),
  },
  {
    name: 'Content-Length "5, 6"',
    raw: `POST / HTTP/1.1\r\n${H}Content-Length: 5, 6\r\n\r\n`,
    refusal: bad('conflicting Content-Length values'),
  },
  {
    name: 'Content-Length "5, 5" then 6',
    raw: `POST / HTTP/1.1\r\n${H}Content-Length: 5, 5\r\ncontent-length: 6\r\n\r\n`,
    refusal: bad('conflicting Content-Length values'),
  },
  { name: 'Content-Length "+5"', raw: `POST / HTTP/1.1\r\n${H}Content-Length: +5\r\n\r\n`, refusal: bad('invalid Content-Length') },
  { name: 'Content-Length "-1"', raw: `POST / HTTP/1.1\r\n${H}Content-Length: -1\r\n\r\n`, refusal: bad('invalid Content-Length') },
  { name: 'Content-Length "5a"', raw: `POST / HTTP/1.1\r\n${H}Content-Length: 5a\r\n\r\n`, refusal: bad('invalid Content-Length') },
  { name: 'Content-Length "0x5"', raw: `POST / HTTP/1.1\r\n${H}Content-Length: 0x5\r\n\r\n`, refusal: bad('invalid Content-Length') },
  { name: 'Content-Length "1 0"', raw: `POST / HTTP/1.1\r\n${H}Content-Length: 1 0\r\n\r\n`, refusal: bad('invalid Content-Length') },
  { name: 'Content-Length "5.0"', raw: `POST / HTTP/1.1\r\n${H}Content-Length: 5.0\r\n\r\n`, refusal: bad('invalid Content-Length') },
  { name: 'Content-Length empty', raw: `POST / HTTP/1.1\r\n${H}Content-Length: \r\n\r\n`, refusal: bad('invalid Content-Length') },
  { name: 'Content-Length "5,"', raw: `POST / HTTP/1.1\r\n${H}Content-Length: 5,\r\n\r\n`, refusal: bad('invalid Content-Length') },
  { name: 'Content-Length ", 5"', raw: `POST / HTTP/1.1\r\n${H}Content-Length: , 5\r\n\r\n`, refusal: bad('invalid Content-Length') },
  {
    name: 'Content-Length 2^53',
    raw: `POST / HTTP/1.1\r\n${H}Content-Length: 9007199254740992\r\n\r\n`,
    refusal: bad('Content-Length too large'),
  },
  {
    name: 'Content-Length overflow',
    raw: `POST / HTTP/1.1\r\n${H}Content-Length: 99999999999999999999999\r\n\r\n`,
    refusal: bad('Content-Length too large'),
  },

  // Transfer-Encoding
  {
    name: 'TE "chunked, gzip" (chunked not final)',
    raw: `POST / HTTP/1.1\r\n${H}Transfer-Encoding: chunked, gzip\r\n\r\n`,
    refusal: bad('final transfer coding is not chunked'),
  },
  {
    name: 'TE chunked then gzip on two lines',
    raw: `POST / HTTP/1.1\r\n${H}Transfer-Encoding: chunked\r\nTransfer-Encoding: gzip\r\n\r\n`,
    refusal: bad('final transfer coding is not chunked'),
  },
  {
    name: 'TE "gzip" alone',
    raw: `POST / HTTP/1.1\r\n${H}Transfer-Encoding: gzip\r\n\r\n`,
    refusal: bad('final transfer coding is not chunked'),
  },
  {
    name: 'TE "identity"',
    raw: `POST / HTTP/1.1\r\n${H}Transfer-Encoding: identity\r\n\r\n`,
    refusal: bad('final transfer coding is not chunked'),
  },
  {
    name: 'TE "chunked, chunked"',
    raw: `POST / HTTP/1.1\r\n${H}Transfer-Encoding: chunked, chunked\r\n\r\n`,
    refusal: bad('chunked applied more than once'),
  },
  {
    name: 'TE chunked on two lines',
    raw: `POST / HTTP/1.1\r\n${H}Transfer-Encoding: chunked\r\ntransfer-encoding: Chunked\r\n\r\n`,
    refusal: bad('chunked applied more than once'),
  },
  {
    name: 'TE in HTTP/1.0',
    raw: `POST / HTTP/1.0\r\nTransfer-Encoding: chunked\r\n\r\n`,
    refusal: bad('Transfer-Encoding in HTTP/1.0 request'),
  },
  {
    name: 'TE "chunked\\x0b"',
    raw: `POST / HTTP/1.1\r\n${H}Transfer-Encoding: chunked\u000b\r\n\r\n`,
    refusal: bad('control character in header block'),
  },
  {
    name: 'TE "chunked\\x00"',
    raw: `POST / HTTP/1.1\r\n${H}Transfer-Encoding: chunked\u0000\r\n\r\n`,
    refusal: bad('control character in header block'),
  },
  { name: 'TE "chunk ed"', raw: `POST / HTTP/1.1\r\n${H}Transfer-Encoding: chunk ed\r\n\r\n`, refusal: bad('invalid Transfer-Encoding') },
  { name: 'TE quoted', raw: `POST / HTTP/1.1\r\n${H}Transfer-Encoding: "chunked"\r\n\r\n`, refusal: bad('invalid Transfer-Encoding') },
  { name: 'TE "chunked,"', raw: `POST / HTTP/1.1\r\n${H}Transfer-Encoding: chunked,\r\n\r\n`, refusal: bad('empty transfer coding') },
  { name: 'TE ", chunked"', raw: `POST / HTTP/1.1\r\n${H}Transfer-Encoding: , chunked\r\n\r\n`, refusal: bad('empty transfer coding') },
  { name: 'TE empty', raw: `POST / HTTP/1.1\r\n${H}Transfer-Encoding:\r\n\r\n`, refusal: bad('empty transfer coding') },
  {
    name: 'TE "xchunked"',
    raw: `POST / HTTP/1.1\r\n${H}Transfer-Encoding: xchunked\r\n\r\n`,
    refusal: bad('final transfer coding is not chunked'),
  },
  {
    name: 'TE unknown coding before chunked',
    raw: `POST / HTTP/1.1\r\n${H}Transfer-Encoding: foo, chunked\r\n\r\n`,
    refusal: { status: 501, reason: 'unsupported transfer coding' },
  },
  {
    name: 'TE coding with a parameter',
    raw: `POST / HTTP/1.1\r\n${H}Transfer-Encoding: chunked;q=1\r\n\r\n`,
    refusal: { status: 501, reason: 'transfer coding parameters not supported' },
  },

  // Host
  { name: 'HTTP/1.1 without Host', raw: 'GET / HTTP/1.1\r\nX: y\r\n\r\n', refusal: bad('missing Host header') },
  { name: 'two Host headers', raw: `GET / HTTP/1.1\r\n${H}host: b\r\n\r\n`, refusal: bad('more than one Host header') },
  { name: 'two identical Host headers', raw: `GET / HTTP/1.1\r\n${H}${H}\r\n`, refusal: bad('more than one Host header') },
  { name: 'two Host headers in HTTP/1.0', raw: `GET / HTTP/1.0\r\n${H}Host: b\r\n\r\n`, refusal: bad('more than one Host header') },
  { name: 'absolute-form without Host', raw: 'GET http://a.example/ HTTP/1.1\r\n\r\n', refusal: bad('missing Host header') },
  { name: 'Host with a space', raw: 'GET / HTTP/1.1\r\nHost: a b\r\n\r\n', refusal: bad('invalid Host header') },
  { name: 'Host with userinfo', raw: 'GET / HTTP/1.1\r\nHost: u@a\r\n\r\n', refusal: bad('invalid Host header') },
  { name: 'Host with a path', raw: 'GET / HTTP/1.1\r\nHost: a/b\r\n\r\n', refusal: bad('invalid Host header') },
  { name: 'Host port out of range', raw: 'GET / HTTP/1.1\r\nHost: a:65536\r\n\r\n', refusal: bad('invalid Host header') },
  { name: 'Host with an empty port', raw: 'GET / HTTP/1.1\r\nHost: a:\r\n\r\n', refusal: bad('invalid Host header') },
  { name: 'Host with a non-numeric port', raw: 'GET / HTTP/1.1\r\nHost: a:8o\r\n\r\n', refusal: bad('invalid Host header') },
  { name: 'Host with two ports', raw: 'GET / HTTP/1.1\r\nHost: a:80:81\r\n\r\n', refusal: bad('invalid Host header') },
  { name: 'Host IPv6 unclosed', raw: 'GET / HTTP/1.1\r\nHost: [::1\r\n\r\n', refusal: bad('invalid Host header') },
  { name: 'Host IPv6 invalid', raw: 'GET / HTTP/1.1\r\nHost: [::g]\r\n\r\n', refusal: bad('invalid Host header') },
  { name: 'Host IPv6 zone', raw: 'GET / HTTP/1.1\r\nHost: [fe80::1%25eth0]\r\n\r\n', refusal: bad('invalid Host header') },
  { name: 'Host with a bad percent-encoding', raw: 'GET / HTTP/1.1\r\nHost: a%zz\r\n\r\n', refusal: bad('invalid Host header') },
  { name: 'Host with obs-text', raw: 'GET / HTTP/1.1\r\nHost: caf\u00e9\r\n\r\n', refusal: bad('invalid Host header') },

  // Connection
  {
    name: 'Connection with a non-token',
    raw: `GET / HTTP/1.1\r\n${H}Connection: close;x\r\n\r\n`,
    refusal: bad('invalid Connection header'),
  },
];

for (const c of cases) {
  test(`refused: ${c.name}`, () => {
    assert.deepEqual(requestRefusal(c.raw), c.refusal);
  });
}

test('request line over limits.requestLine → 414, header section over limits.headerSize or headerCount → 431', () => {
  const limits = { requestLine: 20, headerSize: 26, headerCount: 2 };
  assert.deepEqual(requestRefusal(`GET /1234567 HTTP/1.1\r\n${H}\r\n`, limits), { status: 414, reason: 'request line too long' });
  assert.deepEqual(requestRefusal(`GET / HTTP/1.1\r\nHost: a\r\nX-Ab: 123456789\r\n\r\n`, limits), {
    status: 431,
    reason: 'header section too large',
  });
  assert.deepEqual(requestRefusal(`GET / HTTP/1.1\r\nHost: a\r\nX: 1\r\nY: 2\r\n\r\n`, limits), {
    status: 431,
    reason: 'too many header fields',
  });
  // With the defaults: an 8193-byte request line, a 32769-byte section, 101 fields.
  assert.deepEqual(requestRefusal(`GET /${'a'.repeat(8192 - 13)} HTTP/1.1\r\n${H}\r\n`), { status: 414, reason: 'request line too long' });
  assert.deepEqual(requestRefusal(`GET / HTTP/1.1\r\n${H}X: ${'v'.repeat(32768)}\r\n\r\n`), {
    status: 431,
    reason: 'header section too large',
  });
  assert.deepEqual(requestRefusal(`GET / HTTP/1.1\r\n${H}${'X: 1\r\n'.repeat(100)}\r\n`), {
    status: 431,
    reason: 'too many header fields',
  });
});

test('the parser refuses on its own too (bad structure reaching it without the scanner)', () => {
  const parse = (raw: string) => refusal('request', () => parseRequestHead(bytes(raw), 0, raw.length));
  assert.deepEqual(parse('GET / HTTP/1.1\r\nHost: a\r\n'), bad('incomplete head'));
  assert.deepEqual(parse('\r\nGET / HTTP/1.1\r\nHost: a\r\n\r\n'), bad('malformed request line'));
  assert.deepEqual(parse('GET / HTTP/1.1\r\nHost: a\r\n X: b\r\n\r\n'), bad('obs-fold (header line starts with whitespace)'));
  assert.deepEqual(parse('GET / HTTP/1.1\nHost: a\r\n\r\n'), bad('bare LF in request line'));
  assert.deepEqual(parse('GET / HTTP/1.1\rHost: a\r\n\r\n'), bad('bare CR in request line'));
  assert.deepEqual(parse('GET / HTTP/1.1\r\nHost: a\rX: b\r\n\r\n'), bad('bare CR in header block'));
  assert.deepEqual(parse('GET / HTTP/1.1\r\nHost: a\r\nX\nY: b\r\n\r\n'), bad('bare LF in header block'));
});
