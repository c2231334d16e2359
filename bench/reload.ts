// bench:reload (issue 4): how long a reload takes (request to new generation active),
// what a sustained reload storm under load does to memory and the process count, and
// what it costs in requests/s and in errors seen by wrk.
import { startFastBackend, type BackendProcess } from './support/fast-backend-process.js';
import { startHandoff, type HandoffProxy } from './support/handoff-proxy.js';
import { loadGenerator } from './support/load-generator.js';
import { totalErrors, type LoadResult } from './support/load-result.js';
import { describeMachine, machineInfo, type MachineInfo } from './support/machine.js';
import { sampleProcessTree, type ProcessSample } from './support/process-sampler.js';
import { isAlive } from './support/proc-stat.js';
import { waitForOk } from './support/probe.js';
import { delay } from './support/ports.js';
import { progress } from './support/progress.js';
import { startReloadStorm, type StormResult } from './support/reload-storm.js';
import { formatCount, formatMiB, formatMs, formatRatio, percentile, round } from './support/stats.js';
import { formatTable } from './support/table.js';

export interface ReloadBenchOptions {
  /** Reloads per latency series. */
  readonly reloads: number;
  /** The sustained storm under load (5 reloads/s). */
  readonly stormMs: number;
  /** The requests/s comparison runs, without and with reloads every 200 ms. */
  readonly baselineMs: number;
  readonly connections: number;
}

export const RELOAD_DEFAULTS: ReloadBenchOptions = { reloads: 100, stormMs: 60_000, baselineMs: 10_000, connections: 64 };

const STORM_INTERVAL_MS = 200;
const STORM_WORKERS = 2;

export interface LatencySeries {
  readonly workers: number;
  readonly reloads: number;
  readonly failed: number;
  /** Request to answer, measured by the benchmark (client side). */
  readonly p50Ms: number;
  readonly p99Ms: number;
  readonly maxMs: number;
  /** The master's own figure for the run (durationMs in its answer). */
  readonly masterP50Ms: number;
}

export interface StormSummary {
  readonly durationMs: number;
  readonly load: LoadResult;
  readonly reloads: Omit<StormResult, 'latencyMs'> & { readonly p50Ms: number; readonly p99Ms: number };
  /** Generations that actually ran (handoff coalesces requests that arrive during a run). */
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
  readonly loadGenerator: string;
  readonly options: ReloadBenchOptions;
  readonly latency: readonly LatencySeries[];
  readonly baseline?: LoadResult;
  /** wrk for baselineMs with reloads every 200 ms. */
  readonly underReloads?: LoadResult;
  readonly underReloadsStorm?: Omit<StormResult, 'latencyMs'>;
  readonly storm?: StormSummary;
  readonly notes: readonly string[];
}

/** Wait (bounded) until the master has only its active generation's workers. */
async function settle(proxy: HandoffProxy, workers: number, timeoutMs: number): Promise<number> {
  const t0 = performance.now();
  const deadline = t0 + timeoutMs;
  while (performance.now() < deadline) {
    if (proxy.pids().length <= 1 + workers) return performance.now() - t0;
    await delay(10);
  }
  return NaN;
}

async function latencySeries(backend: BackendProcess, workers: number, reloads: number): Promise<LatencySeries> {
  progress(`reload: latency, ${workers} worker(s), ${reloads} reloads`);
  const proxy = await startHandoff({ workers, backendPort: backend.port });
  try {
    await waitForOk(proxy.port);
    const client: number[] = [];
    const master: number[] = [];
    let failed = 0;
    for (let i = 0; i < reloads; i++) {
      // Start each reload from a quiet state: one generation, no draining workers.
      await settle(proxy, workers, 10_000);
      const t0 = performance.now();
      try {
        const a = await proxy.reload();
        client.push(performance.now() - t0);
        if (a.durationMs !== undefined) master.push(a.durationMs);
      } catch (err) {
        failed++;
        progress(`reload: reload ${i + 1} failed: ${(err as Error).message}`);
      }
    }
    return {
      workers,
      reloads,
      failed,
      p50Ms: round(percentile(client, 50), 1),
      p99Ms: round(percentile(client, 99), 1),
      maxMs: round(Math.max(...client), 1),
      masterP50Ms: round(percentile(master, 50), 1),
    };
  } finally {
    await proxy.stop();
  }
}

function withoutLatencies(s: StormResult): Omit<StormResult, 'latencyMs'> {
  const { latencyMs: _ignored, ...rest } = s;
  return rest;
}

export async function runReloadBench(o: ReloadBenchOptions = RELOAD_DEFAULTS): Promise<ReloadBenchReport> {
  const machine = machineInfo();
  const gen = loadGenerator();
  const notes: string[] = [];
  if (gen.name.startsWith('built-in')) notes.push(gen.name);
  const backend = await startFastBackend();
  const latency: LatencySeries[] = [];
  let baseline: LoadResult | undefined;
  let underReloads: LoadResult | undefined;
  let underReloadsStorm: StormResult | undefined;
  let storm: StormSummary | undefined;
  try {
    for (const workers of [1, 2]) latency.push(await latencySeries(backend, workers, o.reloads));

    const proxy = await startHandoff({ workers: STORM_WORKERS, backendPort: backend.port });
    try {
      await waitForOk(proxy.port);
      progress(`reload: warm-up, then wrk ${o.baselineMs} ms without reloads`);
      await gen.run({ port: proxy.port, connections: o.connections, durationMs: 2_000 });
      baseline = await gen.run({ port: proxy.port, connections: o.connections, durationMs: o.baselineMs });

      progress(`reload: wrk ${o.baselineMs} ms with a reload every ${STORM_INTERVAL_MS} ms`);
      let run = startReloadStorm(proxy, STORM_INTERVAL_MS);
      underReloads = await gen.run({ port: proxy.port, connections: o.connections, durationMs: o.baselineMs });
      underReloadsStorm = await run.stop();
      await settle(proxy, STORM_WORKERS, 40_000);

      progress(`reload: sustained storm, ${o.stormMs} ms at ${1000 / STORM_INTERVAL_MS} reloads/s under wrk load, sampling memory and processes`);
      const genBefore = await proxy.activeGeneration();
      const sampler = sampleProcessTree(proxy.masterPid, 1_000);
      run = startReloadStorm(proxy, STORM_INTERVAL_MS);
      const load = await gen.run({ port: proxy.port, connections: o.connections, durationMs: o.stormMs });
      const reloads = await run.stop();
      const samples = sampler.stop();
      progress('reload: storm over, waiting for draining generations to exit');
      const settleMs = await settle(proxy, STORM_WORKERS, 40_000);
      const after = sampleProcessTree(proxy.masterPid, 1_000).stop()[0]!;
      const genAfter = await proxy.activeGeneration();
      const rss = samples.map((s) => s.rssBytes);
      const procs = samples.map((s) => s.processes);
      storm = {
        durationMs: o.stormMs,
        load,
        reloads: { ...withoutLatencies(reloads), p50Ms: round(percentile(reloads.latencyMs, 50), 1), p99Ms: round(percentile(reloads.latencyMs, 99), 1) },
        generationsRun: genAfter - genBefore,
        rss: { firstBytes: rss[0] ?? NaN, maxBytes: Math.max(...rss), lastBytes: rss[rss.length - 1] ?? NaN, afterSettleBytes: after.rssBytes },
        processes: { min: Math.min(...procs), max: Math.max(...procs), last: procs[procs.length - 1] ?? NaN, afterSettle: after.processes },
        settleMs: round(settleMs, 0),
        samples,
      };
      if (!isAlive(proxy.masterPid)) notes.push('the handoff master died during the storm');
    } finally {
      await proxy.stop();
    }
  } finally {
    await backend.stop();
  }
  return {
    benchmark: 'reload',
    machine,
    loadGenerator: gen.name,
    options: o,
    latency,
    baseline,
    underReloads,
    underReloadsStorm: underReloadsStorm && withoutLatencies(underReloadsStorm),
    storm,
    notes,
  };
}

function errorsText(l: LoadResult): string {
  const e = l.errors;
  return `${formatCount(totalErrors(e))} (connect ${e.connect}, read ${e.read}, write ${e.write}, timeout ${e.timeout}, non-2xx/3xx ${e.status})`;
}

export function formatReloadReport(r: ReloadBenchReport): string {
  const out: string[] = [
    `bench:reload: handoff reloads (fast backend; access log off)`,
    describeMachine(r.machine),
    `load generator: ${r.loadGenerator}`,
    '',
    `1. reload latency: request on the control socket to "new generation active", ${r.options.reloads} reloads, one at a time, no load`,
    formatTable(
      ['workers', 'p50', 'p99', 'max', 'master p50', 'failed'],
      r.latency.map((s) => [String(s.workers), formatMs(s.p50Ms), formatMs(s.p99Ms), formatMs(s.maxMs), formatMs(s.masterP50Ms), String(s.failed)]),
    ),
  ];
  if (r.baseline && r.underReloads && r.underReloadsStorm) {
    const s = r.underReloadsStorm;
    out.push(
      '',
      `2. requests/s under a reload storm: wrk ${r.options.connections} connections, ${r.options.baselineMs / 1000}s each, handoff ${STORM_WORKERS} workers`,
      formatTable(
        ['run', 'req/s', 'p50', 'p99', 'wrk errors'],
        [
          ['no reloads', formatCount(r.baseline.rps), formatMs(r.baseline.latencyMs.p50), formatMs(r.baseline.latencyMs.p99), errorsText(r.baseline)],
          [`reload every ${STORM_INTERVAL_MS}ms`, formatCount(r.underReloads.rps), formatMs(r.underReloads.latencyMs.p50), formatMs(r.underReloads.latencyMs.p99), errorsText(r.underReloads)],
        ],
      ),
      `ratio: ${formatRatio(r.underReloads.rps / r.baseline.rps)} of the requests/s without reloads; reload requests ${s.requested}, answered ${s.answered}, failed ${s.failed}` +
        (s.generations ? `, generations ${s.generations.first}..${s.generations.last}` : ''),
    );
  }
  const st = r.storm;
  if (st) {
    out.push(
      '',
      `3. sustained storm: ${st.durationMs / 1000}s at ${1000 / STORM_INTERVAL_MS} reloads/s under wrk load (${r.options.connections} connections), handoff ${STORM_WORKERS} workers, sampled every 1s`,
      formatTable(
        ['', 'first', 'max', 'end of storm', 'after settling'],
        [
          ['RSS, master + workers', formatMiB(st.rss.firstBytes), formatMiB(st.rss.maxBytes), formatMiB(st.rss.lastBytes), formatMiB(st.rss.afterSettleBytes)],
          ['processes', String(st.samples[0]?.processes ?? '-'), String(st.processes.max), String(st.processes.last), String(st.processes.afterSettle)],
        ],
      ),
      `reload requests ${st.reloads.requested} (answered ${st.reloads.answered}, failed ${st.reloads.failed}, skipped ${st.reloads.skipped}); ` +
        `generations run ${st.generationsRun} (the rest coalesced); reload latency under load p50 ${formatMs(st.reloads.p50Ms)}, p99 ${formatMs(st.reloads.p99Ms)}`,
      `wrk during the storm: ${formatCount(st.load.rps)} req/s, p99 ${formatMs(st.load.latencyMs.p99)}, errors ${errorsText(st.load)}`,
      `settled (only the active generation left) ${Number.isFinite(st.settleMs) ? `${st.settleMs} ms` : 'NOT within 40 s'} after the storm`,
    );
    if (st.reloads.firstFailures.length > 0) out.push(`first reload failures: ${st.reloads.firstFailures.join(' | ')}`);
  }
  for (const n of r.notes) out.push(`note: ${n}`);
  return out.join('\n');
}
