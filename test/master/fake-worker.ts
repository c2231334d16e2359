// A worker process without the process: what WorkerProcess's IPC channel sees of a worker
// (messages, exit, signals), scripted, so generation and master logic run in the test
// process (WorkerSpawner seam). It answers like src/worker/main.ts: 'ready' once it has its
// init and every listener, 'prepared'/'committed' for a live apply, 'draining' then
// 'drained' and exit for a drain. A script can make it die or stay silent at any step.
import type { ChildProcess } from 'node:child_process';
import { EventEmitter } from 'node:events';
import type { MasterMessage, WorkerMessage } from '../../src/protocol/ipc.js';

export type FakeStep = 'init' | 'prepare' | 'commit' | 'drain';

export interface FakeScript {
  /** Exit (code 1) when this message arrives, instead of answering it. */
  dieAt?: FakeStep;
  /** Never answer this message (and, for 'drain', never exit on its own). */
  silentAt?: FakeStep;
}

let nextPid = 4_000_000;

export class FakeWorkerChild extends EventEmitter {
  readonly pid = nextPid++;
  connected = true;
  signalCode: NodeJS.Signals | null = null;
  exitCode: number | null = null;
  /** Every message the master sent, in order. */
  readonly received: MasterMessage[] = [];
  private listenersWanted = -1;
  private listenersGot = 0;
  private readonly preparing = new Map<number, number>();

  constructor(
    readonly generation: number,
    private readonly script: FakeScript = {},
  ) {
    super();
  }

  send(message: MasterMessage, _handle?: unknown, _options?: unknown, callback?: (err: Error | null) => void): boolean {
    if (!this.connected) {
      setImmediate(() => callback?.(new Error('channel closed')));
      return false;
    }
    this.received.push(message);
    setImmediate(() => {
      callback?.(null);
      this.react(message);
    });
    return true;
  }

  kill(signal: NodeJS.Signals = 'SIGTERM'): boolean {
    if (this.exitCode !== null || this.signalCode !== null) return false;
    setImmediate(() => this.exit(null, signal));
    return true;
  }

  /** The process ends (as the OS reports it). */
  exit(code: number | null, signal: NodeJS.Signals | null = null): void {
    if (this.exitCode !== null || this.signalCode !== null) return;
    this.exitCode = code;
    this.signalCode = signal;
    this.connected = false;
    this.emit('exit', code, signal);
    this.emit('close', code, signal);
  }

  private reply(message: WorkerMessage) {
    if (this.connected) setImmediate(() => this.emit('message', message, undefined));
  }

  private step(step: FakeStep): boolean {
    if (this.script.dieAt === step) {
      this.exit(1);
      return false;
    }
    return this.script.silentAt !== step;
  }

  private react(m: MasterMessage) {
    switch (m.type) {
      case 'init':
        if (!this.step('init')) return;
        this.listenersWanted = m.listeners.length;
        this.maybeReady();
        return;
      case 'listener':
        if (m.apply === undefined) {
          this.listenersGot++;
          this.maybeReady();
        }
        return;
      case 'prepare':
        this.preparing.set(m.id, m.generation);
        if (this.step('prepare')) this.reply({ type: 'prepared', id: m.id });
        return;
      case 'commit':
        if (this.step('commit')) this.reply({ type: 'committed', id: m.id, generation: this.preparing.get(m.id) ?? 0 });
        return;
      case 'drain':
        if (!this.step('drain')) return;
        this.reply({ type: 'draining' });
        setImmediate(() => this.exit(0));
        return;
      case 'stop':
        setImmediate(() => this.exit(0));
        return;
      default:
        return;
    }
  }

  private maybeReady() {
    if (this.listenersWanted >= 0 && this.listenersGot === this.listenersWanted && this.script.silentAt !== 'init')
      this.reply({ type: 'ready' });
  }
}

/** A WorkerSpawner that makes fake workers, scripted per spawn (in order; the last one repeats). */
export function fakeSpawner(...scripts: FakeScript[]) {
  const spawned: FakeWorkerChild[] = [];
  const spawn = (generation: number): ChildProcess => {
    const script = scripts[Math.min(spawned.length, scripts.length - 1)] ?? {};
    const child = new FakeWorkerChild(generation, script);
    spawned.push(child);
    return child as unknown as ChildProcess;
  };
  return { spawn, spawned };
}
