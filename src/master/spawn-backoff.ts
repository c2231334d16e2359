// Replacing the workers an active generation loses, with a backoff that grows while
// replacements keep failing:
//
//   worker dies ──delay──▶ fork ──ready──▶ replaced
//                            ├─ fork fails (EMFILE, EAGAIN, ENOMEM, ...) ──delay──▶ fork again
//                            └─ not ready (crashed, failed, timed out) ──killed; its exit is a death
//
// The delay is 100 ms, 200 ms, 400 ms, ... up to 10 s, and starts again from 100 ms once a
// worker has lived 30 s. Nothing here throws: the master outlives every failure to start a
// worker (a master that died of it would take the surviving workers and the port with it),
// logs each one, and status shows them (workers wanted vs alive, last error, next attempt).
import type { Logger } from '../observe/logger.js';
import type { RespawnStatus } from '../protocol/control.js';
import { spawnFailureDetail } from './spawn-error.js';
import type { WorkerProcess } from './worker-process.js';

export const MIN_BACKOFF_MS = 100;
export const MAX_BACKOFF_MS = 10_000;
/** A worker that lived this long resets the backoff. */
export const STABLE_MS = 30_000;

/** A worker forked for a slot, and its start (resolves once it listens). */
export interface Replacement {
  readonly worker: WorkerProcess;
  readonly ready: Promise<void>;
}

export interface SpawnBackoffDeps {
  readonly generation: number;
  readonly log: Logger;
  /** True while the generation wants its lost workers replaced (it is active). */
  readonly wanted: () => boolean;
  /** Fork and start a worker for slot `index`; throws when no process could be started. */
  readonly start: (index: number) => Replacement;
}

export class SpawnBackoff {
  /** Consecutive failures (deaths or failed starts) since a worker last lived STABLE_MS. */
  private streak = 0;
  /** Pending attempts: timer → when it fires (epoch ms). */
  private readonly pending = new Map<NodeJS.Timeout, number>();
  private failures = 0;
  private lastError: { detail: string; at: number } | undefined;

  constructor(private readonly deps: SpawnBackoffDeps) {}

  /** A worker of the active generation died (`crashes` so far, this one included): replace it after the backoff. */
  workerDied(w: WorkerProcess, code: number | null, signal: NodeJS.Signals | null, crashes: number): void {
    if (Date.now() - w.startedAt > STABLE_MS) this.streak = 0;
    const delay = this.nextDelay();
    this.deps.log.warn('worker died; replacing it', { gen: this.deps.generation, pid: w.pid, code, signal, crashes, in_ms: delay });
    this.schedule(w.index, delay);
  }

  /** No more replacements (the generation drains or is killed). */
  cancel(): void {
    for (const t of this.pending.keys()) clearTimeout(t);
    this.pending.clear();
  }

  status(): RespawnStatus | undefined {
    if (this.failures === 0 && this.pending.size === 0) return undefined;
    const next = this.pending.size > 0 ? Math.min(...this.pending.values()) : undefined;
    return {
      failures: this.failures,
      ...(this.lastError ? { lastError: this.lastError.detail, lastErrorAt: this.lastError.at } : {}),
      ...(next !== undefined ? { nextAttemptAt: next } : {}),
    };
  }

  private nextDelay(): number {
    const delay = Math.min(MAX_BACKOFF_MS, MIN_BACKOFF_MS * 2 ** Math.min(this.streak, 20));
    this.streak++;
    return delay;
  }

  private schedule(index: number, delay: number): void {
    const timer = setTimeout(() => {
      this.pending.delete(timer);
      if (this.deps.wanted()) void this.attempt(index);
    }, delay);
    this.pending.set(timer, Date.now() + delay);
  }

  private async attempt(index: number): Promise<void> {
    const gen = this.deps.generation;
    let replacement: Replacement;
    try {
      replacement = this.deps.start(index);
    } catch (err) {
      // No process: nothing will exit, so the retry is scheduled here.
      const detail = await spawnFailureDetail(err);
      this.failed(detail);
      if (!this.deps.wanted()) return;
      const delay = this.nextDelay();
      this.deps.log.error('could not start a replacement worker; retrying', {
        gen,
        index,
        error: detail,
        failures: this.failures,
        in_ms: delay,
      });
      this.schedule(index, delay);
      return;
    }
    const { worker, ready } = replacement;
    ready.then(
      () => this.deps.log.info('replacement worker ready', { gen, pid: worker.pid }),
      (err: Error) => {
        // Its exit comes back through workerDied, which schedules the next attempt.
        this.failed(err.message);
        this.deps.log.error('replacement worker failed', { gen, pid: worker.pid, error: err.message });
        worker.kill('SIGKILL');
      },
    );
  }

  private failed(detail: string): void {
    this.failures++;
    this.lastError = { detail, at: Date.now() };
  }
}
