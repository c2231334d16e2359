// One line per request (HTTP) or per connection (TCP), to stdout or a file, as JSON or in
// the combined format (access-format.ts). Lines are batched and written once per
// event-loop turn: a write() per request would cost a system call each on the hot path.
// They go through a bounded, non-blocking LineSink: a reader that stalls costs log lines
// (counted in status and /metrics, warned about on stderr), never a request.
//
// Reopening (SIGUSR1 to the master, relayed to every worker): a log file renamed by
// logrotate is let go and the path opened anew, asynchronously. Until the new file is open,
// lines go on to the old one; what the old one has accepted is written before it is
// closed. No line is lost or doubled and no request waits.
import { close as fsClose, open, openSync } from 'node:fs';
import type { AccessLog as AccessLogConfig, AccessLogFormat } from '../config/types.js';
import type { AccessEntry } from './access-entry.js';
import { entryFormatter, type FormatEntry } from './access-format.js';
export type { AccessEntry } from './access-entry.js';
import { LineSink, type DropReport, type LineSinkOptions } from './line-sink.js';
import { createLogger, type Logger } from './logger.js';

/** What the access log buffers at most while its reader does not keep up (`log.buffer`). */
export const DEFAULT_ACCESS_BUFFER = 1024 * 1024;

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

/** Told the path once new lines go to the reopened file (no path: nothing to reopen). */
export type ReopenDone = (err: Error | null, file?: string) => void;

export class AccessLog {
  private sink: LineSink | undefined;
  private pending: string[] = [];
  private scheduled = false;
  private format: FormatEntry;
  private readonly file: string | undefined;
  private readonly sinkOptions: LineSinkOptions;
  /** Callers waiting for the open in progress; then those that asked during it (one more open). */
  private reopening: ReopenDone[] | undefined;
  private reopenAgain: ReopenDone[] | undefined;

  constructor(config: AccessLogConfig) {
    this.format = entryFormatter(config.format);
    this.sinkOptions = { name: 'access', maxBuffered: config.buffer ?? DEFAULT_ACCESS_BUFFER, report: reportDrops };
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
    this.pending.push(this.format(entry));
    if (!this.scheduled) {
      this.scheduled = true;
      setImmediate(this.flush);
    }
  }

  readonly flush = (): void => {
    this.scheduled = false;
    if (this.sink === undefined || this.pending.length === 0) return;
    const lines = this.pending;
    this.pending = [];
    this.sink.write(`${lines.join('\n')}\n`, lines.length);
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

  close(): void {
    this.flush();
    this.sink?.close();
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
