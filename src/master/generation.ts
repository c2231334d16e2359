// A generation: the workers started for one config, numbered monotonically, with its life
// cycle as an explicit state:
//
//   starting ──all ready──▶ active ──a newer one is active──▶ draining ──all exited──▶ stopped
//      └──a worker fails, crashes or times out──▶ failed (its workers are killed)
//
// While active, a worker that dies is replaced (same config, current sockets and health),
// with a growing delay when it keeps crashing. A draining generation has a hard deadline;
// the master SIGKILLs what is left a grace period after it (invariant I4).
import type { Config } from '../config/types.js';
import type { HealthSnapshot } from '../backend/types.js';
import type { Logger } from '../observe/logger.js';
import type { GenerationState, GenerationStatus } from '../protocol/control.js';
import type { WorkerMessage } from '../protocol/ipc.js';
import type { ListenerRegistry } from './listener-registry.js';
import { applyToWorkers } from './live-apply.js';
import { SpawnBackoff } from './spawn-backoff.js';
import { WorkerProcess, type WorkerSpawner } from './worker-process.js';

/** How long after the drain deadline a worker may take to exit before SIGKILL. */
export const KILL_GRACE_MS = 2000;
/** Bound on a worker's start (fork, load, listen). */
export const START_TIMEOUT_MS = 15_000;

export interface GenerationDeps {
  readonly log: Logger;
  readonly listeners: ListenerRegistry;
  readonly health: () => HealthSnapshot;
  readonly onWorkerMessage: (gen: Generation, worker: WorkerProcess, message: WorkerMessage, handle: unknown) => void;
  /** Called for every worker process started (the first ones and replacements). */
  readonly onWorkerSpawned?: (worker: WorkerProcess) => void;
  /** Called when the last worker of the generation has exited. */
  readonly onStopped: (gen: Generation) => void;
  /** How worker processes start (default: fork). */
  readonly spawnWorker?: WorkerSpawner;
}

export interface DrainTotals {
  migrated: number;
  closedIdle: number;
  timedOut: number;
  killed: number;
}

export class Generation {
  state: GenerationState = 'starting';
  readonly startedAt = Date.now();
  drainDeadline: number | undefined;
  drainStartedAt: number | undefined;
  /** Workers now alive (replaced ones are removed). */
  workers: WorkerProcess[] = [];
  crashes = 0;
  /** Replacements started per worker slot (index): status shows them as each worker's restarts. */
  private readonly respawns = new Map<number, number>();
  private readonly exitedDrains: DrainTotals = { migrated: 0, closedIdle: 0, timedOut: 0, killed: 0 };
  private readonly replacer: SpawnBackoff;
  private stoppedWaiters: (() => void)[] = [];
  /** Reload that drained this generation (to report its drain totals). */
  drainedBy: number | undefined;

  /** The config in force: the one it started with, then each one applied live. */
  config: Config;
  /** Its generation number (the process generation's own number until a live apply). */
  configGeneration: number;

  constructor(
    readonly number: number,
    config: Config,
    private readonly deps: GenerationDeps,
  ) {
    this.config = config;
    this.configGeneration = number;
    this.replacer = new SpawnBackoff({
      generation: number,
      log: deps.log,
      wanted: () => this.state === 'active',
      start: (index) => {
        const init = {
          config: this.config,
          configGeneration: this.configGeneration,
          health: this.deps.health(),
          listeners: this.listenersFor(),
        };
        this.respawns.set(index, (this.respawns.get(index) ?? 0) + 1);
        const worker = this.spawn(index);
        // A live apply committed while it started: bring it to the config in force once ready.
        const ready = worker.start(init, START_TIMEOUT_MS).then(() => {
          if (worker.configGeneration !== this.configGeneration) void this.sync(worker);
        });
        return { worker, ready };
      },
    });
  }

  private spawn(index: number): WorkerProcess {
    const w = new WorkerProcess(
      this.number,
      index,
      {
        onMessage: (worker, message, handle) => this.deps.onWorkerMessage(this, worker, message, handle),
        onExit: (worker, code, signal) => this.onWorkerExit(worker, code, signal),
      },
      this.deps.log,
      this.deps.spawnWorker,
    );
    this.workers.push(w);
    this.deps.onWorkerSpawned?.(w);
    return w;
  }

  private listenersFor() {
    const keys = this.config.frontends.flatMap((f) => f.binds.map((b) => b.key));
    return keys.map((key) => {
      const l = this.deps.listeners.get(key);
      if (!l) throw new Error(`no listening socket for ${key}`);
      return { key, handle: l.handle };
    });
  }

  /** Start every worker; resolves when all are ready. On failure every worker is killed and it rejects. */
  async start(): Promise<void> {
    const listeners = this.listenersFor();
    const health = this.deps.health();
    try {
      const started = [];
      for (let i = 0; i < this.config.workers; i++) {
        started.push(
          this.spawn(i).start({ config: this.config, configGeneration: this.configGeneration, health, listeners }, START_TIMEOUT_MS),
        );
      }
      await Promise.all(started);
      this.state = 'active';
    } catch (err) {
      this.state = 'failed';
      for (const w of this.workers) w.kill('SIGKILL');
      await Promise.all(this.workers.map((w) => w.exited));
      throw err;
    }
  }

  private onWorkerExit(w: WorkerProcess, code: number | null, signal: NodeJS.Signals | null) {
    if (w.drained) {
      this.exitedDrains.migrated += w.drained.migrated;
      this.exitedDrains.closedIdle += w.drained.closedIdle;
      this.exitedDrains.timedOut += w.drained.timedOut;
    }
    if (w.killedAtDeadline) this.exitedDrains.killed++;
    this.workers = this.workers.filter((x) => x !== w);
    if (this.state === 'active') {
      // A crash in the active generation: replace it, backing off while replacements fail.
      this.crashes++;
      this.replacer.workerDied(w, code, signal, this.crashes);
      return;
    }
    if (this.workers.length === 0 && (this.state === 'draining' || this.state === 'failed')) {
      if (this.state === 'draining') this.state = 'stopped';
      for (const s of this.stoppedWaiters.splice(0)) s();
      this.deps.onStopped(this);
    }
  }

  /**
   * Tell every worker to drain by `deadline`; resolves once each confirmed it stopped accepting.
   * `sameConfig`: the generation taking over runs this generation's config (a restart).
   */
  async drain(deadline: number, migrate: boolean, reload: number, sameConfig = false): Promise<void> {
    if (this.state === 'draining' || this.state === 'stopped' || this.state === 'failed') return;
    this.state = 'draining';
    this.drainDeadline = deadline;
    this.drainStartedAt = Date.now();
    this.drainedBy = reload;
    this.replacer.cancel();
    if (this.workers.length === 0) {
      this.state = 'stopped';
      this.deps.onStopped(this);
      return;
    }
    for (const w of this.workers) w.killAt(deadline + KILL_GRACE_MS, 'drain deadline');
    await Promise.all(this.workers.map((w) => w.drain(deadline, migrate, reload, sameConfig)));
  }

  /** Stop now: SIGKILL every worker. */
  kill(): void {
    this.state = this.state === 'starting' ? 'failed' : this.state === 'active' ? 'draining' : this.state;
    this.replacer.cancel();
    for (const w of this.workers) w.kill('SIGKILL');
  }

  get alive(): boolean {
    return this.workers.some((w) => w.alive);
  }

  whenStopped(): Promise<void> {
    if (!this.alive) return Promise.resolve();
    return new Promise((r) => this.stoppedWaiters.push(r));
  }

  get drainTotals(): DrainTotals {
    return { ...this.exitedDrains };
  }

  /**
   * Bring one worker to the config in force with a live apply of its own (a replacement
   * that started with an older config, or one whose commit failed). A worker that still
   * cannot take it is replaced: every worker of the active generation runs the same config.
   */
  async sync(w: WorkerProcess): Promise<void> {
    if (this.state !== 'active' || w.state !== 'ready' || w.configGeneration === this.configGeneration) return;
    const generation = this.configGeneration;
    const config = this.config;
    try {
      await applyToWorkers([w], { generation, config, health: this.deps.health(), listeners: this.deps.listeners });
    } catch (err) {
      if (this.state !== 'active' || w.configGeneration === this.configGeneration) return;
      this.deps.log.error('worker could not take the config in force; replacing it', {
        gen: this.number,
        pid: w.pid,
        config_generation: generation,
        error: (err as Error).message,
      });
      w.kill('SIGKILL');
      return;
    }
    if (this.configGeneration !== generation) void this.sync(w);
  }

  /** Ready workers that can take migrated connections. */
  readyWorkers(): WorkerProcess[] {
    return this.workers.filter((w) => w.state === 'ready');
  }

  status(
    counters: Map<number, { connections: GenerationStatus['workers'][number]['connections']; requests: number } | undefined>,
  ): GenerationStatus {
    const respawn = this.state === 'active' ? this.replacer.status() : undefined;
    return {
      number: this.number,
      state: this.state,
      startedAt: this.startedAt,
      configGeneration: this.configGeneration,
      configHash: this.config.hash,
      configFile: this.config.source,
      ...(this.drainDeadline !== undefined ? { drainDeadline: this.drainDeadline } : {}),
      ...(this.drainStartedAt !== undefined ? { drainStartedAt: this.drainStartedAt } : {}),
      crashes: this.crashes,
      workersWanted: this.config.workers,
      ...(respawn ? { respawn } : {}),
      workers: this.workers.map((w) => {
        const c = counters.get(w.pid);
        return {
          pid: w.pid,
          generation: this.number,
          configGeneration: w.configGeneration,
          state: w.state,
          startedAt: w.startedAt,
          connections: c?.connections,
          requests: c?.requests,
          restarts: this.respawns.get(w.index) ?? 0,
        };
      }),
    };
  }
}
