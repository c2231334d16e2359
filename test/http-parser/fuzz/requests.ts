// Generators of HTTP/1 request streams for the property-based parser tests: well-formed
// requests, and the pieces request smuggling is made of (duplicate or odd Content-Length,
// Transfer-Encoding variants, bare CR/LF, obs-fold, odd whitespace, chunk sizes and
// extensions), then byte-level mutations. Several messages per stream: pipelining is where
// two readers of one byte stream disagree on where a request ends.
import fc from 'fast-check';

const EOL = fc.constantFrom('\r\n', '\r\n', '\r\n', '\r\n', '\n', '\r', '\r\r\n');
// Methods llhttp knows (it refuses a token it does not know, e.g. "get", which handoff accepts: not a boundary question).
const METHOD = fc.constantFrom('GET', 'POST', 'PUT', 'HEAD', 'DELETE', 'OPTIONS', 'G ET', 'GET\t', '', 'PO\x00ST');
const TARGET = fc.constantFrom(
  '/',
  '/a/b?c=d',
  '/%2F..',
  'http://h.example/x',
  'http://h.example',
  '*',
  '',
  '/ /',
  '/\x7f',
  'h.example:80',
  '//x',
);
const VERSION = fc.constantFrom(
  'HTTP/1.1',
  'HTTP/1.1',
  'HTTP/1.1',
  'HTTP/1.0',
  'HTTP/1.2',
  'HTTP/2.0',
  'http/1.1',
  'HTTP/1.1 ',
  'HTTP/01.1',
  '',
);
const SEP = fc.constantFrom(': ', ': ', ':', ' : ', ':\t', ': \t');
const CL_VALUE = fc.constantFrom('0', '3', '5', '10', '+5', '-1', ' 5', '5 ', '5,5', '5, 6', '0x5', '05', '99999999999999999999', '');
const TE_VALUE = fc.constantFrom(
  'chunked',
  'chunked',
  'CHUNKED',
  ' chunked',
  'chunked ',
  'gzip, chunked',
  'chunked, gzip',
  'chunked, chunked',
  'identity',
  'x-chunked',
  'chunked;q=1',
  '\tchunked',
  'chunk\x0bed',
);
const HOST_VALUE = fc.constantFrom('h.example', 'h.example', 'h.example:8080', '', 'a b', 'h.example, other', '[::1]', 'x@h');

const field: fc.Arbitrary<string> = fc.oneof(
  { weight: 4, arbitrary: fc.tuple(SEP, CL_VALUE).map(([s, v]) => `Content-Length${s}${v}`) },
  { weight: 4, arbitrary: fc.tuple(SEP, TE_VALUE).map(([s, v]) => `Transfer-Encoding${s}${v}`) },
  { weight: 3, arbitrary: fc.tuple(SEP, HOST_VALUE).map(([s, v]) => `Host${s}${v}`) },
  {
    weight: 2,
    arbitrary: fc.constantFrom(
      'Connection: close',
      'Connection: keep-alive',
      'Connection: close, keep-alive',
      'Expect: 100-continue',
      'X-A: b',
      ' X-Folded: x',
      'X-B:  y ',
      'Content-Length : 5',
      'Transfer-Encoding : chunked',
      'X\x00: y',
      'X-Obs: a\r\n b',
      'Bad Name: x',
    ),
  },
);

/** A chunked body: sizes, extensions, trailers; sometimes wrong. */
const chunkedBody: fc.Arbitrary<string> = fc
  .tuple(
    fc.array(
      fc.tuple(
        fc.constantFrom('3', '5', 'a', 'A', '0003', '-1', '3;ext=1', '3 ', ' 3', 'ffffffffffffffffff', '3;\x00', ''),
        fc.constantFrom('abc', 'abcde', 'x', '0123456789'),
        EOL,
      ),
      { maxLength: 3 },
    ),
    fc.constantFrom('0\r\n\r\n', '0\r\n\r\n', '0\r\nX-T: v\r\n\r\n', '0\r\n', '0;x\r\n\r\n', '0\n\n', '00\r\n\r\n'),
  )
  .map(([chunks, last]) => chunks.map(([size, data, eol]) => `${size}${eol}${data}\r\n`).join('') + last);

const body: fc.Arbitrary<string> = fc.oneof(fc.constant(''), fc.constant(''), fc.constantFrom('abc', 'abcde', '0123456789'), chunkedBody);

/** One request: start line, fields, empty line, body (framing may disagree with the fields: that is the point). */
export const request: fc.Arbitrary<string> = fc
  .record({
    method: METHOD,
    target: TARGET,
    version: VERSION,
    eol: EOL,
    host: fc.boolean(),
    fields: fc.array(field, { maxLength: 5 }),
    body,
  })
  .map(({ method, target, version, eol, host, fields, body }) => {
    const lines = [`${method} ${target}${version === '' ? '' : ` ${version}`}`, ...(host ? ['Host: h.example'] : []), ...fields];
    return `${lines.join(eol) + eol}\r\n${body}`;
  });

const MUTATION_BYTES = [
  '\r',
  '\n',
  '\r\n',
  ' ',
  '\t',
  '\x00',
  '\x7f',
  ':',
  '0',
  'chunked',
  '\r\n\r\n',
  'Content-Length: 3\r\n',
  'Transfer-Encoding: chunked\r\n',
  '\xff',
];

/** A stream of 1-3 requests, then a few byte-level mutations (insertions and deletions). */
export const requestStream: fc.Arbitrary<Buffer> = fc
  .tuple(
    fc.array(request, { minLength: 1, maxLength: 3 }),
    fc.array(fc.tuple(fc.nat(), fc.oneof(fc.constantFrom(...MUTATION_BYTES), fc.constant(''))), { maxLength: 3 }),
  )
  .map(([reqs, mutations]) => {
    let s = reqs.join('');
    for (const [at, insert] of mutations) {
      const i = s.length === 0 ? 0 : at % s.length;
      s = insert === '' ? s.slice(0, i) + s.slice(i + 1) : s.slice(0, i) + insert + s.slice(i);
    }
    return Buffer.from(s, 'latin1');
  });
