// Cost of the HTTP/1 parsers on the proxy's hot path, in ns per message.
//   node dist/bench/http-parser.js [iterations]      (default 200000)
// Measures HeadScanner.scan + parseRequestHead on a typical ~400-byte browser request,
// HeadScanner.scan + parseResponseHead on a typical response head, and ChunkedTracker on
// a small chunked body. The budget for a whole proxied request is ~35µs of CPU.

import { ChunkedTracker } from '../src/worker/http/chunked-tracker.js';
import { HeadScanner } from '../src/worker/http/head-scanner.js';
import { DEFAULT_PARSE_LIMITS } from '../src/worker/http/limits.js';
import { parseRequestHead } from '../src/worker/http/request-head.js';
import { parseResponseHead, responseBodyFraming } from '../src/worker/http/response-head.js';

const request = Buffer.from(
  'GET /apps/dashboard/index.html?tab=overview&page=2 HTTP/1.1\r\n' +
    'Host: webshell-alice.example.com\r\n' +
    'User-Agent: Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Firefox/128.0\r\n' +
    'Accept: text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8\r\n' +
    'Accept-Language: en-US,en;q=0.5\r\n' +
    'Accept-Encoding: gzip, deflate, br, zstd\r\n' +
    'Connection: keep-alive\r\n' +
    'Cookie: session=4f2a9c1e7b3d8a6f0e5c2b1a9d8e7f6a\r\n' +
    'Upgrade-Insecure-Requests: 1\r\n' +
    'Priority: u=0, i\r\n' +
    '\r\n',
  'latin1',
);

const response = Buffer.from(
  'HTTP/1.1 200 OK\r\n' +
    'Date: Tue, 14 Jan 2025 10:12:31 GMT\r\n' +
    'Content-Type: text/html; charset=utf-8\r\n' +
    'Content-Length: 5120\r\n' +
    'Cache-Control: no-cache\r\n' +
    'ETag: "5f3a-1c2b3d4e"\r\n' +
    'Vary: Accept-Encoding\r\n' +
    'X-Served-By: a1\r\n' +
    '\r\n',
  'latin1',
);

const chunkedBody = Buffer.from(
  `400;name=value\r\n${'x'.repeat(1024)}\r\n200\r\n${'y'.repeat(512)}\r\n0\r\nX-Checksum: abc\r\n\r\n`,
  'latin1',
);

const iterations = Number(process.argv[2] ?? 200_000);
if (!Number.isInteger(iterations) || iterations < 1) {
  console.error('usage: node http-parser.js [iterations]');
  process.exit(2);
}

let sink = 0; // keeps the work observable so it cannot be optimised away

function requestOnce(scanner: HeadScanner): void {
  scanner.reset();
  const end = scanner.scan(request, 0, request.length, DEFAULT_PARSE_LIMITS, 'request');
  const head = parseRequestHead(request, scanner.skipped, end, DEFAULT_PARSE_LIMITS);
  sink += head.headers.length;
}

function responseOnce(scanner: HeadScanner): void {
  scanner.reset();
  const end = scanner.scan(response, 0, response.length, DEFAULT_PARSE_LIMITS, 'response');
  const head = parseResponseHead(response, 0, end, DEFAULT_PARSE_LIMITS);
  sink += head.headers.length + responseBodyFraming(head, 'GET').kind.length;
}

function chunkedOnce(tracker: ChunkedTracker): void {
  tracker.reset();
  sink += tracker.feed(chunkedBody, 0, chunkedBody.length);
}

function measure<T>(name: string, bytes: number, state: T, once: (state: T) => void): void {
  for (let i = 0; i < Math.min(iterations, 20_000); i++) once(state); // warm up the JIT
  const t0 = process.hrtime.bigint();
  for (let i = 0; i < iterations; i++) once(state);
  const ns = Number(process.hrtime.bigint() - t0) / iterations;
  console.log(`${name.padEnd(40)} ${String(bytes).padStart(5)} bytes  ${ns.toFixed(0).padStart(6)} ns/op  ${(bytes / ns).toFixed(2)} GB/s`);
}

console.log(`node ${process.version}, ${iterations} iterations each`);
measure('request head: scan + parseRequestHead', request.length, new HeadScanner(), requestOnce);
measure('response head: scan + parseResponseHead', response.length, new HeadScanner(), responseOnce);
measure('chunked body: ChunkedTracker.feed', chunkedBody.length, new ChunkedTracker('response'), chunkedOnce);
if (sink === 0) console.log('(nothing parsed?)');
