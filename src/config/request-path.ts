// Paths written in the config: route prefixes and the health check request path.
import { HandoffError } from '../lib/errors.js';
import { describeValue } from './describe-value.js';

/** A route path prefix: starts with "/", no query, no fragment, no spaces. */
export function parsePathPrefix(value: unknown): string {
  const expected = 'expected a path prefix starting with "/" (e.g. "/api")';
  if (typeof value !== 'string') throw fail(`${expected}, got ${describeValue(value)}`);
  if (!value.startsWith('/')) throw fail(`${expected}, got ${describeValue(value)}: it must start with "/"`);
  if (/[\s?#]/.test(value)) throw fail(`${expected}, got ${describeValue(value)}: no spaces, "?" or "#" in a prefix`);
  return value;
}

/** A request target for health checks: starts with "/", may carry a query, no spaces. */
export function parseRequestPath(value: unknown): string {
  const expected = 'expected a request path starting with "/" (e.g. "/healthz")';
  if (typeof value !== 'string') throw fail(`${expected}, got ${describeValue(value)}`);
  if (!value.startsWith('/')) throw fail(`${expected}, got ${describeValue(value)}: it must start with "/"`);
  if (/[\s#]/.test(value)) throw fail(`${expected}, got ${describeValue(value)}: no spaces or "#"`);
  return value;
}

function fail(message: string): HandoffError {
  return new HandoffError('HANDOFF_ERR_CONFIG', 'config', message);
}
