// Where log lines go without ever blocking the process that writes them: a bounded buffer
// in front of stdout, stderr or a file. When the buffer is full (the reader stalls) or the
// write fails (EPIPE, EIO, ENOSPC), lines are dropped and counted; the process keeps
// serving. The rules, per destination:
//
//   pipe, socket     a non-blocking net.Socket (see StreamBackend for how it stays
//                    non-blocking); writableLength is what is not yet written.
//   terminal         process.stdout / process.stderr (Node keeps a TTY blocking on POSIX:
//                    a terminal stopped with Ctrl-S can still block).
//   file, /dev/null  fs.write (asynchronous, libuv threadpool), one write in flight; what
//                    waits is this sink's own buffer. At exit the rest is written with
//                    writeSync: a regular file never waits on a reader.
//
// writeSync on a pipe is never used: an inherited pipe is a blocking fd, and a stalled
// reader froze the event loop (and with it every connection of the process).
import { fstatSync, openSync, write as fsWrite, writeSync, closeSync, constants } from 'node:fs';
import net from 'node:net';
import { isatty } from 'node:tty';
import { systemCode } from '../lib/errors.js';
import { makeNonBlocking } from '../lib/node-handles.js';

export type SinkName = 'access' | 'operational';

/** Lines lost in this process since it started, per log: the counters status and /metrics show. */
export const droppedLines: Record<SinkName, number> = { access: 0, operational: 0 };

export interface DropReport {
  readonly log: SinkName;
  /** Lines lost since the previous report. */
  readonly dropped: number;
  readonly total: number;
  /** 'buffer full' or the write error's code. */
  readonly reason: string;
}

interface Backend {
  /** Bytes accepted but not yet written. */
  readonly buffered: number;
  /** Write text (whole lines); `lost(n, err)` is called if it could not be written. */
  write(text: string, lines: number): void;
  /** Close; `last` (whole lines) is written first, synchronously where that cannot block (a file). */
  close(last?: string, lines?: number): void;
  /** Take no more lines; write what is queued and in flight, then close (a reopened log's old file). */
  end(): void;
}

/**
 * stdout/stderr over a pipe, a socket or a terminal, written through a non-blocking
 * net.Socket. The trap: O_NONBLOCK belongs to the open file description, and the master
 * and every worker share the one of their stdout and stderr. libuv clears O_NONBLOCK on it
 * in every child it spawns with inherited stdio (the master forking a worker), and Node
 * restores at exit the flags a process saw at start; the next write of any process to a
 * stalled reader then blocks for good (measured: after a reload, the new worker hung on
 * its first access-log line, and the master on stderr). So:
 *   a pipe (FIFO)   is opened again through /proc/self/fd/N, O_NONBLOCK: a description of
 *                   this process alone, which nobody else can make blocking;
 *   a socket        cannot be opened again: O_NONBLOCK is set again before every write
 *                   (one ioctl per batch); what remains is a window of microseconds
 *                   between that ioctl and the write;
 *   a terminal      process.stdout/stderr as Node makes them (blocking on POSIX).
 */
class StreamBackend implements Backend {
  private failed: string | undefined;
  private readonly stream: net.Socket;
  private readonly reassert: boolean;

  constructor(
    fd: 1 | 2,
    private readonly lost: (lines: number, reason: string) => void,
  ) {
    const own = isFifo(fd) ? reopenNonBlocking(fd) : undefined;
    if (own !== undefined) {
      this.stream = new net.Socket({ fd: own, readable: false, writable: true });
      // Log lines must not keep a process alive that has nothing else to do.
      this.stream.unref();
    } else {
      this.stream = fd === 1 ? process.stdout : process.stderr;
    }
    this.reassert = own === undefined && !isatty(fd);
    // Without a listener an EPIPE would be an uncaught exception: the process would die of
    // its reader going away.
    this.stream.on('error', (err) => {
      this.failed = systemCode(err) ?? err.message;
    });
  }

  get buffered(): number {
    return this.stream.writableLength;
  }

  write(text: string, lines: number): void {
    if (this.failed !== undefined || this.stream.destroyed) {
      this.lost(lines, this.failed ?? 'closed');
      return;
    }
    if (this.reassert) makeNonBlocking(this.stream);
    this.stream.write(text, (err) => {
      if (err) this.lost(lines, systemCode(err) ?? err.message);
    });
  }

  close(last?: string, lines = 0): void {
    // stdout/stderr stay open: other code may still write to them.
    if (last) this.write(last, lines);
  }

  end(): void {
    // Nothing to reopen: the same stream goes on.
  }
}

/** A file or character device: asynchronous writes, one in flight, the rest queued here. */
class FdBackend implements Backend {
  private queue: { text: string; lines: number }[] = [];
  private queued = 0;
  private inFlight = 0;
  private writing = false;
  private closed = false;
  /** end() was called: close once the last queued byte is written. */
  private ending = false;

  constructor(
    private readonly fd: number,
    private readonly owned: boolean,
    private readonly lost: (lines: number, reason: string) => void,
  ) {
    process.on('exit', this.flushAtExit);
  }

  get buffered(): number {
    return this.queued + this.inFlight;
  }

  write(text: string, lines: number): void {
    if (this.closed || this.ending) {
      this.lost(lines, 'closed');
      return;
    }
    this.queue.push({ text, lines });
    this.queued += Buffer.byteLength(text);
    if (!this.writing) this.next();
  }

  private next(): void {
    if (this.queue.length === 0 || this.closed) {
      this.writing = false;
      if (this.ending) this.close();
      return;
    }
    this.writing = true;
    const batch = this.queue;
    this.queue = [];
    const buf = Buffer.from(batch.map((b) => b.text).join(''));
    const lines = batch.reduce((n, b) => n + b.lines, 0);
    this.queued = 0;
    this.inFlight = buf.length;
    this.writeAll(buf, lines);
  }

  private writeAll(buf: Buffer, lines: number): void {
    fsWrite(this.fd, buf, 0, buf.length, null, (err, n) => {
      if (err) {
        this.inFlight = 0;
        this.lost(lines, systemCode(err) ?? err.message);
      } else if (n < buf.length) {
        this.inFlight = buf.length - n;
        this.writeAll(buf.subarray(n), lines);
        return;
      } else {
        this.inFlight = 0;
      }
      this.next();
    });
  }

  /** At exit nothing else can run: what is queued goes out synchronously (a file, not a pipe). */
  private readonly flushAtExit = (): void => {
    if (this.closed) return;
    const text = this.queue.map((b) => b.text).join('');
    this.queue = [];
    try {
      if (text) writeSync(this.fd, text);
    } catch {
      // Exiting: nowhere left to report it.
    }
  };

  end(): void {
    if (this.closed || this.ending) return;
    this.ending = true;
    // Closing now would cut a write in flight (and the fd number could be reused under it).
    if (!this.writing) this.close();
  }

  close(last?: string, lines = 0): void {
    if (this.closed) return;
    // Queued, not written now: it goes out with the queue, after what is in flight.
    if (last) {
      this.queue.push({ text: last, lines });
      this.queued += Buffer.byteLength(last);
    }
    // A write in flight: closing the fd under it would lose its lines (EBADF). Write it and
    // the queue out first, then close (end()); at exit the queue goes out synchronously.
    if (this.writing) {
      this.end();
      return;
    }
    this.flushAtExit();
    this.closed = true;
    process.off('exit', this.flushAtExit);
    if (this.owned) {
      try {
        closeSync(this.fd);
      } catch {
        // already closed
      }
    }
  }
}

export type SinkTarget = { readonly fd: 1 | 2 } | { readonly fd: number; readonly owned: true };

export interface LineSinkOptions {
  readonly name: SinkName;
  /** Bytes buffered at most; past it new lines are dropped. */
  readonly maxBuffered: number;
  /** Minimum time between two drop reports. */
  readonly reportEveryMs?: number;
  /** Where drop reports go (the operational log; for the operational log itself, its own sink). */
  readonly report: (r: DropReport) => void;
}

export class LineSink {
  private readonly backend: Backend;
  private unreported = 0;
  private lastReason = '';
  private lastReport = 0;
  private reportTimer: NodeJS.Timeout | undefined;
  private readonly reportEveryMs: number;

  constructor(
    target: SinkTarget,
    private readonly options: LineSinkOptions,
  ) {
    this.reportEveryMs = options.reportEveryMs ?? 10_000;
    const lost = (lines: number, reason: string) => this.drop(lines, reason);
    if ('owned' in target) this.backend = new FdBackend(target.fd, true, lost);
    else if (isStream(target.fd)) this.backend = new StreamBackend(target.fd as 1 | 2, lost);
    else this.backend = new FdBackend(target.fd, false, lost);
  }

  get buffered(): number {
    return this.backend.buffered;
  }

  /** Write `text` (`lines` whole lines, each ending in \n), or drop it if the buffer is full. */
  write(text: string, lines = 1): boolean {
    if (this.backend.buffered + text.length > this.options.maxBuffered) {
      this.drop(lines, 'buffer full');
      return false;
    }
    this.backend.write(text, lines);
    return true;
  }

  /** Write past the bound: one report line per period, so a drop never goes unsaid. */
  writeUnbounded(text: string): void {
    this.backend.write(text, 1);
  }

  /**
   * Close. `last` (whole lines): what the writer still holds, written first; to a file
   * synchronously (a regular file never waits on a reader), so a process that exits right
   * after loses none of it.
   */
  close(last?: string, lines = 0): void {
    this.reportNow();
    this.backend.close(last, lines);
  }

  /**
   * Take no more lines, but write everything accepted so far before the file is closed,
   * without waiting here: how a reopened log lets go of its old (renamed) file.
   */
  end(): void {
    this.reportNow();
    this.backend.end();
  }

  private reportNow(): void {
    if (this.reportTimer) {
      clearTimeout(this.reportTimer);
      this.reportTimer = undefined;
      this.sendReport();
    }
  }

  private drop(lines: number, reason: string): void {
    droppedLines[this.options.name] += lines;
    this.unreported += lines;
    this.lastReason = reason;
    if (this.reportTimer) return;
    const wait = Math.max(0, this.lastReport + this.reportEveryMs - Date.now());
    this.reportTimer = setTimeout(() => {
      this.reportTimer = undefined;
      this.sendReport();
    }, wait);
    this.reportTimer.unref();
  }

  private sendReport(): void {
    if (this.unreported === 0) return;
    this.lastReport = Date.now();
    const r: DropReport = {
      log: this.options.name,
      dropped: this.unreported,
      total: droppedLines[this.options.name],
      reason: this.lastReason,
    };
    this.unreported = 0;
    this.options.report(r);
  }
}

/** A pipe, a socket or a terminal: written through Node's asynchronous stream. */
function isStream(fd: number): boolean {
  try {
    const st = fstatSync(fd);
    return st.isFIFO() || st.isSocket() || isatty(fd);
  } catch {
    return false;
  }
}

function isFifo(fd: number): boolean {
  try {
    return fstatSync(fd).isFIFO();
  } catch {
    return false;
  }
}

/** A new open file description of the pipe behind fd, non-blocking; undefined if it cannot be had. */
function reopenNonBlocking(fd: number): number | undefined {
  try {
    return openSync(`/proc/self/fd/${fd}`, constants.O_WRONLY | constants.O_NONBLOCK);
  } catch {
    return undefined;
  }
}
