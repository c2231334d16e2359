// Scalar value kinds the schema refers to with the `x-kind` keyword. Each parser throws a
// HandoffError whose message says what was expected; the schema reports that message as is.
import { HandoffError } from '../lib/errors.js';
import { parseAddress, parseBind } from './address.js';
import { describeValue } from './describe-value.js';
import { parseDuration } from './duration.js';
import { checkHeaderName, parseHeaderTemplate } from './header-rules.js';
import { parseHostPattern } from './host-pattern.js';
import { checkName } from './names.js';
import { parsePathPrefix, parseRequestPath } from './request-path.js';
import { parseSize } from './size.js';
import { parseStatusRange } from './status-range.js';
import { parseWorkers } from './workers.js';

const METHOD = /^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/;

export const VALUE_KINDS = {
  duration: parseDuration,
  size: parseSize,
  bind: parseBind,
  address: (v: unknown) => parseAddress(v),
  'server-address': (v: unknown) => parseAddress(v, { wildcard: false }),
  workers: parseWorkers,
  'host-pattern': parseHostPattern,
  'path-prefix': parsePathPrefix,
  'request-path': parseRequestPath,
  'status-range': parseStatusRange,
  'header-template': parseHeaderTemplate,
  'header-name': checkHeaderName,
  'server-name': (v: unknown) => checkName(v, 'server'),
  'http-method': (v: unknown) => {
    if (typeof v === 'string' && METHOD.test(v)) return v;
    throw new HandoffError('HANDOFF_ERR_CONFIG', 'config', `expected an HTTP method such as GET or HEAD, got ${describeValue(v)}`);
  },
} satisfies Record<string, (value: unknown) => unknown>;

export type ValueKind = keyof typeof VALUE_KINDS;

/** The message of a value that does not parse as `kind`, or undefined when it does. */
export function valueKindError(kind: ValueKind, value: unknown): string | undefined {
  try {
    VALUE_KINDS[kind](value);
    return undefined;
  } catch (err) {
    if (err instanceof HandoffError) return err.message;
    throw err;
  }
}
