// One line per request (HTTP) or per connection (TCP), to stdout or a file, as JSON or in
// the combined format (access-format.ts). Lines are batched: written when FLUSH_BYTES are
// pending or FLUSH_MS after the first pending line, whichever comes first. A write per
// request, or even per event-loop turn, costs a system call (a file: a threadpool round
// trip, a thread wake-up) every few requests: measured at 10% of a worker's CPU under
// load (docs/performance.md). They go through a bounded, non-blocking LineSink: a reader
// that stalls costs log lines (counted in status and /metrics, warned about on stderr),
// never a request.
//
// Reopening (SIGUSR1 to the master, relayed to every worker): a log file renamed by
// logrotate is let go and the path opened anew, asynchronously. Until the new file is open,
// lines go on to the old one; what the old one has accepted is written before it is
// closed. No line is lost or doubled and no request waits.
import { close as fsClose, open, openSync } from 'node:fs';
import type { AccessLog as AccessLogConfig, AccessLogFormat } from '../config/types.js';
import type { AccessEntry } from './access-entry.js';
import { entryFormatter, type FormatEntry } from './access-format.js';
import { LineSink, type DropReport, type LineSinkOptions } from './line-sink.js';
import { createLogger, type Logger } from './logger.js';

/** What the access log buffers at most while its reader does not keep up (`log.buffer`). */
export const DEFAULT_ACCESS_BUFFER = 1024 * 1024;

/** Pending lines are written at the latest this long after the first of them. */
export const FLUSH_MS = 20;
/** ... or as soon as this many characters are pending (bounds what waits here). */
export const FLUSH_BYTES = 64 * 1024;

/**
 * The request headers the log records (User-Agent, Referer, X-Request-Id), set on `entry`.
 * One pass over the parsed header list; a name is lower-cased only if its length matches.
 */
export function recordRequestHeaders(entry: AccessEntry, headers: readonly string[]): void {
  for (let i = 0; i < headers.length; i += 2) {
    const name = headers[i]!;
    switch (name.length) {
      case 10:
        if (entry.user_agent === undefined && name.toLowerCase() === 'user-agent') entry.user_agent = headers[i + 1];
        break;
      case 7:
        if (entry.referer === undefined && name.toLowerCase() === 'referer') entry.referer = headers[i + 1];
        break;
      case 12:
        if (entry.client_request_id === undefined && name.toLowerCase() === 'x-request-id') entry.client_request_id = headers[i + 1];
        break;
    }
  }
}

let lastTimeMs = NaN;
let lastTimeIso = '';

/**
 * `new Date(ms).toISOString()`, remembered for the last millisecond asked: under load many
 * entries start in the same millisecond, and building the string costs about 1 µs each.
 */
export function isoTime(ms: number): string {
  if (ms !== lastTimeMs) {
    lastTimeIso = new Date(ms).toISOString();
    lastTimeMs = ms;
  }
  return lastTimeIso;
}

/** Told the path once new lines go to the reopened file (no path: nothing to reopen). */
export type ReopenDone = (err: Error | null, file?: string) => void;

export class AccessLog {
  private sink: LineSink | undefined;
  private pending: string[] = [];
  private pendingChars = 0;
  private timer: NodeJS.Timeout | undefined;
  /** FLUSH_BYTES, or less under a small log.buffer: a batch must fit the sink's bound. */
  private readonly flushChars: number;
  private format: FormatEntry;
  private readonly file: string | undefined;
  private readonly sinkOptions: LineSinkOptions;
  /** Callers waiting for the open in progress; then those that asked during it (one more open). */
  private reopening: ReopenDone[] | undefined;
  private reopenAgain: ReopenDone[] | undefined;

  constructor(config: AccessLogConfig) {
    this.format = entryFormatter(config.format);
    this.sinkOptions = { name: 'access', maxBuffered: config.buffer ?? DEFAULT_ACCESS_BUFFER, report: reportDrops };
    this.flushChars = Math.max(1, Math.min(FLUSH_BYTES, Math.floor(this.sinkOptions.maxBuffered / 4)));
    this.file = typeof config.target === 'object' ? config.target.file : undefined;
    if (config.target === 'stdout') this.sink = new LineSink({ fd: 1 }, this.sinkOptions);
    else if (this.file !== undefined) this.sink = new LineSink({ fd: openSync(this.file, 'a'), owned: true }, this.sinkOptions);
  }

  get enabled(): boolean {
    return this.sink !== undefined;
  }

  /** A live apply changed `log.format`: the next line is written the new way. */
  setFormat(format: AccessLogFormat | undefined): void {
    this.format = entryFormatter(format);
  }

  write(entry: AccessEntry): void {
    if (this.sink === undefined) return;
    const line = this.format(entry);
    this.pending.push(line);
    this.pendingChars += line.length + 1;
    if (this.pendingChars >= this.flushChars) this.flush();
    else this.timer ??= setTimeout(this.flush, FLUSH_MS);
  }

  readonly flush = (): void => {
    if (this.timer !== undefined) {
      clearTimeout(this.timer);
      this.timer = undefined;
    }
    if (this.sink === undefined || this.pending.length === 0) return;
    const lines = this.pending;
    this.pending = [];
    this.pendingChars = 0;
    lines.push('');
    this.sink.write(lines.join('\n'), lines.length - 1);
  };

  /**
   * Open the log file's path again (it was renamed or removed: logrotate). Asynchronous;
   * `done` is told the path once lines go to the new file, or no path when there is no
   * file to reopen (stdout, off).
   */
  reopen(done: ReopenDone = () => {}): void {
    if (this.file === undefined || this.sink === undefined) {
      done(null);
      return;
    }
    if (this.reopening !== undefined) {
      // A rotation during the open: open once more after it, so the newest file wins.
      this.reopenAgain ??= [];
      this.reopenAgain.push(done);
      return;
    }
    this.openAgain(this.file, [done]);
  }

  private openAgain(file: string, waiters: ReopenDone[]): void {
    this.reopening = waiters;
    open(file, 'a', (err, fd) => {
      this.reopening = undefined;
      if (!err) {
        if (this.sink === undefined) {
          closeQuietly(fd); // closed meanwhile: the worker is stopping
        } else {
          // Lines already formatted belong to the old file: hand them over, then switch.
          this.flush();
          const old = this.sink;
          this.sink = new LineSink({ fd, owned: true }, this.sinkOptions);
          old.end();
        }
      }
      for (const w of waiters) w(err, file);
      const again = this.reopenAgain;
      this.reopenAgain = undefined;
      if (again) {
        if (this.sink === undefined) for (const w of again) w(null);
        else this.openAgain(file, again);
      }
    });
  }

  /** Stop: the lines held here are written synchronously with the sink's close (a file). */
  close(): void {
    if (this.timer !== undefined) {
      clearTimeout(this.timer);
      this.timer = undefined;
    }
    const held = this.pending;
    this.pending = [];
    this.pendingChars = 0;
    held.push('');
    this.sink?.close(held.length > 1 ? held.join('\n') : undefined, held.length - 1);
    this.sink = undefined;
  }
}

function closeQuietly(fd: number): void {
  fsClose(fd, () => {});
}

let dropLog: Logger | undefined;

/** Lost access-log lines are said on the operational log (stderr), at most once per period. */
function reportDrops(r: DropReport): void {
  dropLog ??= createLogger('access', { pid: process.pid });
  dropLog.warn('log lines dropped', { log: r.log, dropped: r.dropped, total: r.total, reason: r.reason });
}
