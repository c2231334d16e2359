// Byte lookup tables shared by the HTTP/1 parsers: one array read per byte instead of a
// regex or a chain of comparisons. 1 = allowed, 0 = not (HEX_VALUE: the digit's value).

function table(allowed: (c: number) => boolean): Uint8Array {
  const t = new Uint8Array(256);
  for (let c = 0; c < 256; c++) t[c] = allowed(c) ? 1 : 0;
  return t;
}

function isAlnum(c: number): boolean {
  return (c >= 0x30 && c <= 0x39) || (c >= 0x41 && c <= 0x5a) || (c >= 0x61 && c <= 0x7a);
}

function oneOf(chars: string): (c: number) => boolean {
  return (c) => c < 0x80 && chars.includes(String.fromCharCode(c));
}

/** tchar (RFC 9110 §5.6.2): method, field name, token list elements, chunk-ext names. */
export const TCHAR = table((c) => isAlnum(c) || oneOf("!#$%&'*+-.^_`|~")(c));

/**
 * A field-value byte (RFC 9110 §5.5): HTAB, SP, VCHAR and obs-text (0x80-0xFF). Everything
 * else is a CTL (NUL, CR, LF, DEL, ...). Also the bytes the head scanner lets through.
 */
export const FIELD_VALUE = table((c) => c === 0x09 || (c >= 0x20 && c !== 0x7f));

/**
 * A request-target byte: VCHAR without "#" (a fragment is never sent, RFC 9112 §3.2).
 * Spaces, CTLs and raw non-ASCII bytes are refused: clients percent-encode them.
 */
export const TARGET = table((c) => c > 0x20 && c < 0x7f && c !== 0x23);

/** reg-name / IPv4 bytes of a URI host (RFC 3986 §3.2.2): unreserved and sub-delims; "%" apart. */
export const REG_NAME = table((c) => isAlnum(c) || oneOf("-._~!$&'()*+,;=")(c));

/** qdtext of a quoted-string (RFC 9110 §5.6.4): HTAB, SP, VCHAR but '"' and "\", obs-text. */
export const QDTEXT = table(
  (c) => c === 0x09 || c === 0x20 || c === 0x21 || (c >= 0x23 && c <= 0x5b) || (c >= 0x5d && c <= 0x7e) || c >= 0x80,
);

/** Value of a hex digit, 255 for any other byte. */
export const HEX_VALUE = (() => {
  const t = new Uint8Array(256).fill(255);
  for (let d = 0; d < 10; d++) t[0x30 + d] = d;
  for (let d = 0; d < 6; d++) {
    t[0x41 + d] = 10 + d;
    t[0x61 + d] = 10 + d;
  }
  return t;
})();

/** Bytes of a lower-case ASCII name, for case-insensitive comparison against a buffer. */
export function lowerAscii(name: string): Uint8Array {
  return Uint8Array.from(name, (ch) => ch.charCodeAt(0));
}

/**
 * Whether buf[start, start + lower.length) equals `lower` ignoring ASCII case. Only for
 * bytes already known to be tchar: there `| 0x20` folds letters and changes no other tchar
 * into a letter or "-".
 */
export function tokenEquals(buf: Uint8Array, start: number, lower: Uint8Array): boolean {
  for (let i = 0; i < lower.length; i++) {
    if ((buf[start + i] | 0x20) !== lower[i]) return false;
  }
  return true;
}
