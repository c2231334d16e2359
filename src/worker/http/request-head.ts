// Parses and validates a request head found by HeadScanner (RFC 9112 §3, §5, §6; RFC 9110).
// Strict on purpose: anything two HTTP implementations could read differently is refused
// here, before a byte reaches a server.

import { isIPv6 } from 'node:net';
import { HEX_VALUE, REG_NAME, TARGET, TCHAR } from './char-classes.js';
import { HttpParseError } from './errors.js';
import { parseHeaderSection } from './header-section.js';
import { startLineEnd } from './start-line.js';
import { DEFAULT_PARSE_LIMITS, type ParseLimits } from './limits.js';

/** A parsed request head. */
export interface RequestHead {
  /** Token, case-sensitive ("GET"). */
  method: string;
  /** The request-target as received. */
  target: string;
  /**
   * origin-form: the target (path?query); absolute-form: its path?query ("/" if empty);
   * asterisk-form (OPTIONS only): "*"; authority-form (CONNECT only): "".
   */
  path: string;
  /** Authority of an absolute-form target, or the CONNECT target; otherwise undefined. */
  authority: string | undefined;
  /** HTTP/1.0 or HTTP/1.1. */
  versionMinor: 0 | 1;
  /** Flat [name, value, name, value, ...]: names as received, values without surrounding OWS. */
  headers: string[];
  /** The authority of an absolute-form target (it wins, RFC 9112 §3.2.2), else the Host value. */
  host: string | undefined;
  /** -1 when absent. */
  contentLength: number;
  /** The body is chunked (Transfer-Encoding ends with chunked). */
  chunked: boolean;
  /** HTTP/1.1 unless "Connection: close"; HTTP/1.0 only with "Connection: keep-alive". */
  keepAlive: boolean;
  /** Lower-cased tokens of all Connection headers. */
  connectionTokens: string[];
  /** Upgrade value when Connection lists "upgrade" (HTTP/1.1 only, RFC 9110 §7.8). */
  upgrade: string | undefined;
  /** Expect value as received (several lines joined with ", "); the proxy decides. */
  expect: string | undefined;
  /** Expect is exactly 100-continue, case-insensitively (ignored in HTTP/1.0, RFC 9110 §10.1.1). */
  expectContinue: boolean;
  /** end - start: the head's length in the buffer. */
  headBytes: number;
}

const SP = 0x20;
const HTAB = 0x09;
const CR = 0x0d;
const SLASH = 0x2f;
const STAR = 0x2a;
const COLON = 0x3a;
const QUESTION = 0x3f;
const PERCENT = 0x25;
const LBRACKET = 0x5b;

/**
 * Parses the request head in buf[start, end): `start` is where the request line begins
 * (after HeadScanner.skipped empty lines), `end` the value HeadScanner.scan returned (just
 * past the final CRLFCRLF). The head must have been accepted by HeadScanner.scan with the
 * same limits: the scanner refuses CTLs, bare CR/LF and obs-fold byte by byte, and this
 * parser does not re-check every field-value byte for them (it checks everything else).
 * Throws HttpParseError (status 400, 414, 431, 501 or 505).
 */
export function parseRequestHead(buf: Buffer, start: number, end: number, limits: ParseLimits = DEFAULT_PARSE_LIMITS): RequestHead {
  const lineEnd = startLineEnd(buf, start, end, limits, 'request');

  // method SP request-target SP HTTP-version, single spaces, nothing around.
  const tchar = TCHAR;
  const targetChar = TARGET;
  let i = start;
  while (tchar[buf[i]] === 1) i++;
  if (i === start || buf[i] !== SP) throw requestLineError(buf[i], 'invalid method character');
  const methodEnd = i;
  const targetStart = ++i;
  while (targetChar[buf[i]] === 1) i++;
  if (i === targetStart || buf[i] !== SP) throw requestLineError(buf[i], 'invalid request-target character');
  const targetEnd = i;
  const versionMinor = requestVersion(buf, targetEnd + 1, lineEnd);

  // One latin1 decode for the whole head; every string below is a slice of it.
  const text = buf.toString('latin1', start, end);
  const method = methodString(buf, start, methodEnd, text);
  const target = text.slice(targetStart - start, targetEnd - start);
  let path: string;
  let authority: string | undefined;
  let absoluteForm = false;
  let defaultPort = '';
  if (method === 'CONNECT') {
    // authority-form (RFC 9112 §3.2.3): host and port, nothing else.
    if (!isAuthority(target, 0, target.length, true)) throw new HttpParseError('request', 400, 'CONNECT target is not host:port');
    authority = target;
    path = '';
  } else if (buf[targetStart] === SLASH) {
    path = target;
  } else if (buf[targetStart] === STAR && targetEnd - targetStart === 1) {
    if (method !== 'OPTIONS') throw new HttpParseError('request', 400, 'asterisk-form target only with OPTIONS');
    path = '*';
  } else {
    const prefix = target.slice(0, 8).toLowerCase();
    const authorityStart = prefix.startsWith('http://') ? 7 : prefix === 'https://' ? 8 : 0;
    if (authorityStart === 0) throw new HttpParseError('request', 400, 'invalid request-target form');
    let authorityEnd = authorityStart;
    while (authorityEnd < target.length) {
      const c = target.charCodeAt(authorityEnd);
      if (c === SLASH || c === QUESTION) break;
      authorityEnd++;
    }
    // An http(s) URI with an empty host (or userinfo) is invalid (RFC 9110 §4.2.1, §4.2.4).
    if (authorityEnd === authorityStart || !isAuthority(target, authorityStart, authorityEnd, false)) {
      throw new HttpParseError('request', 400, 'invalid authority in request-target');
    }
    authority = target.slice(authorityStart, authorityEnd);
    if (authorityEnd === target.length) path = '/';
    else if (target.charCodeAt(authorityEnd) === QUESTION) path = `/${target.slice(authorityEnd)}`;
    else path = target.slice(authorityEnd);
    absoluteForm = true;
    defaultPort = authorityStart === 7 ? ':80' : ':443';
  }

  const section = parseHeaderSection(buf, text, start, lineEnd + 2, end, limits, 'request');

  // Message framing (RFC 9112 §6.1, §6.3): one reading only, or the request is refused.
  if (section.transferCodings > 0) {
    if (versionMinor === 0) throw new HttpParseError('request', 400, 'Transfer-Encoding in HTTP/1.0 request');
    if (section.contentLength !== -1) throw new HttpParseError('request', 400, 'Content-Length and Transfer-Encoding together');
    if (!section.chunkedLast) throw new HttpParseError('request', 400, 'final transfer coding is not chunked');
    if (section.chunkedCount > 1) throw new HttpParseError('request', 400, 'chunked applied more than once');
    if (section.unknownCoding) throw new HttpParseError('request', 501, 'unsupported transfer coding');
  }
  // Host (RFC 9112 §3.2): exactly one in HTTP/1.1, never two, always a valid authority.
  if (section.hostCount > 1) throw new HttpParseError('request', 400, 'more than one Host header');
  if (section.hostCount === 0 && versionMinor === 1) throw new HttpParseError('request', 400, 'missing Host header');
  const hostHeader = section.host;
  if (hostHeader !== undefined && hostHeader !== '' && !isAuthority(hostHeader, 0, hostHeader.length, false)) {
    throw new HttpParseError('request', 400, 'invalid Host header');
  }
  // An absolute-form target's authority replaces Host (RFC 9112 §3.2.2). When both are
  // there and differ, two readers (handoff routing by one, a server by the other) would see
  // two different requests: refused, as HAProxy does. Equal means equal up to case and an
  // explicit default port.
  if (absoluteForm && hostHeader !== undefined && !sameAuthority(authority!, hostHeader, defaultPort)) {
    throw new HttpParseError('request', 400, 'Host header differs from the authority of the request-target');
  }

  const expect = section.expect;
  return {
    method,
    target,
    path,
    authority,
    versionMinor,
    headers: section.headers,
    host: absoluteForm ? authority : hostHeader,
    contentLength: section.contentLength,
    chunked: section.transferCodings > 0,
    keepAlive: !section.connectionClose && (versionMinor === 1 || section.connectionKeepAlive),
    connectionTokens: section.connectionTokens,
    upgrade: versionMinor === 1 && section.connectionUpgrade ? section.upgrade : undefined,
    expect,
    expectContinue: versionMinor === 1 && expect !== undefined && expect.length === 12 && expect.toLowerCase() === '100-continue',
    headBytes: end - start,
  };
}

function sameAuthority(a: string, b: string, defaultPort: string): boolean {
  const norm = (s: string) => {
    const l = s.toLowerCase();
    return l.endsWith(defaultPort) ? l.slice(0, l.length - defaultPort.length) : l;
  };
  return norm(a) === norm(b);
}

function requestLineError(c: number, charReason: string): HttpParseError {
  // The byte that stopped the scan: whitespace or CR means a misplaced or missing part.
  const reason = c === SP || c === HTAB || c === CR ? 'malformed request line' : charReason;
  return new HttpParseError('request', 400, reason);
}

/** HTTP-version = "HTTP/" DIGIT "." DIGIT, case-sensitive (RFC 9112 §2.3); only 1.0 and 1.1 served. */
function requestVersion(buf: Buffer, i: number, lineEnd: number): 0 | 1 {
  const major = buf[i + 5] - 0x30;
  const minor = buf[i + 7] - 0x30;
  if (
    lineEnd - i !== 8 ||
    buf[i] !== 0x48 ||
    buf[i + 1] !== 0x54 ||
    buf[i + 2] !== 0x54 ||
    buf[i + 3] !== 0x50 ||
    buf[i + 4] !== SLASH ||
    buf[i + 6] !== 0x2e ||
    !(major >= 0 && major <= 9) ||
    !(minor >= 0 && minor <= 9)
  ) {
    // A space here means a third space in the line: the line's shape is wrong, not the version.
    const space = buf.indexOf(SP, i);
    throw new HttpParseError('request', 400, space !== -1 && space < lineEnd ? 'malformed request line' : 'invalid HTTP version');
  }
  if (major !== 1 || minor > 1) throw new HttpParseError('request', 505, 'HTTP version not supported');
  return minor as 0 | 1;
}

/** The common methods as shared constants: one string allocation less per request. */
function methodString(buf: Buffer, start: number, end: number, text: string): string {
  if (end - start === 3 && buf[start] === 0x47 && buf[start + 1] === 0x45 && buf[start + 2] === 0x54) return 'GET';
  if (end - start === 4 && buf[start] === 0x50 && buf[start + 1] === 0x4f && buf[start + 2] === 0x53 && buf[start + 3] === 0x54)
    return 'POST';
  return text.slice(0, end - start);
}

/**
 * authority = host [":" port] with host = IP-literal / IPv4address / reg-name (RFC 3986
 * §3.2.2), no userinfo. The port, when present, is 1-5 digits up to 65535; `portRequired`
 * for CONNECT. The host may not be empty here (an empty Host value is handled by the caller).
 */
function isAuthority(s: string, i: number, end: number, portRequired: boolean): boolean {
  let hostEnd: number;
  if (s.charCodeAt(i) === LBRACKET) {
    const close = s.indexOf(']', i);
    if (close < 0 || close >= end) return false;
    const literal = s.slice(i + 1, close);
    // node:net also accepts "%zone" suffixes, which a URI spells differently: refuse them.
    if (literal.includes('%') || !isIPv6(literal)) return false;
    hostEnd = close + 1;
  } else {
    hostEnd = i;
    while (hostEnd < end) {
      const c = s.charCodeAt(hostEnd);
      if (c < 0x80 && REG_NAME[c] === 1) {
        hostEnd++;
      } else if (
        c === PERCENT &&
        hostEnd + 2 < end &&
        HEX_VALUE[s.charCodeAt(hostEnd + 1) & 0xff] !== 255 &&
        HEX_VALUE[s.charCodeAt(hostEnd + 2) & 0xff] !== 255
      ) {
        hostEnd += 3;
      } else {
        break;
      }
    }
    if (hostEnd === i) return false;
  }
  if (hostEnd === end) return !portRequired;
  if (s.charCodeAt(hostEnd) !== COLON) return false;
  const digits = end - hostEnd - 1;
  if (digits < 1 || digits > 5) return false;
  let port = 0;
  for (let p = hostEnd + 1; p < end; p++) {
    const d = s.charCodeAt(p) - 0x30;
    if (d < 0 || d > 9) return false;
    port = port * 10 + d;
  }
  return port <= 65535;
}
