// Sizes in bytes: an integer, or a number with a binary unit ("8k" = 8192, "1m" = 1048576).
import { HandoffError } from '../lib/errors.js';
import { describeValue } from './describe-value.js';

const UNIT: Readonly<Record<string, number>> = { '': 1, b: 1, k: 1024, m: 1024 * 1024, g: 1024 * 1024 * 1024 };
const EXPECTED = 'expected a size in bytes (an integer, or with a unit: 8k, 64k, 1m)';

/** Bytes of a size (>= 1); throws HandoffError (HANDOFF_ERR_CONFIG) saying what was expected. */
export function parseSize(value: unknown): number {
  let bytes: number;
  if (typeof value === 'number') {
    bytes = value;
  } else if (typeof value === 'string') {
    const m = /^\s*(\d+)\s*([bkmg]?)\s*$/i.exec(value);
    if (!m) {
      const unit = /^\s*\d+\s*([A-Za-z]+)\s*$/.exec(value);
      throw fail(`${EXPECTED}, got ${describeValue(value)}${unit ? `: unknown unit "${unit[1]}" (units: k, m, g)` : ''}`);
    }
    bytes = Number(m[1]) * UNIT[m[2]!.toLowerCase()]!;
  } else {
    throw fail(`${EXPECTED}, got ${describeValue(value)}`);
  }
  if (!Number.isSafeInteger(bytes) || bytes < 1) throw fail(`${EXPECTED} of at least 1, got ${describeValue(value)}`);
  return bytes;
}

/** Shortest exact text: 8192 → "8k", 1000 → "1000". */
export function formatSize(bytes: number): string {
  for (const [unit, n] of [
    ['g', UNIT.g!],
    ['m', UNIT.m!],
    ['k', UNIT.k!],
  ] as const) {
    if (bytes >= n && bytes % n === 0) return `${bytes / n}${unit}`;
  }
  return String(bytes);
}

function fail(message: string): HandoffError {
  return new HandoffError('HANDOFF_ERR_CONFIG', 'config', message);
}
