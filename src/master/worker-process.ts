// One worker process as the master sees it, with its life cycle as an explicit state:
//
//   starting ──ready──▶ ready ──drain──▶ draining ──exit──▶ exited
//      └──failed / exit / timeout──▶ exited (the start promise rejects)
//
// The worker is a Node process forked with an IPC channel; it gets its listening sockets
// as handles and reports back with typed messages (src/protocol/ipc.ts).
import { fork, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import type { Config } from '../config/types.js';
import type { HealthSnapshot } from '../backend/types.js';
import type { TcpHandle } from '../lib/node-handles.js';
import type { Logger } from '../observe/logger.js';
import type { WorkerCounters } from '../protocol/counters.js';
import type { WorkerState } from '../protocol/control.js';
import { WorkerSpawnError } from './spawn-error.js';
import { parseWorkerMessage, type MasterMessage, type WorkerMessage } from '../protocol/ipc.js';

const WORKER_MAIN = fileURLToPath(new URL('../worker/main.js', import.meta.url));

/**
 * The worker's environment: the master's, minus NODE_EXTRA_CA_CERTS. Node parses that CA
 * bundle at the start of every process (measured here: 30 of a worker's 50 ms of start-up
 * CPU), and a worker verifies no certificate. Reloading often makes it add up.
 */
function workerEnv(): NodeJS.ProcessEnv {
  const env = { ...process.env };
  delete env.NODE_EXTRA_CA_CERTS;
  return env;
}

/**
 * Starts the process of one worker of `generation`. The default forks
 * dist/src/worker/main.js; tests pass their own to run generation and master logic without
 * forking (test/master/fake-worker.ts).
 */
export type WorkerSpawner = (generation: number) => ChildProcess;

export const forkWorker: WorkerSpawner = (generation) =>
  fork(WORKER_MAIN, ['--generation', String(generation), '--master', String(process.pid)], {
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
    serialization: 'json',
    env: workerEnv(),
  });

export interface WorkerEvents {
  /** A message other than the life-cycle ones (migrate, health, ...), with its handle. */
  onMessage(worker: WorkerProcess, message: WorkerMessage, handle: unknown): void;
  /** The process exited (whatever its state). */
  onExit(worker: WorkerProcess, code: number | null, signal: NodeJS.Signals | null): void;
}

export interface DrainResult {
  migrated: number;
  closedIdle: number;
  timedOut: number;
}

export class WorkerProcess {
  state: WorkerState = 'starting';
  readonly startedAt = Date.now();
  readonly child: ChildProcess;
  readonly pid: number;
  drained: DrainResult | undefined;
  /** The newest counters it reported (an answer to counters? or its final ones with 'drained'). */
  lastCounters: WorkerCounters | undefined;
  /** Generation of the config this worker runs (raised by each live apply it committed). */
  configGeneration = 0;
  /** Listening sockets this worker was given (a live apply sends only the new ones). */
  listenerKeys = new Set<string>();
  private readonly applyWaiters = new Map<string, { resolve: () => void; reject: (e: Error) => void }>();
  private readyWaiters: { resolve: () => void; reject: (e: Error) => void } | undefined;
  private drainingWaiters: (() => void)[] = [];
  private counterSeq = 0;
  private readonly counterWaiters = new Map<number, (c: WorkerCounters | undefined) => void>();
  private killTimer: NodeJS.Timeout | undefined;
  /** killAt's deadline passed and it sent SIGKILL (a drain that did not finish in time). */
  killedAtDeadline = false;
  readonly exited: Promise<void>;

  constructor(
    readonly generation: number,
    readonly index: number,
    private readonly events: WorkerEvents,
    private readonly log: Logger,
    spawn: WorkerSpawner = forkWorker,
  ) {
    this.child = spawn(generation);
    if (this.child.pid === undefined) throw new WorkerSpawnError(this.child);
    this.pid = this.child.pid;
    this.exited = new Promise((resolve) => {
      this.child.once('exit', (code, signal) => {
        const was = this.state;
        this.state = 'exited';
        clearTimeout(this.killTimer);
        this.readyWaiters?.reject(new Error(`worker ${this.pid} exited during start (${signal ?? `code ${code}`})`));
        this.readyWaiters = undefined;
        for (const w of this.drainingWaiters.splice(0)) w();
        for (const w of this.counterWaiters.values()) w(undefined);
        this.counterWaiters.clear();
        for (const w of this.applyWaiters.values()) w.reject(new Error(`worker ${this.pid} exited (${signal ?? `code ${code}`})`));
        this.applyWaiters.clear();
        if (was !== 'draining' && was !== 'starting') this.log.warn('worker exited', { pid: this.pid, gen: generation, code, signal });
        this.events.onExit(this, code, signal);
        resolve();
      });
    });
    this.child.on('error', (err) => this.log.error('worker process error', { pid: this.pid, error: err.message }));
    this.child.on('message', (raw: unknown, handle: unknown) => this.onMessage(raw, handle));
  }

  private onMessage(raw: unknown, handle: unknown) {
    const msg = parseWorkerMessage(raw);
    if (!msg) {
      this.log.warn('ignoring a malformed message from a worker', { pid: this.pid, message: JSON.stringify(raw)?.slice(0, 200) });
      return;
    }
    switch (msg.type) {
      case 'ready':
        if (this.state === 'starting') this.state = 'ready';
        this.readyWaiters?.resolve();
        this.readyWaiters = undefined;
        return;
      case 'failed':
        this.log.error('worker failed', { pid: this.pid, gen: this.generation, error: msg.error });
        this.readyWaiters?.reject(new Error(msg.error));
        this.readyWaiters = undefined;
        return;
      case 'draining':
        for (const w of this.drainingWaiters.splice(0)) w();
        return;
      case 'prepared':
        this.settleApply(`prepare:${msg.id}`);
        return;
      case 'prepare-failed':
        this.settleApply(`prepare:${msg.id}`, new Error(msg.error));
        return;
      case 'committed':
        this.configGeneration = msg.generation;
        this.settleApply(`commit:${msg.id}`);
        return;
      case 'drained':
        this.drained = { migrated: msg.migrated, closedIdle: msg.closedIdle, timedOut: msg.timedOut };
        if (msg.counters) this.lastCounters = msg.counters;
        return;
      case 'counters': {
        const w = this.counterWaiters.get(msg.id);
        this.counterWaiters.delete(msg.id);
        this.lastCounters = msg.counters;
        w?.(msg.counters);
        return;
      }
      default:
        this.events.onMessage(this, msg, handle);
    }
  }

  private settleApply(key: string, err?: Error) {
    const w = this.applyWaiters.get(key);
    this.applyWaiters.delete(key);
    if (err) w?.reject(err);
    else w?.resolve();
  }

  /** Send one step of a live apply and wait for its answer, at most timeoutMs. Rejects with the worker's cause. */
  private applyStep(key: string, timeoutMs: number, send: () => Promise<void>): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      if (this.state !== 'ready') {
        reject(new Error(`worker ${this.pid} is ${this.state}`));
        return;
      }
      const timer = setTimeout(() => {
        this.applyWaiters.delete(key);
        reject(new Error(`worker ${this.pid} did not answer within ${timeoutMs}ms`));
      }, timeoutMs);
      this.applyWaiters.set(key, {
        resolve: () => {
          clearTimeout(timer);
          resolve();
        },
        reject: (e) => {
          clearTimeout(timer);
          reject(new Error(`worker ${this.pid}: ${e.message}`));
        },
      });
      send().catch((e: Error) => this.settleApply(key, e));
    });
  }

  /** Live apply, step 1: the worker compiles `config` beside its own and receives the new binds' sockets. */
  prepare(
    id: number,
    generation: number,
    config: Config,
    health: HealthSnapshot,
    listeners: readonly { key: string; handle: TcpHandle }[],
    timeoutMs: number,
  ): Promise<void> {
    return this.applyStep(`prepare:${id}`, timeoutMs, async () => {
      await this.send({ type: 'prepare', id, generation, config, health, listeners: listeners.map((l) => l.key) });
      for (const l of listeners) await this.send({ type: 'listener', key: l.key, apply: id }, l.handle);
    });
  }

  /** Live apply, step 2: put it in force; resolves once the worker did (and listens on new binds). */
  commit(id: number, listenerKeys: readonly string[], timeoutMs: number): Promise<void> {
    return this.applyStep(`commit:${id}`, timeoutMs, () => this.send({ type: 'commit', id })).then(() => {
      this.listenerKeys = new Set(listenerKeys);
    });
  }

  /** Live apply abandoned: the worker drops what it prepared (no answer expected). */
  abort(id: number): void {
    this.applyWaiters.get(`prepare:${id}`)?.reject(new Error('aborted'));
    this.applyWaiters.delete(`prepare:${id}`);
    this.send({ type: 'abort', id }).catch(() => {});
  }

  get alive(): boolean {
    return this.state !== 'exited';
  }

  send(message: MasterMessage, handle?: TcpHandle): Promise<void> {
    return new Promise((resolve, reject) => {
      if (!this.child.connected) {
        reject(new Error(`worker ${this.pid}: IPC channel closed`));
        return;
      }
      try {
        this.child.send(message, handle as never, undefined, (err: Error | null) => (err ? reject(err) : resolve()));
      } catch (err) {
        reject(err as Error);
      }
    });
  }

  /** Send the config and the listening sockets; resolves once the worker listens on all of them. */
  start(
    init: { config: Config; configGeneration: number; health: HealthSnapshot; listeners: readonly { key: string; handle: TcpHandle }[] },
    timeoutMs: number,
  ): Promise<void> {
    this.configGeneration = init.configGeneration;
    this.listenerKeys = new Set(init.listeners.map((l) => l.key));
    const ready = new Promise<void>((resolve, reject) => {
      this.readyWaiters = { resolve, reject };
      const timer = setTimeout(() => reject(new Error(`worker ${this.pid} not ready after ${timeoutMs}ms`)), timeoutMs);
      const clear = () => clearTimeout(timer);
      this.readyWaiters = {
        resolve: () => {
          clear();
          resolve();
        },
        reject: (e) => {
          clear();
          reject(e);
        },
      };
    });
    void (async () => {
      try {
        await this.send({
          type: 'init',
          generation: this.generation,
          configGeneration: init.configGeneration,
          index: this.index,
          config: init.config,
          health: init.health,
          listeners: init.listeners.map((l) => l.key),
        });
        for (const l of init.listeners) await this.send({ type: 'listener', key: l.key }, l.handle);
      } catch (err) {
        this.readyWaiters?.reject(err as Error);
      }
    })();
    return ready;
  }

  /** Tell the worker to drain; resolves when it confirms it no longer accepts (bounded). */
  drain(deadline: number, migrate: boolean, reload: number, sameConfig = false, confirmMs = 2000): Promise<void> {
    if (this.state === 'exited') return Promise.resolve();
    this.state = 'draining';
    return new Promise<void>((resolve) => {
      const timer = setTimeout(resolve, confirmMs);
      this.drainingWaiters.push(() => {
        clearTimeout(timer);
        resolve();
      });
      this.send({ type: 'drain', migrate, deadline, reload, sameConfig }).catch(() => {
        clearTimeout(timer);
        resolve();
      });
    });
  }

  /** SIGKILL at `at` (epoch ms) if still alive then. */
  killAt(at: number, why: string): void {
    clearTimeout(this.killTimer);
    this.killTimer = setTimeout(
      () => {
        if (this.state === 'exited') return;
        this.log.warn('killing a worker that outlived its deadline', { pid: this.pid, gen: this.generation, why });
        this.killedAtDeadline = true;
        this.child.kill('SIGKILL');
      },
      Math.max(0, at - Date.now()),
    );
  }

  kill(signal: NodeJS.Signals = 'SIGKILL'): void {
    if (this.state !== 'exited') this.child.kill(signal);
  }

  /** Ask for counters; undefined if the worker does not answer within timeoutMs. */
  counters(timeoutMs = 1000): Promise<WorkerCounters | undefined> {
    if (this.state === 'exited' || !this.child.connected) return Promise.resolve(undefined);
    const id = ++this.counterSeq;
    return new Promise((resolve) => {
      const timer = setTimeout(() => {
        this.counterWaiters.delete(id);
        resolve(undefined);
      }, timeoutMs);
      this.counterWaiters.set(id, (c) => {
        clearTimeout(timer);
        resolve(c);
      });
      this.send({ type: 'counters?', id }).catch(() => {
        clearTimeout(timer);
        this.counterWaiters.delete(id);
        resolve(undefined);
      });
    });
  }
}
