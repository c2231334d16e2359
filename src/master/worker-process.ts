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
  private readyWaiters: { resolve: () => void; reject: (e: Error) => void } | undefined;
  private drainingWaiters: (() => void)[] = [];
  private counterSeq = 0;
  private readonly counterWaiters = new Map<number, (c: WorkerCounters | undefined) => void>();
  private killTimer: NodeJS.Timeout | undefined;
  readonly exited: Promise<void>;

  constructor(
    readonly generation: number,
    readonly index: number,
    private readonly events: WorkerEvents,
    private readonly log: Logger,
  ) {
    this.child = fork(WORKER_MAIN, ['--generation', String(generation), '--master', String(process.pid)], {
      stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
      serialization: 'json',
      env: workerEnv(),
    });
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
      case 'drained':
        this.drained = { migrated: msg.migrated, closedIdle: msg.closedIdle, timedOut: msg.timedOut };
        return;
      case 'counters': {
        const w = this.counterWaiters.get(msg.id);
        this.counterWaiters.delete(msg.id);
        w?.(msg.counters);
        return;
      }
      default:
        this.events.onMessage(this, msg, handle);
    }
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
  start(init: { config: Config; health: HealthSnapshot; listeners: readonly { key: string; handle: TcpHandle }[] }, timeoutMs: number): Promise<void> {
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
        await this.send({ type: 'init', generation: this.generation, index: this.index, config: init.config, health: init.health, listeners: init.listeners.map((l) => l.key) });
        for (const l of init.listeners) await this.send({ type: 'listener', key: l.key }, l.handle);
      } catch (err) {
        this.readyWaiters?.reject(err as Error);
      }
    })();
    return ready;
  }

  /** Tell the worker to drain; resolves when it confirms it no longer accepts (bounded). */
  drain(deadline: number, migrate: boolean, reload: number, confirmMs = 2000): Promise<void> {
    if (this.state === 'exited') return Promise.resolve();
    this.state = 'draining';
    return new Promise<void>((resolve) => {
      const timer = setTimeout(resolve, confirmMs);
      this.drainingWaiters.push(() => {
        clearTimeout(timer);
        resolve();
      });
      this.send({ type: 'drain', migrate, deadline, reload }).catch(() => {
        clearTimeout(timer);
        resolve();
      });
    });
  }

  /** SIGKILL at `at` (epoch ms) if still alive then. */
  killAt(at: number, why: string): void {
    clearTimeout(this.killTimer);
    this.killTimer = setTimeout(() => {
      if (this.state === 'exited') return;
      this.log.warn('killing a worker that outlived its deadline', { pid: this.pid, gen: this.generation, why });
      this.child.kill('SIGKILL');
    }, Math.max(0, at - Date.now()));
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
