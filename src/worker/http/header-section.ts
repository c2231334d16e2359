// The field lines of a request or response head (RFC 9112 §5), parsed in one pass, with the
// framing and connection fields (Content-Length, Transfer-Encoding, Connection, Host,
// Upgrade, Expect) understood on the way. Shared by parseRequestHead and parseResponseHead;
// each applies its own rules to the result.

import { TCHAR, lowerAscii, tokenEquals } from './char-classes.js';
import { HttpParseError, type HttpMessageKind } from './errors.js';
import type { ParseLimits } from './limits.js';

/** What a header section says, before the request or response rules are applied. */
export interface HeaderSection {
  /** Flat [name, value, name, value, ...]: names as received, values without surrounding OWS. */
  headers: string[];
  /** -1 when absent; identical duplicates (also "5, 5") collapsed into one value. */
  contentLength: number;
  /** Transfer codings listed by all Transfer-Encoding lines together; 0 = no such header. */
  transferCodings: number;
  /** How many of them are "chunked". */
  chunkedCount: number;
  /** Whether the last one is "chunked". */
  chunkedLast: boolean;
  /** Whether a coding other than chunked, gzip, x-gzip, deflate, compress, x-compress is listed. */
  unknownCoding: boolean;
  /** Lower-cased tokens of all Connection lines. */
  connectionTokens: string[];
  /** Whether those tokens include close, keep-alive, upgrade. */
  connectionClose: boolean;
  connectionKeepAlive: boolean;
  connectionUpgrade: boolean;
  /** Number of Host lines, and the first one's value. */
  hostCount: number;
  host: string | undefined;
  /** Upgrade / Expect values, several lines joined with ", ". */
  upgrade: string | undefined;
  expect: string | undefined;
}

const HOST = lowerAscii('host');
const EXPECT = lowerAscii('expect');
const UPGRADE = lowerAscii('upgrade');
const CONNECTION = lowerAscii('connection');
const CONTENT_LENGTH = lowerAscii('content-length');
const TRANSFER_ENCODING = lowerAscii('transfer-encoding');

const CHUNKED = lowerAscii('chunked');
const GZIP = lowerAscii('gzip');
const X_GZIP = lowerAscii('x-gzip');
const DEFLATE = lowerAscii('deflate');
const COMPRESS = lowerAscii('compress');
const X_COMPRESS = lowerAscii('x-compress');

const SP = 0x20;
const HTAB = 0x09;
const CR = 0x0d;
const LF = 0x0a;
const COLON = 0x3a;
const COMMA = 0x2c;
const SEMICOLON = 0x3b;
const ZERO = 0x30;

/**
 * Parses the field lines in buf[pos, end) of a head accepted by HeadScanner.scan (so free of
 * CTLs other than HTAB, bare CR, bare LF and obs-fold: field values are not checked byte by
 * byte again), where `end` is just past the head's final CRLFCRLF (the caller has checked
 * those four bytes) and `pos` is the first byte after the start line. `text` is
 * buf[textStart, end) decoded as latin1: names and values are sliced from it, one decode per
 * head instead of two per field line. Enforces limits.headerSize (on end - pos) and
 * limits.headerCount.
 */
export function parseHeaderSection(
  buf: Buffer,
  text: string,
  textStart: number,
  pos: number,
  end: number,
  limits: ParseLimits,
  kind: HttpMessageKind,
): HeaderSection {
  if (end - pos > limits.headerSize) throw new HttpParseError(kind, 431, 'header section too large');
  const section: HeaderSection = {
    headers: [],
    contentLength: -1,
    transferCodings: 0,
    chunkedCount: 0,
    chunkedLast: false,
    unknownCoding: false,
    connectionTokens: [],
    connectionClose: false,
    connectionKeepAlive: false,
    connectionUpgrade: false,
    hostCount: 0,
    host: undefined,
    upgrade: undefined,
    expect: undefined,
  };
  const headers = section.headers;
  const tchar = TCHAR; // locals: an imported binding is re-read from the module on each use
  const last = end - 2; // the final empty line
  let lines = 0;
  while (pos < last) {
    const nameStart = pos;
    let c = buf[pos];
    while (tchar[c] === 1) c = buf[++pos];
    if (c !== COLON || pos === nameStart) throw nameError(buf, pos, nameStart, kind);
    const nameEnd = pos;
    c = buf[++pos];
    while (c === SP || c === HTAB) c = buf[++pos];
    const valueStart = pos;
    // The scanner has refused every CTL but HTAB and every CR not followed by LF in this
    // head, so the value is whatever lies before the next CR: found natively, not per byte.
    pos = buf.indexOf(CR, pos);
    if (buf[pos + 1] !== LF) throw new HttpParseError(kind, 400, 'bare CR in header block');
    let valueEnd = pos;
    while (valueEnd > valueStart && (buf[valueEnd - 1] === SP || buf[valueEnd - 1] === HTAB)) valueEnd--;
    pos += 2;
    if (++lines > limits.headerCount) throw new HttpParseError(kind, 431, 'too many header fields');

    const value = text.slice(valueStart - textStart, valueEnd - textStart);
    headers.push(text.slice(nameStart - textStart, nameEnd - textStart), value);
    // Only a few names matter here: compare lengths first, then bytes, no lower-casing.
    switch (nameEnd - nameStart) {
      case 4:
        if (tokenEquals(buf, nameStart, HOST)) {
          if (section.hostCount++ === 0) section.host = value;
        }
        break;
      case 6:
        if (tokenEquals(buf, nameStart, EXPECT)) section.expect = section.expect === undefined ? value : `${section.expect}, ${value}`;
        break;
      case 7:
        if (tokenEquals(buf, nameStart, UPGRADE)) section.upgrade = section.upgrade === undefined ? value : `${section.upgrade}, ${value}`;
        break;
      case 10:
        if (tokenEquals(buf, nameStart, CONNECTION)) connectionTokens(buf, valueStart, valueEnd, section, kind);
        break;
      case 14:
        if (tokenEquals(buf, nameStart, CONTENT_LENGTH)) {
          const n = contentLength(buf, valueStart, valueEnd, kind);
          if (section.contentLength !== -1 && section.contentLength !== n) {
            throw new HttpParseError(kind, 400, 'conflicting Content-Length values');
          }
          section.contentLength = n;
        }
        break;
      case 17:
        if (tokenEquals(buf, nameStart, TRANSFER_ENCODING)) transferCodings(buf, valueStart, valueEnd, section, kind);
        break;
    }
  }
  return section;
}

function nameError(buf: Buffer, pos: number, nameStart: number, kind: HttpMessageKind): HttpParseError {
  const c = buf[pos];
  let reason: string;
  if (c === COLON) reason = 'empty header name';
  else if ((c === SP || c === HTAB) && pos === nameStart) reason = 'obs-fold (header line starts with whitespace)';
  else if (c === SP || c === HTAB) reason = 'whitespace before colon';
  else if (c === LF) reason = 'bare LF in header block';
  else if (c === CR && buf[pos + 1] !== LF) reason = 'bare CR in header block';
  else if (c === CR) reason = 'header line without colon';
  else reason = 'invalid header name character';
  return new HttpParseError(kind, 400, reason);
}

/**
 * Content-Length = 1*DIGIT; the list form "5, 5" of identical values is accepted as one
 * (RFC 9110 §8.6). Signs, empty elements, other characters, differing values and values
 * over 2^53-1 are refused.
 */
function contentLength(buf: Buffer, i: number, end: number, kind: HttpMessageKind): number {
  let value = -1;
  for (;;) {
    const digitsStart = i;
    let n = 0;
    while (i < end) {
      const d = buf[i] - ZERO;
      if (d < 0 || d > 9) break;
      n = n * 10 + d;
      if (n > Number.MAX_SAFE_INTEGER) throw new HttpParseError(kind, 400, 'Content-Length too large');
      i++;
    }
    if (i === digitsStart) throw new HttpParseError(kind, 400, 'invalid Content-Length');
    if (value !== -1 && n !== value) throw new HttpParseError(kind, 400, 'conflicting Content-Length values');
    value = n;
    while (i < end && (buf[i] === SP || buf[i] === HTAB)) i++;
    if (i === end) return value;
    if (buf[i] !== COMMA) throw new HttpParseError(kind, 400, 'invalid Content-Length');
    i++;
    while (i < end && (buf[i] === SP || buf[i] === HTAB)) i++;
  }
}

/** Connection = #token; empty list elements are ignored (RFC 9110 §5.6.1). */
function connectionTokens(buf: Buffer, i: number, end: number, section: HeaderSection, kind: HttpMessageKind): void {
  while (i < end) {
    const tokenStart = i;
    while (i < end && TCHAR[buf[i]] === 1) i++;
    if (i > tokenStart) {
      const token = buf.toString('latin1', tokenStart, i).toLowerCase();
      section.connectionTokens.push(token);
      if (token === 'close') section.connectionClose = true;
      else if (token === 'keep-alive') section.connectionKeepAlive = true;
      else if (token === 'upgrade') section.connectionUpgrade = true;
    }
    while (i < end && (buf[i] === SP || buf[i] === HTAB)) i++;
    if (i === end) return;
    if (buf[i] !== COMMA) throw new HttpParseError(kind, 400, 'invalid Connection header');
    i++;
    while (i < end && (buf[i] === SP || buf[i] === HTAB)) i++;
  }
}

/**
 * Transfer-Encoding = #transfer-coding. Stricter than the list rule on purpose: an empty
 * element or a parameter is refused, because proxies and servers that read such a value
 * differently are what request smuggling feeds on.
 */
function transferCodings(buf: Buffer, i: number, end: number, section: HeaderSection, kind: HttpMessageKind): void {
  for (;;) {
    const codingStart = i;
    while (i < end && TCHAR[buf[i]] === 1) i++;
    const length = i - codingStart;
    if (length === 0) {
      const reason = i === end || buf[i] === COMMA ? 'empty transfer coding' : 'invalid Transfer-Encoding';
      throw new HttpParseError(kind, 400, reason);
    }
    const chunked = length === 7 && tokenEquals(buf, codingStart, CHUNKED);
    section.transferCodings++;
    section.chunkedLast = chunked;
    if (chunked) section.chunkedCount++;
    else if (!knownCoding(buf, codingStart, length)) section.unknownCoding = true;
    while (i < end && (buf[i] === SP || buf[i] === HTAB)) i++;
    if (i === end) return;
    if (buf[i] === SEMICOLON) throw new HttpParseError(kind, 501, 'transfer coding parameters not supported');
    if (buf[i] !== COMMA) throw new HttpParseError(kind, 400, 'invalid Transfer-Encoding');
    i++;
    while (i < end && (buf[i] === SP || buf[i] === HTAB)) i++;
  }
}

function knownCoding(buf: Buffer, start: number, length: number): boolean {
  switch (length) {
    case 4:
      return tokenEquals(buf, start, GZIP);
    case 6:
      return tokenEquals(buf, start, X_GZIP);
    case 7:
      return tokenEquals(buf, start, DEFLATE);
    case 8:
      return tokenEquals(buf, start, COMPRESS);
    case 10:
      return tokenEquals(buf, start, X_COMPRESS);
    default:
      return false;
  }
}
