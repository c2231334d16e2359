// Size limits for one message head. Mirrors `Limits` in src/config/types.ts (a config's
// `limits` object can be passed as is).

/** Bounds on one message head; exceeding any of them is refused as soon as it is seen. */
export interface ParseLimits {
  /** Bytes of the request line (or status line) without its CRLF; over it: 414. Default 8192. */
  readonly requestLine: number;
  /**
   * Bytes of the header section after the start line: every field line with its CRLF plus
   * the final empty line; over it: 431. Also bounds a chunked body's trailer section.
   * Default 32768.
   */
  readonly headerSize: number;
  /** Field lines in the header (or trailer) section; over it: 431. Default 100. */
  readonly headerCount: number;
}

/** The defaults of the config's `limits` section. */
export const DEFAULT_PARSE_LIMITS: ParseLimits = Object.freeze({
  requestLine: 8192,
  headerSize: 32768,
  headerCount: 100,
});
