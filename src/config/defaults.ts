// Defaults for every optional key (docs/configuration.md lists the same values).
import type { Limits, Timeouts } from './types.js';

export const DEFAULT_TIMEOUTS: Timeouts = {
  connect: 5_000,
  client: 60_000,
  server: 60_000,
  queue: 5_000,
  httpRequest: 10_000,
  keepAlive: 60_000,
  tunnel: 3_600_000,
};

export const DEFAULT_LIMITS: Limits = { requestLine: 8 * 1024, headerSize: 32 * 1024, headerCount: 100, pipeline: 16 };

export const DEFAULTS = {
  control: './handoff.sock',
  drain: { timeout: 30_000, migrate: true, acceptGrace: 0 },
  logAccess: 'stdout',
  logBuffer: 1024 * 1024,
  logFormat: 'json',
  mode: 'http',
  balance: 'roundrobin',
  retries: 2,
  passive: { fall: 3, cooldown: 5_000 },
  server: { weight: 1, backup: false, admin: 'ready' },
  // timeout: this, capped by the interval (a check that never answers must not hold anything for an interval of minutes).
  health: { type: 'tcp', interval: 2_000, timeout: 2_000, rise: 2, fall: 3, method: 'GET', path: '/', expect: { min: 200, max: 399 } },
} as const;

/** Longest UNIX socket path Linux accepts (sun_path is 108 bytes with the terminating NUL). */
export const MAX_SOCKET_PATH_BYTES = 107;
