// One JSON line per request (HTTP) or per connection (TCP), to stdout or a file. Lines are
// batched and written once per event-loop turn: a write() per request would cost a system
// call each on the hot path.
import { openSync, writeSync, closeSync } from 'node:fs';
import type { AccessLog as AccessLogConfig } from '../config/types.js';

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
  private fd: number | undefined;
  private owned = false;
  private pending: string[] = [];
  private scheduled = false;
  private unwritten: Buffer | undefined;

  constructor(config: AccessLogConfig) {
    if (config.target === 'stdout') this.fd = 1;
    else if (config.target !== 'off') {
      this.fd = openSync(config.target.file, 'a');
      this.owned = true;
    }
  }

  get enabled(): boolean {
    return this.fd !== undefined;
  }

  write(entry: AccessEntry): void {
    if (this.fd === undefined) return;
    this.pending.push(JSON.stringify(entry));
    if (!this.scheduled) {
      this.scheduled = true;
      setImmediate(this.flush);
    }
  }

  readonly flush = (): void => {
    this.scheduled = false;
    if (this.fd === undefined || (this.pending.length === 0 && this.unwritten === undefined)) return;
    let buf = this.unwritten ?? Buffer.alloc(0);
    if (this.pending.length > 0) {
      buf = Buffer.concat([buf, Buffer.from(this.pending.join('\n') + '\n')]);
      this.pending = [];
    }
    this.unwritten = undefined;
    try {
      const n = writeSync(this.fd, buf);
      if (n < buf.length) this.unwritten = buf.subarray(n);
    } catch (err) {
      // A full non-blocking pipe: keep the bytes for a later turn (bounded below).
      // Anything else (EPIPE: nobody reads) must not take the proxy down: lines are lost.
      if ((err as NodeJS.ErrnoException).code === 'EAGAIN' && buf.length < 8 * 1024 * 1024) this.unwritten = buf;
    }
    if (this.unwritten !== undefined && !this.scheduled) {
      this.scheduled = true;
      setTimeout(this.flush, 10);
    }
  };

  close(): void {
    this.flush();
    if (this.owned && this.fd !== undefined) closeSync(this.fd);
    this.fd = undefined;
  }
}
