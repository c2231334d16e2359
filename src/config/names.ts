// Names of frontends, backends and servers: they appear in logs, metrics labels, header
// variables and control commands, so they stay to a small safe alphabet.
import { HandoffError } from '../lib/errors.js';
import { describeValue } from './describe-value.js';

export const NAME_PATTERN = /^[A-Za-z0-9_.-]+$/;

/** Throws HandoffError (HANDOFF_ERR_CONFIG) for a name outside [A-Za-z0-9_.-]+. */
export function checkName(value: unknown, what: string): string {
  if (typeof value === 'string' && NAME_PATTERN.test(value)) return value;
  throw new HandoffError(
    'HANDOFF_ERR_CONFIG',
    'config',
    `expected a ${what} name of letters, digits, "_", "." and "-", got ${describeValue(value)}`,
  );
}
