// The query parameters that steer an echo response (?delay, ?status, ?bytes, ...). Bad
// values are answered with 400 rather than ignored, so a typo in a test shows at once.

export const MAX_DELAY_MS = 120_000;

export type ResetMode = 'none' | 'mid-response' | 'before-response';

export interface EchoQuery {
  readonly delayMs: number;
  /** undefined: the default (200). */
  readonly status: number | undefined;
  /** undefined: answer with the JSON echo instead of a pattern body. */
  readonly bytes: number | undefined;
  readonly chunked: boolean;
  readonly close: boolean;
  readonly reset: ResetMode;
}

export type Parsed<T> = { ok: true; value: T } | { ok: false; error: string };

export interface RequestTarget {
  readonly pathname: string;
  readonly params: URLSearchParams;
}

/** Split a request target (origin-form, or absolute-form from a proxy) into path and query. */
export function parseTarget(url: string): RequestTarget {
  try {
    // A fixed base, not new URL(url, base): "//x/y" must stay a path, not become host "x".
    const parsed = url.startsWith('/') ? new URL(`http://echo${url}`) : new URL(url);
    return { pathname: parsed.pathname, params: parsed.searchParams };
  } catch {
    return { pathname: url, params: new URLSearchParams() };
  }
}

function integer(params: URLSearchParams, key: string, min: number, max: number): Parsed<number | undefined> {
  const raw = params.get(key);
  if (raw === null) return { ok: true, value: undefined };
  const n = /^\d+$/.test(raw) ? Number(raw) : NaN;
  if (!Number.isSafeInteger(n) || n < min || n > max) {
    return { ok: false, error: `${key} must be an integer from ${min} to ${max}, got ${JSON.stringify(raw)}` };
  }
  return { ok: true, value: n };
}

function flag(params: URLSearchParams, key: string): Parsed<boolean> {
  const raw = params.get(key);
  if (raw === null || raw === '0' || raw === 'false') return { ok: true, value: false };
  if (raw === '1' || raw === 'true' || raw === '') return { ok: true, value: true };
  return { ok: false, error: `${key} must be 1 or 0, got ${JSON.stringify(raw)}` };
}

/** A final status a test may ask for: 200-599 (1xx are not final responses). */
export function parseStatus(params: URLSearchParams): Parsed<number | undefined> {
  return integer(params, 'status', 200, 599);
}

export function parseEchoQuery(params: URLSearchParams): Parsed<EchoQuery> {
  const delay = integer(params, 'delay', 0, MAX_DELAY_MS);
  if (!delay.ok) return delay;
  const status = parseStatus(params);
  if (!status.ok) return status;
  const bytes = integer(params, 'bytes', 0, Number.MAX_SAFE_INTEGER);
  if (!bytes.ok) return bytes;
  const chunked = flag(params, 'chunked');
  if (!chunked.ok) return chunked;
  const close = flag(params, 'close');
  if (!close.ok) return close;
  const rawReset = params.get('reset');
  let reset: ResetMode;
  if (rawReset === null || rawReset === '0') reset = 'none';
  else if (rawReset === '1') reset = 'mid-response';
  else if (rawReset === 'before') reset = 'before-response';
  else return { ok: false, error: `reset must be 1 or before, got ${JSON.stringify(rawReset)}` };
  return {
    ok: true,
    value: { delayMs: delay.value ?? 0, status: status.value, bytes: bytes.value, chunked: chunked.value, close: close.value, reset },
  };
}
