// What a load generator reports, whichever one ran (wrk, or the built-in Node fallback).

export interface LoadErrors {
  readonly connect: number;
  readonly read: number;
  readonly write: number;
  readonly timeout: number;
  /** Responses with a status outside 2xx/3xx. */
  readonly status: number;
}

export interface LoadResult {
  readonly tool: 'wrk' | 'node';
  readonly requests: number;
  readonly seconds: number;
  readonly rps: number;
  /** Latency percentiles in milliseconds. */
  readonly latencyMs: { readonly p50: number; readonly p90: number; readonly p99: number };
  readonly errors: LoadErrors;
}

export interface LoadOptions {
  readonly port: number;
  readonly connections: number;
  readonly durationMs: number;
  readonly path?: string;
}

export function totalErrors(e: LoadErrors): number {
  return e.connect + e.read + e.write + e.timeout + e.status;
}
