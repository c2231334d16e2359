// Route host patterns: an exact name ("api.example.com") or a suffix ("*.example.com", which
// matches any name ending in ".example.com" but not "example.com" itself). Lower-cased, no port:
// the router compares them with the request's Host header stripped of its port.
import { HandoffError } from '../lib/errors.js';
import type { HostPattern } from './types.js';
import { describeValue } from './describe-value.js';

const LABEL = /^[a-z0-9_](?:[a-z0-9_-]*[a-z0-9_])?$/;
const EXPECTED = 'expected a host name ("app.example.com") or a suffix pattern ("*.example.com")';

/** Throws HandoffError (HANDOFF_ERR_CONFIG) saying what was expected. */
export function parseHostPattern(value: unknown): HostPattern {
  if (typeof value !== 'string') throw fail(`${EXPECTED}, got ${describeValue(value)}`);
  const got = `${EXPECTED}, got ${describeValue(value)}`;
  const text = value.trim().toLowerCase();
  if (/:\d*$/.test(text) || text.startsWith('[')) throw fail(`${got}: host patterns have no port (the port is ignored when matching)`);
  const suffix = text.startsWith('*.');
  const name = suffix ? text.slice(2) : text;
  if (name.includes('*')) throw fail(`${got}: "*" is only allowed as the first label ("*.example.com")`);
  if (name === '' || !name.split('.').every((l) => LABEL.test(l))) throw fail(`${got}: not a valid host name`);
  return suffix ? { kind: 'suffix', suffix: `.${name}` } : { kind: 'exact', name };
}

/** Whether a request host (lower-cased, port stripped) matches a pattern. */
export function hostMatches(pattern: HostPattern, host: string): boolean {
  return pattern.kind === 'exact' ? host === pattern.name : host.endsWith(pattern.suffix) && host.length > pattern.suffix.length;
}

function fail(message: string): HandoffError {
  return new HandoffError('HANDOFF_ERR_CONFIG', 'config', message);
}
