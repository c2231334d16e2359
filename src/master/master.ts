// The master: one process for the life of the service that never proxies traffic. It owns
// every listening socket, the control socket, the config in force, server health and the
// reload history, and runs the workers in generations. Its own life cycle:
//
//   starting ──generation 1 ready──▶ running ──stop──▶ stopping ──all workers gone──▶ stopped
//
// A reload (SIGHUP, control socket, a pushed config) follows docs/design.md's steps as a
// transaction: load and validate; choose the kind (unchanged, live, process); bind new
// listeners; then either apply live (prepare on every worker, commit on every worker:
// live-apply.ts) or start generation N+1, switch and tell EVERY older generation to drain;
// close sockets nobody needs; answer. Any failure before the commit or switch undoes what it
// did and leaves the service exactly as it was (invariant I5).
import { dirname } from 'node:path';
import { loadConfig, loadConfigText, formatIssue, type ConfigIssue } from '../config/load.js';
import { HandoffError } from '../lib/errors.js';
import type { StateChange } from '../backend/types.js';
import type { Config } from '../config/types.js';
import { BindError, closeHandle, isTcpHandle } from '../lib/node-handles.js';
import { version } from '../lib/version.js';
import { droppedLines } from '../observe/line-sink.js';
import { createLogger, type Logger } from '../observe/logger.js';
import { CONNECTION_STATES, sumCounters, type WorkerCounters } from '../protocol/counters.js';
import type { ControlRequest, ControlResponse, ReloadKind, ReloadRecord, StatusReport } from '../protocol/control.js';
import { certificateStatus } from '../tls/status.js';
import type { WorkerMessage } from '../protocol/ipc.js';
import { ControlServer } from './control-server.js';
import { Generation } from './generation.js';
import { HealthService } from './health-service.js';
import { ListenerRegistry } from './listener-registry.js';
import { applyToWorkers } from './live-apply.js';
import { chooseReloadKind, sameStats } from './reload-kind.js';
import { ReloadQueue, type ReloadRequest } from './reload-queue.js';
import { writeFileAtomic } from './write-atomic.js';
import { lendListener } from './listener-lending.js';
import type { WorkerProcess, WorkerSpawner } from './worker-process.js';
import { StatsServer } from '../observe/stats-server.js';
import { CounterArchive } from './counter-archive.js';
import { ReloadMetrics } from './reload-metrics.js';

export type MasterState = 'starting' | 'running' | 'stopping' | 'stopped';

/** How many finished generations and reloads status remembers. */
const HISTORY = 20;

/**
 * A reload (or the first load) that did not happen; the service is as it was (I5). An
 * invalid config carries its issues (file:line:col); the control server maps them to the
 * wire answer (onControl), so this error knows nothing of the protocol.
 */
export class ReloadFailure extends HandoffError {
  constructor(
    message: string,
    readonly issues?: readonly ConfigIssue[],
  ) {
    super(issues ? 'HANDOFF_ERR_CONFIG' : 'HANDOFF_ERR_RELOAD', issues ? 'config' : 'internal', message);
    this.name = 'ReloadFailure';
  }
}

interface ReloadAnswer {
  kind: ReloadKind;
  generation: number;
  durationMs: number;
  warnings: string[];
  coalesced: number;
}

export class Master {
  state: MasterState = 'starting';
  readonly startedAt = Date.now();
  private readonly log: Logger = createLogger('master', { pid: process.pid });
  private readonly listeners = new ListenerRegistry();
  private readonly generations: Generation[] = [];
  private readonly finished: Generation[] = [];
  private active: Generation | undefined;
  private nextGeneration = 1;
  private readonly reloads: ReloadRecord[] = [];
  private nextReloadId = 1;
  private readonly queue: ReloadQueue<ReloadAnswer>;
  private readonly health: HealthService;
  private control: ControlServer | undefined;
  private stats: StatsServer | undefined;
  private config!: Config;
  private stopPromise: Promise<void> | undefined;
  private rr = 0;
  private readonly tunnelTargets = new Map<string, WorkerProcess>();
  private readonly stoppedWaiters: (() => void)[] = [];
  /** Counters of every worker, kept after it exits: /metrics never goes back. */
  private readonly archive = new CounterArchive();
  private readonly reloadMetrics = new ReloadMetrics();
  /** The handoff version this master runs: a different one on disk needs new processes. */
  private readonly version = version();
  private resolveFinished!: () => void;
  /** Resolves once the master has stopped (by signal or control request). */
  readonly finishedPromise = new Promise<void>((r) => (this.resolveFinished = r));

  constructor(
    private configFile: string,
    /** How worker processes start (default: fork); tests run the master without forking. */
    private readonly spawnWorker?: WorkerSpawner,
  ) {
    this.queue = new ReloadQueue((request, requests) =>
      this.runReload(request, requests).finally(() => this.reloadMetrics.ended(this.reloads[this.reloads.length - 1]!)),
    );
    this.health = new HealthService(createLogger('health'), (changes) => this.broadcastHealth(changes));
  }

  /** Load the config, bind, run health checks, start generation 1, open the control socket. Throws with a readable message on failure. */
  async start(): Promise<void> {
    const result = await loadConfig(this.configFile);
    if (!result.ok) throw new ReloadFailure(result.errors.map(formatIssue).join('\n'), result.errors);
    for (const w of result.warnings) this.log.warn('config warning', { issue: formatIssue(w) });
    this.config = result.config;
    this.control = new ControlServer(this.config.control, (req) => this.onControl(req), this.log);
    await this.control.start();
    this.archive.startSampling();
    try {
      await this.listeners.ensure(this.config);
      this.listeners.assign(this.config);
      await this.health.prepare(this.config);
      const gen = this.newGeneration(this.config);
      await gen.start();
      this.active = gen;
      if (this.config.stats) {
        this.stats = new StatsServer(
          this.config.stats.bind,
          () => this.status(),
          () => this.state === 'running',
        );
        await this.stats.start();
      }
    } catch (err) {
      await this.shutdownResources();
      throw err;
    }
    this.state = 'running';
    this.log.info('handoff started', {
      generation: this.active.number,
      workers: this.active.workers.length,
      listeners: this.listeners
        .all()
        .map((l) => l.address.key)
        .join(','),
      control: this.config.control,
      config: this.configFile,
    });
  }

  private newGeneration(config: Config): Generation {
    const gen = new Generation(this.nextGeneration++, config, {
      log: this.log,
      listeners: this.listeners,
      health: () => this.health.snapshot(),
      onWorkerMessage: (g, w, m, h) => this.onWorkerMessage(g, w, m, h),
      onStopped: (g) => this.onGenerationStopped(g),
      onWorkerSpawned: (w) => this.archive.track(w),
      ...(this.spawnWorker ? { spawnWorker: this.spawnWorker } : {}),
    });
    this.generations.push(gen);
    return gen;
  }

  // ---- reload ----------------------------------------------------------------------------------

  /** Request a reload; resolves once the new config is in force (coalesced with concurrent requests). */
  reload(request: ReloadRequest = {}): Promise<ReloadAnswer> {
    if (this.state !== 'running') return Promise.reject(new ReloadFailure(`cannot reload: the master is ${this.state}`));
    return this.queue.request(request);
  }

  private async runReload(request: ReloadRequest, requests: number): Promise<ReloadAnswer> {
    const t0 = Date.now();
    const record: ReloadRecord = { id: this.nextReloadId++, requestedAt: t0, requests, outcome: 'running', durationMs: 0 };
    this.reloads.push(record);
    if (this.reloads.length > HISTORY) this.reloads.shift();
    const fail = (reason: string, issues?: readonly ConfigIssue[]) => {
      record.outcome = 'failed';
      record.durationMs = Date.now() - t0;
      record.reason = reason;
      this.log.warn('reload failed', {
        reload: record.id,
        kind: record.kind,
        duration_ms: record.durationMs,
        reason: reason.split('\n')[0],
        requests,
      });
      return new ReloadFailure(reason, issues);
    };
    if (this.state !== 'running') throw fail(`the master is ${this.state}`);
    const path = request.file ?? this.configFile;

    // 1. Load and validate (a pushed document exactly as `handoff check` would, under the master's file name).
    const result =
      request.text !== undefined ? await loadConfigText(request.text, this.configFile, dirname(this.configFile)) : await loadConfig(path);
    if (!result.ok) {
      throw fail(result.errors.map(formatIssue).join('\n'), result.errors);
    }
    const config = result.config;
    const warnings = result.warnings.map(formatIssue);
    if (config.control !== this.config.control)
      warnings.push(`control socket stays ${this.config.control} until restart (the new config says ${config.control})`);
    if (!sameStats(config, this.config)) warnings.push('the stats listener changes at the next restart of the master');

    // A pushed config replaces the file, atomically, so a restart resumes it.
    if (request.text !== undefined) {
      try {
        await writeFileAtomic(this.configFile, request.text);
      } catch (err) {
        throw fail(`cannot write ${this.configFile}: ${(err as Error).message}`);
      }
    }

    const kind = chooseReloadKind(this.config, config, { restart: request.restart === true, runningVersion: this.version });
    record.kind = kind.kind;
    if (kind.kind === 'unchanged') {
      this.configFile = path;
      record.outcome = 'ok';
      record.generation = this.active!.configGeneration;
      record.durationMs = Date.now() - t0;
      this.log.info('reload finished', {
        reload: record.id,
        kind: 'unchanged',
        generation: record.generation,
        duration_ms: record.durationMs,
        requests,
      });
      return { kind: 'unchanged', generation: record.generation, durationMs: record.durationMs, warnings, coalesced: requests };
    }

    // 2. Listeners: keep the ones that stay, bind the new ones (all or nothing).
    let added: string[];
    try {
      added = await this.listeners.ensure(config);
    } catch (err) {
      throw fail(err instanceof BindError ? err.message : `bind: ${(err as Error).message}`);
    }
    // Servers new to the config get a first check (bounded) before any worker uses them.
    await this.health.prepare(config);

    let generation: number;
    let draining: number[] = [];
    if (kind.kind === 'live') {
      // 3L. Prepare on every worker, then commit on every worker (live-apply.ts).
      const gen = this.active!;
      generation = this.nextGeneration++;
      try {
        const outcome = await applyToWorkers(gen.readyWorkers(), {
          generation,
          config,
          health: this.health.snapshot(),
          listeners: this.listeners,
        });
        gen.config = config;
        gen.configGeneration = generation;
        for (const w of outcome.lagging) void gen.sync(w);
        // Workers that were starting (a crash replacement) catch up once ready.
        for (const w of gen.workers)
          if (w.state === 'ready' && w.configGeneration !== generation && !outcome.lagging.includes(w)) void gen.sync(w);
      } catch (err) {
        await this.listeners.close(added);
        this.health.commit(this.config);
        throw fail((err as Error).message);
      }
      this.config = config;
      this.configFile = path;
      this.listeners.assign(config);
      this.health.commit(config);
    } else {
      // 3P. Start generation N+1 with a health snapshot; wait for every worker's ready.
      const gen = this.newGeneration(config);
      generation = gen.number;
      try {
        await gen.start();
      } catch (err) {
        await this.listeners.close(added);
        this.health.commit(this.config);
        this.forget(gen);
        throw fail(`generation ${gen.number} did not start: ${(err as Error).message}`);
      }
      if (this.state !== 'running') {
        gen.kill();
        throw fail(`the master is ${this.state}`);
      }
      // 4. Switch: only N+1 accepts from now on; EVERY older generation drains.
      const previous = this.generations.filter((g) => g !== gen && (g.state === 'active' || g.state === 'starting'));
      this.active = gen;
      this.config = config;
      this.configFile = path;
      this.listeners.assign(config);
      this.health.commit(config);
      const deadline = Date.now() + config.drain.timeout;
      // 5. Drain; resolves once each old worker confirmed it stopped accepting (I2, I6).
      await Promise.all(previous.map((g) => g.drain(deadline, config.drain.migrate, record.id, g.config.hash === config.hash)));
      draining = previous.map((g) => g.number);
    }

    // 6. Close the sockets no generation needs any more.
    const unused = this.listeners.unused(config);
    if (unused.length > 0) await this.listeners.close(unused);

    // 7. Answer.
    record.outcome = 'ok';
    record.generation = generation;
    record.durationMs = Date.now() - t0;
    this.log.info('reload finished', {
      reload: record.id,
      kind: kind.kind,
      why: kind.reason,
      generation,
      duration_ms: record.durationMs,
      requests,
      draining: draining.join(',') || undefined,
      added_listeners: added.join(',') || undefined,
      closed_listeners: unused.join(',') || undefined,
    });
    return { kind: kind.kind, generation, durationMs: record.durationMs, warnings, coalesced: requests };
  }

  private forget(gen: Generation) {
    const i = this.generations.indexOf(gen);
    if (i >= 0) this.generations.splice(i, 1);
  }

  private onGenerationStopped(gen: Generation) {
    this.forget(gen);
    // A generation that failed to start is not history, but its end may be the one a stop waits for.
    if (gen.state === 'failed') {
      if (this.generations.every((g) => !g.alive)) for (const w of this.stoppedWaiters.splice(0)) w();
      return;
    }
    this.finished.push(gen);
    if (this.finished.length > HISTORY) this.finished.shift();
    const totals = gen.drainTotals;
    const record = this.reloads.find((r) => r.id === gen.drainedBy);
    if (record) {
      record.drained ??= { migrated: 0, closedIdle: 0, timedOut: 0, killed: 0 };
      const d = record.drained;
      d.migrated += totals.migrated;
      d.closedIdle += totals.closedIdle;
      d.timedOut += totals.timedOut;
      d.killed += totals.killed;
    }
    this.log.info('generation exited', {
      generation: gen.number,
      age_ms: Date.now() - gen.startedAt,
      reload: gen.drainedBy,
      migrated: totals.migrated,
      closed_idle: totals.closedIdle,
      timed_out: totals.timedOut,
      killed: totals.killed,
    });
    if (this.generations.every((g) => !g.alive)) for (const w of this.stoppedWaiters.splice(0)) w();
  }

  // ---- messages from workers -------------------------------------------------------------------

  private onWorkerMessage(_gen: Generation, from: WorkerProcess, msg: WorkerMessage, handle: unknown) {
    switch (msg.type) {
      case 'health':
        this.health.passive(msg.change);
        return;
      case 'migrate':
        this.forwardMigration(from, msg, handle);
        return;
      case 'listener?':
        lendListener(_gen, from, msg.key, this.listeners, this.log);
        return;
      default:
        return;
    }
  }

  /** Pass a connection from a draining worker to a worker of the active generation. */
  private forwardMigration(from: WorkerProcess, msg: Extract<WorkerMessage, { type: 'migrate' }>, handle: unknown) {
    if (!isTcpHandle(handle)) return;
    let target: WorkerProcess | undefined;
    if (msg.kind !== 'http') target = this.tunnelTargets.get(msg.id);
    if (!target) {
      const ready = this.active && this.active.number !== from.generation ? this.active.readyWorkers() : [];
      target = ready.length > 0 ? ready[this.rr++ % ready.length] : undefined;
      if (target && msg.kind !== 'http') this.tunnelTargets.set(msg.id, target);
    } else {
      this.tunnelTargets.delete(msg.id);
    }
    if (!target) {
      // No generation to take it (stopping): the client sees the connection close.
      void closeHandle(handle);
      return;
    }
    const { type: _t, ...rest } = msg;
    target
      .send({ ...rest, type: 'adopt' }, handle)
      .catch((err: Error) => this.log.warn('migration lost', { id: msg.id, to: target!.pid, error: err.message }))
      .finally(() => void closeHandle(handle));
  }

  /**
   * SIGUSR1: every live worker opens its access log file again (logrotate renamed it). The
   * master itself writes only to stderr, which stays as it is. Returns how many were told.
   */
  reopenLogs(): number {
    let told = 0;
    for (const g of this.generations) {
      for (const w of g.workers) {
        if (w.state === 'exited') continue;
        told++;
        w.send({ type: 'reopen-logs' }).catch(() => {});
      }
    }
    this.log.info('reopening log files', { workers: told });
    return told;
  }

  private broadcastHealth(changes: StateChange[]) {
    for (const g of this.generations) {
      for (const w of g.workers) {
        if (w.state === 'ready' || w.state === 'draining') w.send({ type: 'health', changes }).catch(() => {});
      }
    }
  }

  // ---- control ---------------------------------------------------------------------------------

  private async onControl(req: ControlRequest): Promise<ControlResponse> {
    switch (req.type) {
      case 'reload':
      case 'apply':
        try {
          const a = await this.reload({
            ...(req.type === 'reload' && req.file !== undefined ? { file: req.file } : {}),
            ...(req.type === 'apply' ? { text: req.config } : {}),
            ...(req.restart ? { restart: true } : {}),
          });
          return {
            ok: true,
            type: 'reload',
            kind: a.kind,
            generation: a.generation,
            durationMs: a.durationMs,
            warnings: a.warnings,
            coalesced: a.coalesced,
          };
        } catch (err) {
          if (err instanceof ReloadFailure && err.issues)
            return {
              ok: false,
              error: err.message,
              issues: err.issues.map((i) => ({ file: i.file, line: i.line, col: i.col, path: i.path, message: i.message })),
            };
          return { ok: false, error: err instanceof Error ? err.message : String(err) };
        }
      case 'status':
        return { ok: true, type: 'status', status: await this.status() };
      case 'reopen-logs':
        return { ok: true, type: 'reopen-logs', workers: this.reopenLogs() };
      case 'stop':
        // Answer first, then stop (the answer would otherwise never leave).
        setImmediate(() => void this.stop(req.now === true));
        return { ok: true, type: 'stop' };
    }
  }

  async status(): Promise<StatusReport> {
    const live = this.generations.filter((g) => g.alive || g.state === 'active');
    const all = await Promise.all(live.flatMap((g) => g.workers.map((w) => w.counters(500))));
    const counters = all.filter((c): c is WorkerCounters => c !== undefined);
    const byPid = new Map(counters.map((c) => [c.pid, { connections: c.connections, requests: c.requests.total }]));
    const activeCounters = counters.filter((c) => c.generation === this.active?.number);
    const sum = sumCounters(counters);
    const backends = sumCounters(activeCounters.length > 0 ? activeCounters : counters).backends;
    const lifetime = this.archive.totals();
    return {
      master: {
        state: this.state,
        node: process.version,
        pid: process.pid,
        startedAt: this.startedAt,
        configFile: this.configFile,
        version: version(),
        control: this.config.control,
        memory: { rss: process.memoryUsage.rss(), heapUsed: process.memoryUsage().heapUsed },
      },
      generations: [...this.finished.slice(-5), ...live].map((g) => g.status(byPid)),
      listeners: this.listeners.all().map((l) => ({ address: l.address.key, frontend: l.frontend, inode: l.inode })),
      reloads: [...this.reloads],
      reloadTotals: this.reloadMetrics.report(this.startedAt),
      backends,
      lifetime,
      totals: {
        accepted: lifetime.accepted,
        requests: Object.values(lifetime.requests).reduce((a, b) => a + b, 0),
        byClass: lifetime.requests,
        connections: Object.fromEntries(CONNECTION_STATES.map((s) => [s, sum.connections[s]])) as StatusReport['totals']['connections'],
        retries: lifetime.retries,
        migratedOut: lifetime.migratedOut,
        migratedIn: lifetime.migratedIn,
        logDropped: { access: lifetime.logDropped.access, operational: lifetime.logDropped.operational + droppedLines.operational },
      },
      tls: certificateStatus(this.config), // TLS (issue 11)
    };
  }

  // ---- stop ------------------------------------------------------------------------------------

  /** Graceful: every generation drains (no migration: nobody takes over) by drain.timeout; then exit. Immediate: kill now. */
  stop(now = false): Promise<void> {
    if (this.stopPromise) {
      if (now) {
        this.graceCut?.();
        for (const g of this.generations) g.kill();
      }
      return this.stopPromise;
    }
    this.state = 'stopping';
    this.log.info(now ? 'stopping now' : 'stopping gracefully', { drain_timeout_ms: now ? 0 : this.config.drain.timeout });
    this.stopPromise = (async () => {
      const stopped = new Promise<void>((resolve) => {
        if (this.generations.every((g) => !g.alive)) resolve();
        else this.stoppedWaiters.push(resolve);
      });
      if (now) {
        for (const g of this.generations) g.kill();
      } else {
        // Accept grace: keep serving new connections for a moment (readiness already says
        // 503), then stop accepting everywhere and close the listening sockets at once: a
        // connection that arrives after that is refused straight away, never left in a
        // backlog nobody reads (which would hang the client, then reset it).
        if (this.config.drain.acceptGrace > 0) await this.acceptGrace(this.config.drain.acceptGrace);
        // The master lets go of its copy first: the kernel socket then lives only in the
        // workers, and closes with the last worker's copy, as that worker stops accepting,
        // so nothing is left in its backlog to be reset.
        await this.listeners.closeAll();
        const deadline = Date.now() + this.config.drain.timeout;
        await Promise.all(this.generations.map((g) => g.drain(deadline, false, 0)));
      }
      await stopped;
      await this.shutdownResources();
      this.state = 'stopped';
      this.log.info('handoff stopped');
      this.resolveFinished();
    })();
    return this.stopPromise;
  }

  /** Wait out drain.accept_grace, cut short by a stop --now. */
  private acceptGrace(ms: number): Promise<void> {
    this.log.info('accept grace: still serving new connections', { ms });
    return new Promise((resolve) => {
      const t = setTimeout(resolve, ms);
      this.graceCut = () => {
        clearTimeout(t);
        resolve();
      };
    });
  }

  private graceCut: (() => void) | undefined;

  private async shutdownResources() {
    this.health.stop();
    this.archive.stopSampling();
    await this.stats?.close();
    await this.control?.close();
    await this.listeners.closeAll();
  }
}
