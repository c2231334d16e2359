// Follows a chunked body (RFC 9112 §7.1) as it streams through, without copying or changing
// a byte: the proxy forwards exactly the bytes feed() claims, and knows the body has ended
// (so the connection is between messages again) the moment the final CRLF goes by. Strict,
// because a proxy and a server that disagree on where a chunked body ends is request
// smuggling: whitespace, bare LF, oversized sizes and malformed extensions are refused.

import { FIELD_VALUE, HEX_VALUE, QDTEXT, TCHAR } from './char-classes.js';
import { HttpParseError, type HttpMessageKind } from './errors.js';
import { DEFAULT_PARSE_LIMITS, type ParseLimits } from './limits.js';

/** Bound on the chunk extensions of one chunk line, in bytes. */
export const MAX_CHUNK_EXTENSION_BYTES = 4096;
/** chunk-size digits allowed: 16 hex digits already exceed 2^53-1 unless leading zeros. */
const MAX_SIZE_DIGITS = 16;

const CR = 0x0d;
const LF = 0x0a;
const SEMICOLON = 0x3b;
const EQUALS = 0x3d;
const DQUOTE = 0x22;
const BACKSLASH = 0x5c;
const COLON = 0x3a;
const SP = 0x20;
const HTAB = 0x09;

// Where the tracker is in the body.
const SIZE = 0; // chunk-size digits
const SIZE_LF = 1; // after the CR ending a chunk line
const EXT_NAME_START = 2; // after ";"
const EXT_NAME = 3;
const EXT_VALUE_START = 4; // after "="
const EXT_TOKEN = 5;
const EXT_QUOTED = 6;
const EXT_QUOTED_ESCAPE = 7; // after "\" in a quoted-string
const EXT_QUOTED_END = 8; // after the closing DQUOTE
const DATA = 9;
const DATA_CR = 10; // chunk data ended: CRLF must follow
const DATA_LF = 11;
const TRAILER_LINE_START = 12; // after the last-chunk line or a trailer field line
const TRAILER_NAME = 13;
const TRAILER_VALUE = 14;
const TRAILER_LF = 15;
const FINAL_LF = 16;
const DONE = 17;

/**
 * One per message with a chunked body; reset() before the next one. Errors are
 * HttpParseError of the kind given to the constructor ('request': status 400 or 431;
 * 'response': 502).
 */
export class ChunkedTracker {
  private readonly limits: ParseLimits;
  private readonly kind: HttpMessageKind;
  private state = SIZE;
  private size = 0; // value of the chunk-size being read
  private sizeDigits = 0;
  private remaining = 0; // chunk data bytes still to come
  private extensionBytes = 0; // in the current chunk line
  private trailerBytes = 0;
  private trailerLines = 0;

  /** `limits.headerSize` and `limits.headerCount` bound the trailer section. */
  constructor(kind: HttpMessageKind = 'request', limits: ParseLimits = DEFAULT_PARSE_LIMITS) {
    this.kind = kind;
    this.limits = limits;
  }

  /** True once the last chunk, the trailer section and the final CRLF have gone by. */
  get done(): boolean {
    return this.state === DONE;
  }

  /** True if the body carried at least one trailer field. */
  get trailers(): boolean {
    return this.trailerLines > 0;
  }

  /** Starts over for the next chunked body. */
  reset(): void {
    this.state = SIZE;
    this.size = 0;
    this.sizeDigits = 0;
    this.remaining = 0;
    this.extensionBytes = 0;
    this.trailerBytes = 0;
    this.trailerLines = 0;
  }

  /**
   * Walks buf[start, end) and returns how many of those bytes belong to this body, from
   * `start`: all of them while the body goes on, fewer when it ends inside the range (the
   * rest is the next message), 0 once done. Any split of the body across calls gives the
   * same result.
   */
  feed(buf: Buffer, start: number, end: number): number {
    let i = start;
    let state = this.state;
    while (i < end && state !== DONE) {
      if (state === DATA) {
        // The bulk of a body: skipped, not looked at.
        const n = Math.min(this.remaining, end - i);
        i += n;
        this.remaining -= n;
        if (this.remaining === 0) state = DATA_CR;
        continue;
      }
      const c = buf[i++];
      switch (state) {
        case SIZE: {
          const d = HEX_VALUE[c];
          if (d !== 255) {
            if (++this.sizeDigits > MAX_SIZE_DIGITS) throw this.error(400, 'chunk-size overflow');
            this.size = this.size * 16 + d;
            if (this.size > Number.MAX_SAFE_INTEGER) throw this.error(400, 'chunk-size overflow');
          } else if (this.sizeDigits === 0) {
            throw this.lineError(c, 'invalid chunk size');
          } else if (c === CR) {
            state = SIZE_LF;
          } else if (c === SEMICOLON) {
            state = EXT_NAME_START;
          } else {
            throw this.lineError(c, 'invalid chunk size');
          }
          break;
        }
        case SIZE_LF:
          if (c !== LF) throw this.error(400, 'bare CR in chunk line');
          if (this.size === 0) {
            state = TRAILER_LINE_START;
          } else {
            this.remaining = this.size;
            state = DATA;
          }
          break;
        case EXT_NAME_START:
          this.countExtension();
          if (TCHAR[c] !== 1) throw this.lineError(c, 'invalid chunk extension');
          state = EXT_NAME;
          break;
        case EXT_NAME:
          this.countExtension();
          if (TCHAR[c] === 1) break;
          if (c === EQUALS) state = EXT_VALUE_START;
          else state = this.afterExtension(c);
          break;
        case EXT_VALUE_START:
          this.countExtension();
          if (c === DQUOTE) state = EXT_QUOTED;
          else if (TCHAR[c] === 1) state = EXT_TOKEN;
          else throw this.lineError(c, 'invalid chunk extension');
          break;
        case EXT_TOKEN:
          this.countExtension();
          if (TCHAR[c] !== 1) state = this.afterExtension(c);
          break;
        case EXT_QUOTED:
          this.countExtension();
          if (c === DQUOTE) state = EXT_QUOTED_END;
          else if (c === BACKSLASH) state = EXT_QUOTED_ESCAPE;
          else if (QDTEXT[c] !== 1) throw this.lineError(c, 'invalid chunk extension');
          break;
        case EXT_QUOTED_ESCAPE:
          this.countExtension();
          // quoted-pair = "\" ( HTAB / SP / VCHAR / obs-text )
          if (FIELD_VALUE[c] !== 1) throw this.lineError(c, 'invalid chunk extension');
          state = EXT_QUOTED;
          break;
        case EXT_QUOTED_END:
          this.countExtension();
          state = this.afterExtension(c);
          break;
        case DATA_CR:
          if (c !== CR) throw this.error(400, c === LF ? 'bare LF in chunked body' : 'missing CRLF after chunk data');
          state = DATA_LF;
          break;
        case DATA_LF:
          if (c !== LF) throw this.error(400, 'missing CRLF after chunk data');
          this.size = 0;
          this.sizeDigits = 0;
          this.extensionBytes = 0;
          state = SIZE;
          break;
        case TRAILER_LINE_START:
          this.countTrailer();
          if (c === CR) state = FINAL_LF;
          else if (TCHAR[c] === 1) state = TRAILER_NAME;
          else if (c === SP || c === HTAB) throw this.error(400, 'obs-fold (trailer line starts with whitespace)');
          else throw this.lineError(c, 'invalid trailer field name character');
          break;
        case TRAILER_NAME:
          this.countTrailer();
          if (c === COLON) state = TRAILER_VALUE;
          else if (c === SP || c === HTAB) throw this.error(400, 'whitespace before colon in trailer');
          else if (TCHAR[c] !== 1) throw this.lineError(c, 'invalid trailer field name character');
          break;
        case TRAILER_VALUE:
          this.countTrailer();
          if (c === CR) state = TRAILER_LF;
          else if (FIELD_VALUE[c] !== 1) throw this.lineError(c, 'invalid trailer field value character');
          break;
        case TRAILER_LF:
          this.countTrailer();
          if (c !== LF) throw this.error(400, 'bare CR in trailer section');
          if (++this.trailerLines > this.limits.headerCount) throw this.error(431, 'too many trailer fields');
          state = TRAILER_LINE_START;
          break;
        case FINAL_LF:
          if (c !== LF) throw this.error(400, 'bare CR in trailer section');
          state = DONE;
          break;
      }
    }
    this.state = state; // not saved when a throw ends the body: the tracker is dead then
    return i - start;
  }

  /** After a complete extension: another one, or the end of the chunk line. */
  private afterExtension(c: number): number {
    if (c === SEMICOLON) return EXT_NAME_START;
    if (c === CR) return SIZE_LF;
    throw this.lineError(c, 'invalid chunk extension');
  }

  private countExtension(): void {
    if (++this.extensionBytes > MAX_CHUNK_EXTENSION_BYTES) throw this.error(400, 'chunk extension too long');
  }

  private countTrailer(): void {
    if (++this.trailerBytes > this.limits.headerSize) throw this.error(431, 'trailer section too large');
  }

  /** A stray byte in a chunk or trailer line; LF and whitespace get their own reasons. */
  private lineError(c: number, reason: string): HttpParseError {
    if (c === LF) return this.error(400, 'bare LF in chunked body');
    if (c === SP || c === HTAB) return this.error(400, 'whitespace in chunk line');
    return this.error(400, reason);
  }

  private error(status: 400 | 431, reason: string): HttpParseError {
    return new HttpParseError(this.kind, status, reason);
  }
}
