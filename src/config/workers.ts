// `workers: auto | N`. auto = the CPU cores this process may use (os.availableParallelism
// honours affinity masks, unlike os.cpus().length).
import os from 'node:os';
import { HandoffError } from '../lib/errors.js';
import { describeValue } from './describe-value.js';

/** Highest worker count accepted: beyond it a typo ("workers: 1000") would fork-bomb the host. */
export const MAX_WORKERS = 256;

export function parseWorkers(value: unknown): number {
  if (value === 'auto') return os.availableParallelism();
  if (typeof value === 'number' && Number.isInteger(value) && value >= 1 && value <= MAX_WORKERS) return value;
  throw new HandoffError(
    'HANDOFF_ERR_CONFIG',
    'config',
    `expected "auto" or an integer from 1 to ${MAX_WORKERS}, got ${describeValue(value)}`,
  );
}
