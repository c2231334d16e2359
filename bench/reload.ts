// bench:reload: what a reload costs. Every reload changes the config (a byte-identical one
// is a no-op); each part runs a live variant (applied in the running workers) and a process
// variant (--restart: a new worker generation with connection migration).
//   1. reload latency, one at a time, no load: live and process, 1 and 2 workers
//   2. requests/s under a reload every 100 ms as a ratio of requests/s without reloads:
//      rounds of three wrk runs (none, live, process) interleaved, medians reported
//   3. a sustained process-reload storm under load: memory and processes stay bounded
//   4. worker memory over 10,000 live applies (reload-applies.ts)
import type { BackendProcess } from './support/fast-backend-process.js';
import { startFastBackend } from './support/fast-backend-process.js';
import { startHandoff, type HandoffProxy } from './support/handoff-proxy.js';
import { loadGenerator, type LoadGenerator } from './support/load-generator.js';
import type { LoadResult } from './support/load-result.js';
import { loadAverage, machineInfo, type MachineInfo } from './support/machine.js';
import { startNginxBackend } from './support/nginx-backend.js';
import { nginxInstalled } from './support/nginx-proxy.js';
import { sampleProcessTree, type ProcessSample } from './support/process-sampler.js';
import { isAlive } from './support/proc-stat.js';
import { waitForOk } from './support/probe.js';
import { delay } from './support/ports.js';
import { progress } from './support/progress.js';
import { startReloadStorm, type StormResult } from './support/reload-storm.js';
import { median, percentile, round } from './support/stats.js';
import { runApplySeries, type ApplySeries } from './reload-applies.js';

export type ReloadVariant = 'live' | 'process';
export type BackendChoice = 'nginx' | 'fast';

export interface ReloadBenchOptions {
  /** Reloads per latency series. */
  readonly reloads: number;
  /** Rounds of the interleaved requests/s runs (none, live, process). */
  readonly rounds: number;
  /** Each measured wrk run of part 2. */
  readonly baselineMs: number;
  /** The sustained process-reload storm under load (5 reloads/s). */
  readonly stormMs: number;
  /** Live applies of part 4 (worker memory sampled every tenth of them). */
  readonly applies: number;
  readonly connections: number;
  /** What answers behind handoff (nginx static by default; the fast backend when nginx is missing). */
  readonly backend: BackendChoice;
}

export const RELOAD_DEFAULTS: ReloadBenchOptions = {
  reloads: 100,
  rounds: 3,
  baselineMs: 5_000,
  stormMs: 30_000,
  applies: 10_000,
  connections: 64,
  backend: 'nginx',
};

/** Part 2: the reload interval of the issue's target. */
export const RATIO_INTERVAL_MS = 100;
/** Part 3: the sustained storm of issue 4. */
export const STORM_INTERVAL_MS = 200;
export const LOAD_WORKERS = 2;
/** Unmeasured wrk before each measured run: a process reload leaves cold workers behind it. */
const WARMUP_MS = 1_000;

export interface LatencySeries {
  readonly variant: ReloadVariant;
  readonly workers: number;
  readonly reloads: number;
  readonly failed: number;
  /** Answers that were not of the expected kind (should be 0). */
  readonly otherKinds: number;
  /** Request to answer, measured by the benchmark (client side). */
  readonly p50Ms: number;
  readonly p99Ms: number;
  readonly maxMs: number;
  /** The master's own figures (durationMs in its answers). */
  readonly masterP50Ms: number;
  readonly masterP99Ms: number;
}

export interface RatioRun {
  readonly round: number;
  readonly variant: ReloadVariant | 'none';
  readonly load: LoadResult;
  readonly storm?: Omit<StormResult, 'latencyMs' | 'masterMs'>;
}

export interface RatioVariantSummary {
  readonly variant: ReloadVariant | 'none';
  readonly medianRps: number;
  readonly medianP99Ms: number;
  /** Median over the rounds of (this run's req/s / the same round's no-reload req/s). */
  readonly medianRatio: number;
  readonly ratios: readonly number[];
  readonly errors: number;
  /** Reload answers of all rounds: kinds, and latency percentiles (client and master side). */
  readonly kinds?: Readonly<Record<string, number>>;
  readonly answered?: number;
  readonly failed?: number;
  readonly clientP50Ms?: number;
  readonly clientP99Ms?: number;
  readonly masterP50Ms?: number;
  readonly masterP99Ms?: number;
}

export interface StormSummary {
  readonly durationMs: number;
  readonly load: LoadResult;
  readonly reloads: Omit<StormResult, 'latencyMs' | 'masterMs'> & { readonly p50Ms: number; readonly p99Ms: number };
  /** Configs put in force (handoff coalesces requests that arrive during a run). */
  readonly generationsRun: number;
  readonly rss: { readonly firstBytes: number; readonly maxBytes: number; readonly lastBytes: number; readonly afterSettleBytes: number };
  readonly processes: { readonly min: number; readonly max: number; readonly last: number; readonly afterSettle: number };
  /** From the end of the storm until only the active generation is left. */
  readonly settleMs: number;
  readonly samples: readonly ProcessSample[];
}

export interface ReloadBenchReport {
  readonly benchmark: 'reload';
  readonly machine: MachineInfo;
  /** Load average when the run ended (machine.loadAvg is the start). */
  readonly loadAvgAfter: readonly number[];
  readonly loadGenerator: string;
  readonly backend: string;
  readonly options: ReloadBenchOptions;
  readonly latency: readonly LatencySeries[];
  readonly ratioRuns: readonly RatioRun[];
  readonly ratio: readonly RatioVariantSummary[];
  readonly storm?: StormSummary;
  readonly applies?: ApplySeries;
  readonly notes: readonly string[];
}

/** Wait (bounded) until the master has only its active generation's workers. */
export async function settle(proxy: HandoffProxy, workers: number, timeoutMs: number): Promise<number> {
  const t0 = performance.now();
  const deadline = t0 + timeoutMs;
  while (performance.now() < deadline) {
    if (proxy.pids().length <= 1 + workers) return performance.now() - t0;
    await delay(10);
  }
  return NaN;
}

async function latencySeries(backend: BackendProcess, variant: ReloadVariant, workers: number, reloads: number): Promise<LatencySeries> {
  progress(`reload: latency, ${variant}, ${workers} worker(s), ${reloads} reloads`);
  const proxy = await startHandoff({ workers, backendPort: backend.port });
  try {
    await waitForOk(proxy.port);
    const client: number[] = [];
    const master: number[] = [];
    let failed = 0;
    let otherKinds = 0;
    for (let i = 0; i < reloads; i++) {
      // Start each reload from a quiet state: one generation, no draining workers.
      if (variant === 'process') await settle(proxy, workers, 10_000);
      const t0 = performance.now();
      try {
        const a = await proxy.reload({ restart: variant === 'process' });
        client.push(performance.now() - t0);
        if (a.durationMs !== undefined) master.push(a.durationMs);
        if (a.kind !== variant) otherKinds++;
      } catch (err) {
        failed++;
        progress(`reload: reload ${i + 1} failed: ${(err as Error).message}`);
      }
    }
    return {
      variant,
      workers,
      reloads,
      failed,
      otherKinds,
      p50Ms: round(percentile(client, 50), 1),
      p99Ms: round(percentile(client, 99), 1),
      maxMs: round(Math.max(...client), 1),
      masterP50Ms: round(percentile(master, 50), 1),
      masterP99Ms: round(percentile(master, 99), 1),
    };
  } finally {
    await proxy.stop();
  }
}

function withoutSeries(s: StormResult): Omit<StormResult, 'latencyMs' | 'masterMs'> {
  const { latencyMs: _l, masterMs: _m, ...rest } = s;
  return rest;
}

/** Part 2: rounds of (none, live, process), the order rotated each round; medians per variant. */
async function ratioRuns(
  proxy: HandoffProxy,
  gen: LoadGenerator,
  o: ReloadBenchOptions,
): Promise<{ runs: RatioRun[]; summary: RatioVariantSummary[] }> {
  const order: (ReloadVariant | 'none')[] = ['none', 'live', 'process'];
  const runs: RatioRun[] = [];
  const latencies = new Map<ReloadVariant, { client: number[]; master: number[] }>([
    ['live', { client: [], master: [] }],
    ['process', { client: [], master: [] }],
  ]);
  for (let round = 1; round <= o.rounds; round++) {
    for (let k = 0; k < order.length; k++) {
      const variant = order[(k + round - 1) % order.length]!;
      await settle(proxy, LOAD_WORKERS, 40_000);
      await gen.run({ port: proxy.port, connections: o.connections, durationMs: WARMUP_MS });
      progress(
        `reload: round ${round}/${o.rounds}: wrk ${o.baselineMs} ms, ${variant === 'none' ? 'no reloads' : `a ${variant} reload every ${RATIO_INTERVAL_MS} ms`}`,
      );
      if (variant === 'none') {
        runs.push({ round, variant, load: await gen.run({ port: proxy.port, connections: o.connections, durationMs: o.baselineMs }) });
        continue;
      }
      const storm = startReloadStorm(() => proxy.reload({ restart: variant === 'process' }), RATIO_INTERVAL_MS);
      const load = await gen.run({ port: proxy.port, connections: o.connections, durationMs: o.baselineMs });
      const result = await storm.stop();
      latencies.get(variant)!.client.push(...result.latencyMs);
      latencies.get(variant)!.master.push(...result.masterMs);
      runs.push({ round, variant, load, storm: withoutSeries(result) });
    }
  }
  const summary = order.map((variant): RatioVariantSummary => {
    const mine = runs.filter((r) => r.variant === variant);
    const ratios = mine.map((r) => r.load.rps / (runs.find((n) => n.variant === 'none' && n.round === r.round)?.load.rps ?? NaN));
    const base = {
      variant,
      medianRps: median(mine.map((r) => r.load.rps)),
      medianP99Ms: median(mine.map((r) => r.load.latencyMs.p99)),
      medianRatio: median(ratios),
      ratios: ratios.map((x) => round(x, 3)),
      errors: mine.reduce(
        (sum, r) => sum + r.load.errors.connect + r.load.errors.read + r.load.errors.write + r.load.errors.timeout + r.load.errors.status,
        0,
      ),
    };
    if (variant === 'none') return base;
    const kinds: Record<string, number> = {};
    for (const r of mine) for (const [kind, n] of Object.entries(r.storm?.kinds ?? {})) kinds[kind] = (kinds[kind] ?? 0) + n;
    const l = latencies.get(variant)!;
    return {
      ...base,
      kinds,
      answered: mine.reduce((sum, r) => sum + (r.storm?.answered ?? 0), 0),
      failed: mine.reduce((sum, r) => sum + (r.storm?.failed ?? 0), 0),
      clientP50Ms: round(percentile(l.client, 50), 1),
      clientP99Ms: round(percentile(l.client, 99), 1),
      masterP50Ms: round(percentile(l.master, 50), 1),
      masterP99Ms: round(percentile(l.master, 99), 1),
    };
  });
  return { runs, summary };
}

/** Part 3: the process-reload storm under load, sampling memory and processes every second. */
async function sustainedStorm(proxy: HandoffProxy, gen: LoadGenerator, o: ReloadBenchOptions): Promise<StormSummary> {
  progress(
    `reload: sustained storm, ${o.stormMs} ms at ${1000 / STORM_INTERVAL_MS} process reloads/s under wrk load, sampling memory and processes`,
  );
  await settle(proxy, LOAD_WORKERS, 40_000);
  const genBefore = await proxy.activeGeneration();
  const sampler = sampleProcessTree(proxy.masterPid, 1_000);
  const run = startReloadStorm(() => proxy.reload({ restart: true }), STORM_INTERVAL_MS);
  const load = await gen.run({ port: proxy.port, connections: o.connections, durationMs: o.stormMs });
  const reloads = await run.stop();
  const samples = sampler.stop();
  progress('reload: storm over, waiting for draining generations to exit');
  const settleMs = await settle(proxy, LOAD_WORKERS, 40_000);
  const after = sampleProcessTree(proxy.masterPid, 1_000).stop()[0]!;
  const genAfter = await proxy.activeGeneration();
  const rss = samples.map((s) => s.rssBytes);
  const procs = samples.map((s) => s.processes);
  return {
    durationMs: o.stormMs,
    load,
    reloads: {
      ...withoutSeries(reloads),
      p50Ms: round(percentile(reloads.latencyMs, 50), 1),
      p99Ms: round(percentile(reloads.latencyMs, 99), 1),
    },
    generationsRun: genAfter - genBefore,
    rss: { firstBytes: rss[0] ?? NaN, maxBytes: Math.max(...rss), lastBytes: rss[rss.length - 1] ?? NaN, afterSettleBytes: after.rssBytes },
    processes: { min: Math.min(...procs), max: Math.max(...procs), last: procs[procs.length - 1] ?? NaN, afterSettle: after.processes },
    settleMs: round(settleMs, 0),
    samples,
  };
}

async function startBackend(choice: BackendChoice, notes: string[]): Promise<BackendProcess> {
  if (choice === 'nginx' && nginxInstalled()) return startNginxBackend();
  if (choice === 'nginx') notes.push('nginx is not installed: the fast backend answered instead');
  return startFastBackend();
}

export async function runReloadBench(o: ReloadBenchOptions = RELOAD_DEFAULTS): Promise<ReloadBenchReport> {
  const machine = machineInfo();
  const gen = loadGenerator();
  const notes: string[] = [];
  if (gen.name.startsWith('built-in')) notes.push(gen.name);
  const backend = await startBackend(o.backend, notes);
  const latency: LatencySeries[] = [];
  let ratio: Awaited<ReturnType<typeof ratioRuns>> = { runs: [], summary: [] };
  let storm: StormSummary | undefined;
  let applies: ApplySeries | undefined;
  try {
    for (const variant of ['live', 'process'] as const)
      for (const workers of [1, 2]) latency.push(await latencySeries(backend, variant, workers, o.reloads));

    const proxy = await startHandoff({ workers: LOAD_WORKERS, backendPort: backend.port });
    try {
      await waitForOk(proxy.port);
      progress('reload: warm-up');
      await gen.run({ port: proxy.port, connections: o.connections, durationMs: 2_000 });
      ratio = await ratioRuns(proxy, gen, o);
      storm = await sustainedStorm(proxy, gen, o);
      if (!isAlive(proxy.masterPid)) notes.push('the handoff master died during the storm');
    } finally {
      await proxy.stop();
    }
    applies = await runApplySeries(backend, o.applies);
  } finally {
    await backend.stop();
  }
  return {
    benchmark: 'reload',
    machine,
    loadAvgAfter: loadAverage(),
    loadGenerator: gen.name,
    backend: backend.label,
    options: o,
    latency,
    ratioRuns: ratio.runs,
    ratio: ratio.summary,
    storm,
    applies,
    notes,
  };
}
