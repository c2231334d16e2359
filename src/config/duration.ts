// Durations are written with a unit ("250ms", "5s", "2m", "1h", "1m30s") so that a bare
// number never silently means seconds in one place and milliseconds in another.
import { HandoffError } from '../lib/errors.js';
import type { Duration } from './types.js';
import { describeValue } from './describe-value.js';

const UNIT_MS: Readonly<Record<string, number>> = { ms: 1, s: 1_000, m: 60_000, h: 3_600_000 };

/** Node timers overflow past 2^31-1 ms (they fire at once), so nothing longer is accepted. */
export const MAX_DURATION_MS = 2_147_483_647;

const EXPECTED = 'expected a duration with a unit (250ms, 5s, 2m, 1h)';
const PART = /(\d+(?:\.\d+)?)([A-Za-z]+)/y;

/** Milliseconds of a duration string; throws HandoffError (HANDOFF_ERR_CONFIG) with a message that says what was expected. */
export function parseDuration(value: unknown): Duration {
  if (typeof value === 'number') throw fail(`${EXPECTED}, got ${value}: a bare number has no unit`);
  if (typeof value !== 'string') throw fail(`${EXPECTED}, got ${describeValue(value)}`);
  const text = value.trim();
  if (text.startsWith('-')) throw fail(`${EXPECTED}, got ${describeValue(value)}: a duration cannot be negative`);
  if (/^\d+(\.\d+)?$/.test(text)) throw fail(`${EXPECTED}, got ${describeValue(value)}: a bare number has no unit`);
  let total = 0;
  for (let pos = 0; pos < text.length; pos = PART.lastIndex) {
    PART.lastIndex = pos;
    const m = PART.exec(text);
    if (!m) throw fail(`${EXPECTED}, got ${describeValue(value)}`);
    const unit = Object.hasOwn(UNIT_MS, m[2]!) ? UNIT_MS[m[2]!] : undefined;
    if (unit === undefined) throw fail(`${EXPECTED}, got ${describeValue(value)}: unknown unit "${m[2]}" (units: ms, s, m, h)`);
    total += Number(m[1]) * unit;
  }
  if (text.length === 0) throw fail(`${EXPECTED}, got an empty string`);
  const ms = Math.round(total);
  if (ms > MAX_DURATION_MS) throw fail(`duration ${describeValue(value)} is too long (at most 596h)`);
  return ms;
}

/** Shortest exact text for a duration: 1500 → "1500ms", 90000 → "1m30s". */
export function formatDuration(ms: Duration): string {
  if (ms === 0) return '0s';
  if (ms % 1000 !== 0) return `${ms}ms`;
  let rest = ms / 1000;
  let out = '';
  const h = Math.floor(rest / 3600);
  rest -= h * 3600;
  const m = Math.floor(rest / 60);
  rest -= m * 60;
  if (h) out += `${h}h`;
  if (m) out += `${m}m`;
  if (rest) out += `${rest}s`;
  return out;
}

function fail(message: string): HandoffError {
  return new HandoffError('HANDOFF_ERR_CONFIG', 'config', message);
}
