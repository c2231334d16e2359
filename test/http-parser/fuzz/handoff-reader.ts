// Reads a byte stream of requests the way a handoff connection does (HeadScanner.scan,
// parseRequestHead, then the body by Content-Length or ChunkedTracker, pipelined requests
// in order) and says which requests it accepted and how it refused, if it did.
import { ChunkedTracker } from '../../../src/worker/http/chunked-tracker.js';
import { HttpParseError } from '../../../src/worker/http/errors.js';
import { HeadScanner } from '../../../src/worker/http/head-scanner.js';
import { DEFAULT_PARSE_LIMITS } from '../../../src/worker/http/limits.js';
import { parseRequestHead } from '../../../src/worker/http/request-head.js';

export interface AcceptedRequest {
  readonly method: string;
  readonly target: string;
  /** Several Content-Length values ("5, 5" or two lines of one value: handoff accepts them, llhttp does not). */
  readonly repeatedContentLength: boolean;
}

export interface StreamReading {
  /** Requests whose head was accepted, in order. */
  readonly accepted: AcceptedRequest[];
  readonly refusal?: { status: number; reason: string };
  /** Why reading stopped without a refusal. */
  readonly end?: 'eof' | 'incomplete' | 'close';
}

export function readRequests(buf: Buffer): StreamReading {
  const accepted: AcceptedRequest[] = [];
  const scanner = new HeadScanner();
  let pos = 0;
  // Every turn consumes at least one byte (a head ends in CRLFCRLF) or returns: no loop.
  try {
    while (pos < buf.length) {
      scanner.reset();
      const end = scanner.scan(buf, pos, buf.length, DEFAULT_PARSE_LIMITS, 'request');
      if (end === -1) return { accepted, end: 'incomplete' };
      const head = parseRequestHead(buf, pos + scanner.skipped, end, DEFAULT_PARSE_LIMITS);
      const lengths = head.headers.flatMap((v, i) => (i % 2 === 0 && v.toLowerCase() === 'content-length' ? [head.headers[i + 1]!] : []));
      accepted.push({
        method: head.method,
        target: head.target,
        repeatedContentLength: lengths.length > 1 || lengths.some((v) => v.includes(',')),
      });
      pos = end;
      if (head.chunked) {
        const tracker = new ChunkedTracker('request', DEFAULT_PARSE_LIMITS);
        pos += tracker.feed(buf, pos, buf.length);
        if (!tracker.done) return { accepted, end: 'incomplete' };
      } else if (head.contentLength > 0) {
        if (pos + head.contentLength > buf.length) return { accepted, end: 'incomplete' };
        pos += head.contentLength;
      }
      if (!head.keepAlive) return { accepted, end: 'close' };
    }
    return { accepted, end: 'eof' };
  } catch (err) {
    if (err instanceof HttpParseError) return { accepted, refusal: { status: err.status, reason: err.reason } };
    throw err;
  }
}
