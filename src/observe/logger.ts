// Operational log (not the access log): one line per event on stderr,
//   2026-11-26T16:24:15.123Z info  master  reload finished generation=3 duration_ms=120
// Fields are key=value (values with spaces are JSON-quoted) so lines stay greppable and
// tests can match them. HANDOFF_LOG_LEVEL=debug|info|warn|error (default info).
// HANDOFF_LOG_FORMAT=json writes one JSON object per line instead, for log collectors:
//   {"time":"2026-11-26T16:24:15.123Z","level":"info","component":"master","msg":"reload finished","generation":3,"duration_ms":120}
// Both are environment variables, not config keys: they hold from the first line (before
// the config is read, e.g. its errors at start), and workers inherit them.
// Lines go through a bounded, non-blocking sink (line-sink.ts): a stalled stderr costs
// lines (counted, and reported at most once per 10 s), never a blocked process.
import { LineSink, type DropReport } from './line-sink.js';

export type Level = 'debug' | 'info' | 'warn' | 'error';
export type Fields = Readonly<Record<string, string | number | boolean | undefined | null>>;

const ORDER: Record<Level, number> = { debug: 10, info: 20, warn: 30, error: 40 };

function threshold(): number {
  const env = process.env.HANDOFF_LOG_LEVEL as Level | undefined;
  return env && env in ORDER ? ORDER[env] : ORDER.info;
}

export type OperationalFormat = 'text' | 'json';

/** HANDOFF_LOG_FORMAT, or undefined if it names no format (`handoff start` refuses that). */
export function operationalFormat(env: string | undefined = process.env.HANDOFF_LOG_FORMAT): OperationalFormat | undefined {
  if (env === undefined || env === '' || env === 'text') return 'text';
  return env === 'json' ? 'json' : undefined;
}

function formatValue(v: string | number | boolean): string {
  const s = String(v);
  return s === '' || /[\s"=]/.test(s) ? JSON.stringify(s) : s;
}

export interface Logger {
  debug(message: string, fields?: Fields): void;
  info(message: string, fields?: Fields): void;
  warn(message: string, fields?: Fields): void;
  error(message: string, fields?: Fields): void;
  /** A logger whose lines carry these fields too. */
  child(fields: Fields): Logger;
}

export type Sink = (line: string) => void;

/** The operational log buffers this much at most while stderr does not take it. */
const OPERATIONAL_BUFFER_BYTES = 256 * 1024;

let stderr: LineSink | undefined;

const stderrSink: Sink = (line) => {
  stderr ??= new LineSink(
    { fd: 2 },
    { name: 'operational', maxBuffered: OPERATIONAL_BUFFER_BYTES, report: (r) => stderr?.writeUnbounded(`${dropLine('log', r)}\n`) },
  );
  stderr.write(`${line}\n`);
};

/** The warning that says lines were lost: `log lines dropped log=access dropped=812 total=812 reason="buffer full"`. */
function dropLine(component: string, r: DropReport): string {
  return formatLine('warn', component, 'log lines dropped', [
    { pid: process.pid, log: r.log, dropped: r.dropped, total: r.total, reason: r.reason },
  ]);
}

function formatLine(level: Level, component: string, message: string, sources: (Fields | undefined)[]): string {
  return operationalFormat() === 'json' ? jsonLine(level, component, message, sources) : textLine(level, component, message, sources);
}

// The JSON line's own keys; a field of the same name is written with a trailing _.
const RESERVED = new Set(['time', 'level', 'component', 'msg']);

function jsonLine(level: Level, component: string, message: string, sources: (Fields | undefined)[]): string {
  // A child logger's field overrides the same field of its parent: one key each.
  const fields: Record<string, string | number | boolean> = {};
  for (const src of sources) {
    if (!src) continue;
    for (const [k, v] of Object.entries(src)) {
      if (v === undefined || v === null) continue;
      fields[RESERVED.has(k) ? `${k}_` : k] = typeof v === 'number' && !Number.isFinite(v) ? String(v) : v;
    }
  }
  const rest = JSON.stringify(fields);
  return `{"time":"${new Date().toISOString()}","level":"${level}","component":${JSON.stringify(component)},"msg":${JSON.stringify(message)}${rest === '{}' ? '' : `,${rest.slice(1, -1)}`}}`;
}

function textLine(level: Level, component: string, message: string, sources: (Fields | undefined)[]): string {
  let line = `${new Date().toISOString()} ${level.padEnd(5)} ${component.padEnd(7)} ${message}`;
  for (const src of sources) {
    if (!src) continue;
    for (const [k, v] of Object.entries(src)) {
      if (v !== undefined && v !== null) line += ` ${k}=${formatValue(v)}`;
    }
  }
  return line;
}

export function createLogger(component: string, base: Fields = {}, sink: Sink = stderrSink): Logger {
  const min = threshold();
  const write = (level: Level, message: string, fields?: Fields) => {
    if (ORDER[level] < min) return;
    sink(formatLine(level, component, message, [base, fields]));
  };
  return {
    debug: (m, f) => write('debug', m, f),
    info: (m, f) => write('info', m, f),
    warn: (m, f) => write('warn', m, f),
    error: (m, f) => write('error', m, f),
    child: (fields) => createLogger(component, { ...base, ...fields }, sink),
  };
}

/** A logger that drops the lines `keep` rejects (e.g. health changes a worker merely applies). */
export function filteredLogger(log: Logger, keep: (level: Level, message: string, fields?: Fields) => boolean): Logger {
  return {
    debug: (m, f) => keep('debug', m, f) && log.debug(m, f),
    info: (m, f) => keep('info', m, f) && log.info(m, f),
    warn: (m, f) => keep('warn', m, f) && log.warn(m, f),
    error: (m, f) => keep('error', m, f) && log.error(m, f),
    child: (fields) => filteredLogger(log.child(fields), keep),
  };
}
