// Active health checks for one backend: every `interval`, one probe per server (see
// health-probe.ts). `rise` consecutive successes bring a down server up, `fall` consecutive
// failures bring an up server down; a `starting` server (never checked yet) goes up or down
// on its first result. Only transitions are reported, with the probe's detail as the cause
// ("connect ECONNREFUSED", "timeout after 1000ms", "status 503", "bad status line").
//
// Inside a worker, against its own runtime:
//   const checker = new HealthChecker(backend, runtime).start();   // runtime.startHealthChecks() does this
// In a process that only forwards results (the master):
//   new HealthChecker(backend, (key, operational, cause) => broadcast(...), { initial: snapshot }).start();
//   ...
//   checker.stop();
//
// A target that can tell the current state (currentState, as BackendRuntime does) is asked
// before each decision: when the state moved by other means (passive failures, a snapshot),
// the consecutive counts start again from there. Timers are unref'd (a checker never keeps
// a process alive) and checks never overlap: the next one is scheduled when one ends. First
// checks are spread over the interval (jitter), except a starting server's: at once.
import type { Backend, Server } from '../config/types.js';
import { createLogger, type Logger } from '../observe/logger.js';
import { healthKey } from './health-key.js';
import { probe, type ProbeResult } from './health-probe.js';
import type { HealthKey, HealthSnapshot, HealthTarget, OperationalState, StateCause } from './types.js';

export type HealthReport = (key: HealthKey, operational: OperationalState, cause: StateCause) => void;

export interface HealthCheckerOptions {
  /** Starting states for a target that cannot tell them (a forwarder): e.g. the last snapshot. */
  readonly initial?: HealthSnapshot;
  /** Spread the first checks over the interval; default true. */
  readonly jitter?: boolean;
  readonly logger?: Logger;
}

interface Track {
  readonly server: Server;
  readonly key: HealthKey;
  state: OperationalState;
  successes: number;
  failures: number;
  timer: NodeJS.Timeout | undefined;
  abort: AbortController | undefined;
}

export class HealthChecker {
  readonly backend: Backend;
  private readonly target: HealthTarget;
  private readonly tracks: Track[];
  private readonly jitter: boolean;
  private readonly logger: Logger;
  private running = false;

  constructor(backend: Backend, target: HealthTarget | HealthReport, options: HealthCheckerOptions = {}) {
    this.backend = backend;
    this.target = typeof target === 'function' ? { applyState: target } : target;
    this.jitter = options.jitter ?? true;
    this.logger = options.logger ?? createLogger('backend');
    this.tracks = backend.servers.map((server) => {
      const key = healthKey(backend.name, server);
      const state = options.initial?.servers[key]?.operational ?? 'starting';
      return { server, key, state, successes: 0, failures: 0, timer: undefined, abort: undefined };
    });
  }

  get active(): boolean {
    return this.running;
  }

  /** The checker's view of a server's state (undefined for an unknown key). */
  state(key: HealthKey): OperationalState | undefined {
    const t = this.tracks.find((x) => x.key === key);
    return t && this.current(t);
  }

  /** Start checking (no-op when the backend has no `health` section or already running). */
  start(): this {
    const check = this.backend.health;
    if (!check || this.running) return this;
    this.running = true;
    for (const t of this.tracks) {
      t.state = this.current(t);
      const first = t.state === 'starting' || !this.jitter ? 0 : Math.floor(Math.random() * check.interval);
      this.schedule(t, first);
    }
    return this;
  }

  /** Stop every timer and abort the checks in flight. Idempotent. */
  stop(): void {
    this.running = false;
    for (const t of this.tracks) {
      clearTimeout(t.timer);
      t.timer = undefined;
      t.abort?.abort();
      t.abort = undefined;
    }
  }

  private current(t: Track): OperationalState {
    return this.target.currentState?.(t.key) ?? t.state;
  }

  private schedule(t: Track, delayMs: number): void {
    if (!this.running) return;
    t.timer = setTimeout(() => void this.run(t), delayMs);
    t.timer.unref();
  }

  private async run(t: Track): Promise<void> {
    t.timer = undefined;
    const check = this.backend.health;
    if (!this.running || !check) return;
    const abort = new AbortController();
    t.abort = abort;
    const result = await probe(t.server.address, check, {
      connectTimeout: this.backend.timeouts.connect,
      signal: abort.signal,
      ...(t.server.tls ? { tls: t.server.tls } : {}), // checks go over TLS when the server has it
    });
    if (abort.signal.aborted || !this.running) return;
    t.abort = undefined;
    this.record(t, result);
    this.schedule(t, check.interval);
  }

  private record(t: Track, result: ProbeResult): void {
    const check = this.backend.health!;
    const current = this.current(t);
    if (current !== t.state) {
      // Moved by other means (passive failures, snapshot, operator): count from there.
      t.state = current;
      t.successes = 0;
      t.failures = 0;
    }
    if (result.ok) {
      t.successes++;
      t.failures = 0;
      if (t.state !== 'up' && (t.state === 'starting' || t.successes >= check.rise)) this.transition(t, 'up', result.detail);
    } else {
      t.failures++;
      t.successes = 0;
      this.logger.debug('health check failed', {
        backend: this.backend.name,
        server: t.server.name,
        address: t.server.address.key,
        detail: result.detail,
        failures: t.failures,
      });
      if (t.state !== 'down' && (t.state === 'starting' || t.failures >= check.fall)) this.transition(t, 'down', result.detail);
    }
  }

  private transition(t: Track, operational: OperationalState, detail: string): void {
    t.state = operational;
    t.successes = 0;
    t.failures = 0;
    this.target.applyState(t.key, operational, { kind: 'check', detail });
  }
}
