// The envelope both head parsers check before reading a start line: the head ends with
// CRLFCRLF, and its first line is within the limit and ends with a proper CRLF.
import { HttpParseError, type HttpMessageKind } from './errors.js';
import type { ParseLimits } from './limits.js';

const CR = 0x0d;
const LF = 0x0a;

/**
 * Returns the index of the CR ending the start line of the head in buf[start, end).
 * Throws HttpParseError: 400/414 for a request, 502 for a response.
 */
export function startLineEnd(buf: Buffer, start: number, end: number, limits: ParseLimits, kind: HttpMessageKind): number {
  const status = kind === 'request' ? 400 : 502;
  const what = kind === 'request' ? 'request line' : 'status line';
  if (end - start < 4 || buf[end - 4] !== CR || buf[end - 3] !== LF || buf[end - 2] !== CR || buf[end - 1] !== LF) {
    throw new HttpParseError(kind, status, 'incomplete head');
  }
  // The tail check above guarantees a CR and an LF before `end`: these searches stop there.
  const lineEnd = buf.indexOf(CR, start);
  if (lineEnd - start > limits.requestLine) throw new HttpParseError(kind, kind === 'request' ? 414 : 502, `${what} too long`);
  if (buf[lineEnd + 1] !== LF) throw new HttpParseError(kind, status, `bare CR in ${what}`);
  if (buf.indexOf(LF, start) < lineEnd) throw new HttpParseError(kind, status, `bare LF in ${what}`);
  return lineEnd;
}
