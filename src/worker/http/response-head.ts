// Parses and validates a server's response head (RFC 9112 §4, §5, §6) and decides how its
// body is delimited. Every error is a 502 for the client: a server that frames ambiguously
// must not get its bytes forwarded.

import { FIELD_VALUE } from './char-classes.js';
import { HttpParseError } from './errors.js';
import { parseHeaderSection } from './header-section.js';
import { startLineEnd } from './start-line.js';
import { DEFAULT_PARSE_LIMITS, type ParseLimits } from './limits.js';

/** A parsed response head. */
export interface ResponseHead {
  /** HTTP/1.0 or HTTP/1.1. */
  versionMinor: 0 | 1;
  /** 100..599. */
  status: number;
  /** Reason phrase as received, possibly empty. */
  reason: string;
  /** Flat [name, value, name, value, ...]: names as received, values without surrounding OWS. */
  headers: string[];
  /** -1 when absent, and when Transfer-Encoding is present (it wins over Content-Length). */
  contentLength: number;
  /** Transfer-Encoding ends with chunked. */
  chunked: boolean;
  /**
   * The connection must close after this response: Transfer-Encoding came with
   * Content-Length (RFC 9112 §6.3 item 3), or its final coding is not chunked (item 4).
   */
  closeAfter: boolean;
  /** HTTP/1.1 unless "Connection: close"; HTTP/1.0 only with "Connection: keep-alive"; never with closeAfter. */
  keepAlive: boolean;
  /** Lower-cased tokens of all Connection headers. */
  connectionTokens: string[];
  /** Upgrade value when Connection lists "upgrade" (for checking a 101). */
  upgrade: string | undefined;
  /** end - start: the head's length in the buffer. */
  headBytes: number;
}

/** How a response body ends (RFC 9112 §6.3). */
export type BodyFraming =
  | { readonly kind: 'none' }
  | { readonly kind: 'length'; readonly length: number }
  | { readonly kind: 'chunked' }
  | { readonly kind: 'close' }
  | { readonly kind: 'tunnel' };

const SP = 0x20;
const LF = 0x0a;

/**
 * Parses the response head in buf[start, end), `end` being the value HeadScanner.scan
 * returned for kind 'response' (the head must have passed the scanner: field values are not
 * re-checked byte by byte for CTLs). Throws HttpParseError (kind 'response', status 502).
 */
export function parseResponseHead(buf: Buffer, start: number, end: number, limits: ParseLimits = DEFAULT_PARSE_LIMITS): ResponseHead {
  const lineEnd = startLineEnd(buf, start, end, limits, 'response');

  // status-line = HTTP-version SP status-code SP [reason-phrase]; a missing second SP before
  // an empty reason is tolerated (common, and it cannot change the framing).
  const major = buf[start + 5] - 0x30;
  const minor = buf[start + 7] - 0x30;
  if (
    lineEnd - start < 12 ||
    buf[start] !== 0x48 ||
    buf[start + 1] !== 0x54 ||
    buf[start + 2] !== 0x54 ||
    buf[start + 3] !== 0x50 ||
    buf[start + 4] !== 0x2f ||
    buf[start + 6] !== 0x2e ||
    !(major >= 0 && major <= 9) ||
    !(minor >= 0 && minor <= 9) ||
    buf[start + 8] !== SP
  ) {
    throw new HttpParseError('response', 502, 'malformed status line');
  }
  if (major !== 1 || minor > 1) throw new HttpParseError('response', 502, 'HTTP version not supported');
  const d0 = buf[start + 9] - 0x30;
  const d1 = buf[start + 10] - 0x30;
  const d2 = buf[start + 11] - 0x30;
  if (!(d0 >= 1 && d0 <= 5) || !(d1 >= 0 && d1 <= 9) || !(d2 >= 0 && d2 <= 9) || (lineEnd > start + 12 && buf[start + 12] !== SP)) {
    throw new HttpParseError('response', 502, 'invalid status code');
  }
  const status = d0 * 100 + d1 * 10 + d2;
  let i = start + 13;
  while (i < lineEnd && FIELD_VALUE[buf[i]] === 1) i++;
  if (i < lineEnd) {
    throw new HttpParseError('response', 502, buf[i] === LF ? 'bare LF in status line' : 'invalid reason phrase character');
  }
  // One latin1 decode for the whole head; every string is a slice of it.
  const text = buf.toString('latin1', start, end);
  const reason = lineEnd > start + 13 ? text.slice(13, lineEnd - start) : '';

  const section = parseHeaderSection(buf, text, start, lineEnd + 2, end, limits, 'response');

  const transferEncoded = section.transferCodings > 0;
  if (transferEncoded) {
    // An HTTP/1.0 message with Transfer-Encoding has faulty framing (RFC 9112 §6.1).
    if (minor === 0) throw new HttpParseError('response', 502, 'Transfer-Encoding in HTTP/1.0 response');
    if (section.chunkedCount > 1) throw new HttpParseError('response', 502, 'chunked applied more than once');
  }
  const chunked = transferEncoded && section.chunkedLast;
  const closeAfter = transferEncoded && (section.contentLength !== -1 || !chunked);

  return {
    versionMinor: minor as 0 | 1,
    status,
    reason,
    headers: section.headers,
    contentLength: transferEncoded ? -1 : section.contentLength,
    chunked,
    closeAfter,
    keepAlive: !section.connectionClose && !closeAfter && (minor === 1 || section.connectionKeepAlive),
    connectionTokens: section.connectionTokens,
    upgrade: section.connectionUpgrade ? section.upgrade : undefined,
    headBytes: end - start,
  };
}

const NONE: BodyFraming = Object.freeze({ kind: 'none' });
const CHUNKED: BodyFraming = Object.freeze({ kind: 'chunked' });
const CLOSE: BodyFraming = Object.freeze({ kind: 'close' });
const TUNNEL: BodyFraming = Object.freeze({ kind: 'tunnel' });

/**
 * How the body of `head`, answering a `requestMethod` request, is delimited (RFC 9112 §6.3):
 * 101 → tunnel (the connection switched protocols); HEAD, other 1xx, 204, 304 → none (a 1xx
 * is interim: another head follows); 2xx to CONNECT → tunnel; chunked → chunked;
 * Content-Length → length (possibly 0); otherwise close-delimited.
 */
export function responseBodyFraming(head: ResponseHead, requestMethod: string): BodyFraming {
  const status = head.status;
  if (status === 101) return TUNNEL;
  if (requestMethod === 'HEAD' || status < 200 || status === 204 || status === 304) return NONE;
  if (requestMethod === 'CONNECT' && status < 300) return TUNNEL;
  if (head.chunked) return CHUNKED;
  if (head.contentLength >= 0) return { kind: 'length', length: head.contentLength };
  return CLOSE;
}
