// The reloads of the storm: one every --interval (measured from the start of the previous
// one; a reload that takes longer than the interval is followed at once by the next, never
// overlapped), until --reloads N or --duration, whichever comes first. Each is recorded with
// its duration and outcome, and its start time in kernel ticks, so the processes it started
// can be told from the older ones.
import { uptimeTicks } from './process-tracker.js';
import type { Target } from './target.js';
import type { ReloadRecord } from './types.js';

export class Reloader {
  readonly records: ReloadRecord[] = [];
  /** Kernel ticks (/proc/uptime) when the latest reload was requested. */
  lastTicks: number | undefined;
  /** ms since the storm start when the latest reload returned. */
  lastDoneAt: number | undefined;

  constructor(
    private readonly target: Target,
    private readonly now: () => number,
    private readonly onRequest: (at: number) => void,
  ) {}

  /** One reload, recorded. */
  async reload(phase: ReloadRecord['phase']): Promise<ReloadRecord> {
    const at = this.now();
    this.lastTicks = uptimeTicks();
    this.onRequest(at);
    const r = await this.target.reload();
    this.lastDoneAt = this.now();
    const record: ReloadRecord = {
      index: this.records.length + 1,
      phase,
      at: Math.round(at),
      durationMs: Math.round(r.durationMs * 10) / 10,
      ok: r.ok,
      ...(r.error === undefined ? {} : { error: r.error }),
      ...(r.generation === undefined ? {} : { generation: r.generation }),
    };
    this.records.push(record);
    return record;
  }

  /** The storm phase: reloads every intervalMs from `from` (ms since the storm start) until count or until `until`. */
  async storm(opts: { intervalMs: number; count: number; until: number; signal: AbortSignal }): Promise<void> {
    let next = this.now() + opts.intervalMs;
    for (let i = 0; i < opts.count; i++) {
      await sleepUntil(next, this.now, opts.signal);
      if (opts.signal.aborted || this.now() > opts.until) return;
      const started = this.now();
      await this.reload('storm');
      next = started + opts.intervalMs;
    }
  }
}

/** Sleep until `at` (ms since the storm start) or the abort, whichever first. */
export function sleepUntil(at: number, now: () => number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal.aborted) return resolve();
    const done = () => {
      clearTimeout(timer);
      signal.removeEventListener('abort', done);
      resolve();
    };
    const timer = setTimeout(done, Math.max(0, at - now()));
    signal.addEventListener('abort', done, { once: true });
  });
}
