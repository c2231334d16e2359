// `handoff storm`: docs/origin.md's experiment as a tool. Start backends and the target, put load
// on it (keep-alive, fresh-connection and WebSocket clients) while reloading it every
// interval, then switch to the next config and probe the route it adds, wait out the drain
// deadline, and report what the clients saw, the listening sockets and processes sampled
// all along, and what was left over. Whatever happens (an error, Ctrl-C), everything storm
// started is stopped before it returns.
import { randomBytes } from 'node:crypto';
import { closeSync, mkdtempSync, openSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { readListenTable } from '../doctor/proc-net.js';
import { HandoffError } from '../lib/errors.js';
import { StormBackends } from './backends.js';
import { CommandTarget } from './command-target.js';
import { runFreshClient } from './fresh-client.js';
import { HandoffTarget } from './handoff-target.js';
import { runKeepAliveClient } from './keepalive-client.js';
import { countListeners } from './listen-count.js';
import { loadClientTls, type ClientTls } from './client-tls.js';
import type { LoadContext } from './load-context.js';
import { LoadTally } from './load-tally.js';
import { makePlan, readTemplates, type StormPlan } from './plan.js';
import { runProbes } from './probe.js';
import { ProcessTracker, type TrackedProcess } from './process-tracker.js';
import { Reloader, sleepUntil } from './reloader.js';
import { buildReport } from './report.js';
import { RouteHistory } from './route-history.js';
import { Sampler } from './sampler.js';
import type { Target, TargetContext } from './target.js';
import type { LoadTarget, ProbeReport, StormOptions, StormReport } from './types.js';
import { runWebSocketClient } from './websocket-client.js';

/** The environment variable that marks every process of one storm run. */
export const MARKER_VARIABLE = 'HANDOFF_STORM_RUN';
const PROGRESS_EVERY_MS = 250;
/** After SIGTERM, how long the target's processes get before SIGKILL. */
const STOP_GRACE_MS = 10_000;
const KILL_WAIT_MS = 5_000;

export type StormPhase = 'starting' | 'storm' | 'new-route' | 'draining' | 'stopping';

export interface StormProgress {
  readonly phase: StormPhase;
  readonly elapsedMs: number;
  readonly reloads: number;
  readonly reloadsPlanned: number;
  readonly sent: number;
  readonly ok: number;
  readonly failed: number;
  /** LISTEN sockets per frontend address, latest sample. */
  readonly listen: readonly number[] | undefined;
  readonly processes: number | undefined;
}

export interface StormHooks {
  onProgress?(p: StormProgress): void;
}

function clientTargets(targets: readonly LoadTarget[], frontendKeys: readonly string[], index: number): LoadTarget[] {
  // client i works one frontend address (round robin) and cycles through its hosts
  const key = frontendKeys[index % frontendKeys.length]!;
  const mine = targets.filter((t) => t.frontend.key === key);
  return mine.length > 0 ? mine : [...targets];
}

/**
 * Run the storm. Throws HandoffError when it cannot start (a bad template, an address in
 * use, a target that does not come up); otherwise resolves with the report, also when
 * `signal` (Ctrl-C) cut it short (report.interrupted).
 */
/** --tls: the clients' TLS settings, the CA read now (a setup error, exit 2, when it cannot be). */
function stormClientTls(options: StormOptions): ClientTls | undefined {
  if (!options.tls) return undefined;
  try {
    return loadClientTls(options.tls);
  } catch (err) {
    throw new HandoffError('HANDOFF_ERR_CONFIG', 'config', (err as Error).message);
  }
}

export async function runStorm(options: StormOptions, signal: AbortSignal, hooks: StormHooks = {}): Promise<StormReport> {
  const t0 = performance.now();
  const now = () => performance.now() - t0;
  const startedAt = new Date();
  const templates = readTemplates(options);
  const clientTls = stormClientTls(options);
  const dir = mkdtempSync(join(tmpdir(), 'handoff-storm-'));
  const logFile = join(dir, 'target.log');
  writeFileSync(logFile, '');
  const logFd = openSync(logFile, 'a');
  const marker = randomBytes(8).toString('hex');
  const tracker = new ProcessTracker(`${MARKER_VARIABLE}=${marker}`, now);
  let backends: StormBackends | undefined;
  let target: Target | undefined;
  let sampler: Sampler | undefined;
  let phase: StormPhase = 'starting';
  const loadStop = new AbortController();
  const onAbort = () => loadStop.abort();
  signal.addEventListener('abort', onAbort, { once: true });
  let clients: Promise<void>[] = [];
  let progressTimer: NodeJS.Timeout | undefined;
  let killed: number[] = [];
  // last resort (a second Ctrl-C exits at once, an uncaught error): no process of the target outlives storm
  const onExit = () => tracker.signalAll('SIGKILL');
  process.on('exit', onExit);
  try {
    backends = await StormBackends.start(templates.backendNames, options.backends);
    const plan: StormPlan = await makePlan(options, templates, backends, dir);
    const busy = countListeners((await readListenTable('/proc')).listening, plan.frontends).counts;
    const inUse = plan.frontends.filter((_, i) => busy[i]! > 0).map((f) => f.key);
    if (inUse.length > 0)
      throw new HandoffError(
        'HANDOFF_ERR_BIND',
        'config',
        `something already listens on ${inUse.join(', ')} (see handoff doctor); storm needs the frontend addresses to itself`,
      );

    const ctx: TargetContext = {
      dir,
      configFile: plan.configFile,
      env: { ...process.env, [MARKER_VARIABLE]: marker },
      logFd,
      logFile,
      tracker,
      frontends: plan.frontends,
      signal,
    };
    target =
      plan.target.kind === 'handoff'
        ? new HandoffTarget(
            ctx,
            plan.target.control,
            plan.drainDeadlineMs,
            options.target.kind === 'handoff' ? options.target.template : plan.configFile,
            options.target.kind === 'handoff' && options.target.restart === true,
          )
        : new CommandTarget(ctx, plan.target.commands, plan.drainDeadlineMs);
    sampler = new Sampler(plan.frontends, tracker, options.sampleEveryMs, now);
    const history = new RouteHistory(plan.routing);
    const tally = new LoadTally(history);
    const reloader = new Reloader(target, now, (at) => tally.noteReload(at));
    const activeSampler = sampler;
    const emitProgress = () =>
      hooks.onProgress?.({
        phase,
        elapsedMs: now(),
        reloads: reloader.records.length,
        reloadsPlanned: options.reloads + (plan.nextText === undefined ? 0 : 1),
        sent: tally.sent,
        ok: tally.ok,
        failed: tally.failed,
        listen: activeSampler.latest?.listen,
        processes: activeSampler.latest?.processes,
      });
    if (hooks.onProgress) progressTimer = setInterval(emitProgress, PROGRESS_EVERY_MS);

    await target.start();
    sampler.start();

    // the load
    phase = 'storm';
    const loadCtx: LoadContext = {
      now,
      tally,
      timeoutMs: options.timeoutMs,
      rate: options.rate,
      signal: loadStop.signal,
      ...(clientTls ? { tls: clientTls } : {}),
    };
    const frontendKeys = plan.frontends.map((f) => f.key);
    for (let i = 0; i < options.keepalive; i++) clients.push(runKeepAliveClient(loadCtx, i, clientTargets(plan.targets, frontendKeys, i)));
    for (let i = 0; i < options.fresh; i++) clients.push(runFreshClient(loadCtx, i, clientTargets(plan.targets, frontendKeys, i)));
    for (let i = 0; i < options.websocket; i++) clients.push(runWebSocketClient(loadCtx, i, clientTargets(plan.targets, frontendKeys, i)));

    const stormEnd = options.durationMs === undefined ? Infinity : now() + options.durationMs;
    await reloader.storm({ intervalMs: options.intervalMs, count: options.reloads, until: stormEnd, signal });
    // the second after the last reload is measured too
    await sleepUntil(now() + Math.min(options.intervalMs, 1000), now, signal);

    // the new-route phase
    let probe: ProbeReport | null = null;
    if (plan.nextText !== undefined && plan.nextRouting && !signal.aborted) {
      phase = 'new-route';
      writeFileSync(plan.configFile, plan.nextText);
      const sw = history.switchTo(plan.nextRouting, now());
      const r = await reloader.reload('next');
      if (r.ok) sw.done(now());
      else sw.failed();
      await sleepUntil(now() + options.probeAfterMs, now, signal);
      probe = await runProbes(
        { now, timeoutMs: options.timeoutMs, signal, ...(clientTls ? { tls: clientTls } : {}) },
        plan.probeTargets,
        plan.nextRouting,
        options.probe,
      );
    }

    // stop the load (each client finishes what is in flight), then wait out the drain deadline
    loadStop.abort();
    await Promise.all(clients);
    clients = [];
    let leftovers: TrackedProcess[] = [];
    if (reloader.lastTicks !== undefined && !signal.aborted) {
      phase = 'draining';
      const deadline = (reloader.lastDoneAt ?? now()) + target.drainDeadlineMs;
      const since = reloader.lastTicks;
      for (let i = 0; i < 100_000; i++) {
        // Refresh before judging: "no leftovers" is only true once the tracker has seen the
        // newest generation (a process started by the last reload may not be sampled yet).
        await sampler.refresh();
        leftovers = tracker.leftovers(since);
        if (leftovers.length === 0 || now() >= deadline || signal.aborted) break;
        await sleepUntil(Math.min(deadline, now() + 100), now, signal);
      }
      await sampler.refresh();
      leftovers = tracker.leftovers(since);
    }
    sampler.stop();
    phase = 'stopping';
    emitProgress();
    const stopped = target;
    target = undefined;
    killed = await stopEverything(stopped, sampler, tracker);

    return buildReport({
      options,
      plan,
      description: stopped.description,
      backends: backends.describe(),
      dir,
      startedAt,
      elapsedMs: now(),
      interrupted: signal.aborted,
      tally,
      reloads: reloader.records,
      sampler,
      tracker,
      leftovers,
      killed,
      probe,
    });
  } finally {
    signal.removeEventListener('abort', onAbort);
    if (progressTimer) clearInterval(progressTimer);
    loadStop.abort();
    await Promise.all(clients);
    sampler?.stop();
    if (target) await stopEverything(target, sampler, tracker);
    await backends?.close();
    closeSync(logFd);
    if (!options.keepDir) rmSync(dir, { recursive: true, force: true });
    process.off('exit', onExit);
  }
}

/** Stop the target gracefully, wait for its processes, SIGKILL what stays. Returns the pids killed. */
async function stopEverything(target: Target, sampler: Sampler | undefined, tracker: ProcessTracker): Promise<number[]> {
  const refresh = async () => (sampler ? sampler.refresh() : tracker.update(new Set()));
  await refresh();
  try {
    await target.stop();
  } catch {
    // a failing stop command: the processes are stopped below all the same
  }
  const waitGone = async (ms: number) => {
    const deadline = performance.now() + ms;
    for (let i = 0; i < 10_000; i++) {
      await refresh();
      if (tracker.aliveProcesses().length === 0 || performance.now() > deadline) return;
      await new Promise((r) => setTimeout(r, 50));
    }
  };
  await waitGone(STOP_GRACE_MS);
  if (tracker.aliveProcesses().length === 0) return [];
  tracker.signalAll('SIGTERM');
  await waitGone(1000);
  const killed = tracker.signalAll('SIGKILL');
  await waitGone(KILL_WAIT_MS);
  return killed;
}
