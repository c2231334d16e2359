// One JSON line per request (HTTP) or per connection (TCP), to stdout or a file. Lines are
// batched and written once per event-loop turn: a write() per request would cost a system
// call each on the hot path. They go through a bounded, non-blocking LineSink: a reader
// that stalls costs log lines (counted in status and /metrics, warned about on stderr),
// never a request.
import { openSync } from 'node:fs';
import type { AccessLog as AccessLogConfig } from '../config/types.js';
import { LineSink, type DropReport } from './line-sink.js';
import { createLogger, type Logger } from './logger.js';

/** What the access log buffers at most while its reader does not keep up (`log.buffer`). */
export const DEFAULT_ACCESS_BUFFER = 1024 * 1024;

export interface AccessEntry {
  time: string;
  generation: number;
  pid: number;
  client: string;
  frontend: string;
  route?: string | undefined;
  backend?: string | undefined;
  server?: string | undefined;
  method?: string;
  path?: string;
  status?: number;
  bytes_in: number;
  bytes_out: number;
  /** Milliseconds: queue wait, connect, until response headers, total. */
  timings: { queue?: number; connect?: number; response?: number; total: number };
  /** Why the request or connection ended: ok, or what went wrong and on which side. */
  termination: string;
  retries?: number;
  migrated?: boolean;
}

export class AccessLog {
  private sink: LineSink | undefined;
  private pending: string[] = [];
  private scheduled = false;

  constructor(config: AccessLogConfig) {
    const options = { name: 'access' as const, maxBuffered: config.buffer ?? DEFAULT_ACCESS_BUFFER, report: reportDrops };
    if (config.target === 'stdout') this.sink = new LineSink({ fd: 1 }, options);
    else if (config.target !== 'off') this.sink = new LineSink({ fd: openSync(config.target.file, 'a'), owned: true }, options);
  }

  get enabled(): boolean {
    return this.sink !== undefined;
  }

  write(entry: AccessEntry): void {
    if (this.sink === undefined) return;
    this.pending.push(JSON.stringify(entry));
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
    this.sink.write(lines.join('\n') + '\n', lines.length);
  };

  close(): void {
    this.flush();
    this.sink?.close();
    this.sink = undefined;
  }
}

let dropLog: Logger | undefined;

/** Lost access-log lines are said on the operational log (stderr), at most once per period. */
function reportDrops(r: DropReport): void {
  dropLog ??= createLogger('access', { pid: process.pid });
  dropLog.warn('log lines dropped', { log: r.log, dropped: r.dropped, total: r.total, reason: r.reason });
}
