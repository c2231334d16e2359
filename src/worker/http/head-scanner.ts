// Finds the end of a message head in a connection's unparsed bytes, incrementally: each call
// looks only at bytes it has not seen, and refuses framing-level garbage (bare CR or LF, CTLs,
// obs-fold, oversized lines or sections) as soon as it arrives rather than once the head is
// complete. Token and value syntax is left to parseRequestHead / parseResponseHead.

import { FIELD_VALUE } from './char-classes.js';
import { HttpParseError, type HttpMessageKind } from './errors.js';
import type { ParseLimits } from './limits.js';

const CR = 0x0d;
const LF = 0x0a;
const SP = 0x20;
const HTAB = 0x09;

// Where the scan is: before the start line (only empty lines so far), in it, in the fields.
const BEFORE_START_LINE = 0;
const START_LINE = 1;
const FIELDS = 2;

/**
 * One per connection. Call scan() with the connection's accumulated unparsed bytes
 * buf[start, end) each time more arrive; `start` marks the same first byte on every call
 * (the buffer object may change, its bytes from `start` on may only grow). After a complete
 * head the next scan() starts a new head; reset() does so explicitly (e.g. after a body).
 */
export class HeadScanner {
  private scanned = 0; // bytes from `start` examined so far
  private lineStart = 0; // offset (from `start`) of the line being scanned
  private fieldsStart = 0; // offset of the first field line
  private phase = BEFORE_START_LINE;
  private lines = 0; // field lines seen
  private emptyLines = 0; // bytes of empty lines skipped before the request line
  private complete = false;

  /**
   * Bytes of empty lines (CRLF) before the request line (RFC 9112 §2.2): the head proper
   * starts at start + skipped. Always 0 for responses, which may not start with one.
   */
  get skipped(): number {
    return this.emptyLines;
  }

  /** Forgets the current head: the next scan() starts a new one. */
  reset(): void {
    this.scanned = 0;
    this.lineStart = 0;
    this.fieldsStart = 0;
    this.phase = BEFORE_START_LINE;
    this.lines = 0;
    this.emptyLines = 0;
    this.complete = false;
  }

  /**
   * Returns the index in `buf` just past the head's final CRLFCRLF once the head is complete,
   * or -1 if more bytes are needed. Throws HttpParseError for a bare LF, a bare CR (once the
   * byte after it is known), a control byte other than HTAB, a start line longer than
   * limits.requestLine (414), a header section over limits.headerSize or
   * limits.headerCount lines (431), obs-fold (400); for kind 'response' every error is a 502.
   */
  scan(buf: Buffer, start: number, end: number, limits: ParseLimits, kind: HttpMessageKind): number {
    if (this.complete) this.reset();
    const fieldValue = FIELD_VALUE; // a local: an imported binding is re-read on each use
    let i = start + this.scanned;
    let lineStart = start + this.lineStart;
    let phase = this.phase;
    while (i < end) {
      if (i === lineStart) {
        const first = buf[i];
        if (first !== CR) {
          if (phase === BEFORE_START_LINE) phase = START_LINE;
          else if (phase === FIELDS && (first === SP || first === HTAB)) {
            throw new HttpParseError(kind, 400, 'obs-fold (header line starts with whitespace)');
          }
        }
      }
      // The bulk of a line: bytes allowed anywhere in a head, one table read each.
      while (i < end && fieldValue[buf[i]] === 1) i++;
      if (i === end) break;
      const c = buf[i];
      if (c === LF) throw new HttpParseError(kind, 400, 'bare LF in header block');
      if (c !== CR) throw new HttpParseError(kind, 400, 'control character in header block');
      if (i + 1 === end) break; // is it CRLF? ask again when the next byte is here
      if (buf[i + 1] !== LF) throw new HttpParseError(kind, 400, 'bare CR in header block');
      if (phase === FIELDS) {
        if (i + 2 - (start + this.fieldsStart) > limits.headerSize) throw new HttpParseError(kind, 431, 'header section too large');
        if (i === lineStart) {
          this.complete = true;
          this.scanned = i + 2 - start;
          return i + 2;
        }
        if (++this.lines > limits.headerCount) throw new HttpParseError(kind, 431, 'too many header fields');
      } else if (phase === START_LINE) {
        if (i - lineStart > limits.requestLine) throw startLineTooLong(kind);
        // HTTP/0.9 (`GET /` and nothing else) has no header section to wait for: without
        // this, the connection would wait for one until http-request times out.
        if (kind === 'request' && spacesIn(buf, lineStart, i) < 2)
          throw new HttpParseError(kind, 400, 'malformed request line (no HTTP version: HTTP/0.9 is not served)');
        phase = FIELDS;
        this.fieldsStart = i + 2 - start;
      } else {
        // An empty line before the request line: skipped (RFC 9112 §2.2), within a bound so
        // that a stream of CRLFs cannot hold the connection forever.
        if (kind === 'response') throw new HttpParseError(kind, 502, 'empty line before status line');
        this.emptyLines += 2;
        if (this.emptyLines > limits.requestLine) throw new HttpParseError(kind, 400, 'too many empty lines before request line');
      }
      i += 2;
      lineStart = i;
    }
    this.scanned = i - start;
    this.lineStart = lineStart - start;
    this.phase = phase;
    // The line or section in progress may already be too long: refuse it now, not at its end.
    if (phase === START_LINE && i - lineStart > limits.requestLine) throw startLineTooLong(kind);
    if (phase === FIELDS && i - (start + this.fieldsStart) > limits.headerSize)
      throw new HttpParseError(kind, 431, 'header section too large');
    return -1;
  }
}

/**
 * Spaces (or tabs, which the parser refuses with its own reason) in buf[from, to), counting
 * up to 2: a request line has 2 (method SP target SP version).
 */
function spacesIn(buf: Buffer, from: number, to: number): number {
  let n = 0;
  for (let i = from; i < to && n < 2; i++) if (buf[i] === SP || buf[i] === HTAB) n++;
  return n;
}

function startLineTooLong(kind: HttpMessageKind): HttpParseError {
  return new HttpParseError(kind, 414, kind === 'request' ? 'request line too long' : 'status line too long');
}
