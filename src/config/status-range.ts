// Health check `expect`: a status ("200") or an inclusive range ("200-399") within 100..599.
import { HandoffError } from '../lib/errors.js';
import { describeValue } from './describe-value.js';

const EXPECTED = 'expected an HTTP status or an inclusive range of them, such as 200 or "200-399" (within 100-599)';

export function parseStatusRange(value: unknown): { min: number; max: number } {
  const text = typeof value === 'number' || typeof value === 'string' ? String(value).trim() : undefined;
  const m = text === undefined ? null : /^(\d{1,3})(?:\s*-\s*(\d{1,3}))?$/.exec(text);
  if (!m) throw fail(`${EXPECTED}, got ${describeValue(value)}`);
  const min = Number(m[1]);
  const max = m[2] === undefined ? min : Number(m[2]);
  for (const s of [min, max]) {
    if (s < 100 || s > 599) throw fail(`${EXPECTED}, got ${describeValue(value)}: ${s} is not an HTTP status`);
  }
  if (min > max) throw fail(`${EXPECTED}, got ${describeValue(value)}: the range is inverted (${min} > ${max})`);
  return { min, max };
}

function fail(message: string): HandoffError {
  return new HandoffError('HANDOFF_ERR_CONFIG', 'config', message);
}
