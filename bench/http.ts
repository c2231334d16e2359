// bench:http (issue 3): a fixed small-response workload through each proxy, in one run on
// one machine: the backend directly, handoff with 1 and 2 workers, HAProxy (2 threads),
// nginx (2 workers). Requests/s, p50/p99 latency, CPU µs per request of the proxy's own
// processes, ratios to HAProxy and to direct, and whether handoff meets its target.
import { startFastBackend, type BackendProcess } from './support/fast-backend-process.js';
import { startHandoff } from './support/handoff-proxy.js';
import { haproxyInstalled, startHaproxy } from './support/haproxy-proxy.js';
import { loadGenerator, type LoadGenerator } from './support/load-generator.js';
import { totalErrors, type LoadResult } from './support/load-result.js';
import { machineInfo, describeMachine, type MachineInfo } from './support/machine.js';
import { nginxInstalled, startNginx } from './support/nginx-proxy.js';
import { cpuSecondsSince, cpuSnapshot } from './support/proc-stat.js';
import { waitForOk } from './support/probe.js';
import { progress } from './support/progress.js';
import type { ProxyUnderTest } from './support/proxy.js';
import { formatCount, formatMs, formatRatio, round } from './support/stats.js';
import { formatTable } from './support/table.js';

export interface HttpBenchOptions {
  readonly durationMs: number;
  readonly warmupMs: number;
  readonly connections: number;
}

export const HTTP_DEFAULTS: HttpBenchOptions = { durationMs: 10_000, warmupMs: 2_000, connections: 64 };

export type HttpTarget = 'direct' | 'handoff-1' | 'handoff-2' | 'haproxy' | 'nginx';

export interface HttpRow {
  readonly target: HttpTarget;
  readonly label: string;
  /** Why the row has no numbers (tool missing, start failed). */
  readonly skipped?: string;
  readonly load?: LoadResult;
  /** CPU of the proxy's processes (master and workers) per request; direct: undefined. */
  readonly proxyCpuUsPerRequest?: number;
  readonly backendCpuUsPerRequest?: number;
  readonly proxyProcesses?: number;
}

export interface HttpTargetCheck {
  readonly rpsRatio: number;
  readonly p99Ratio: number;
  readonly met: boolean | undefined;
}

export interface HttpBenchReport {
  readonly benchmark: 'http';
  readonly machine: MachineInfo;
  readonly loadGenerator: string;
  readonly options: HttpBenchOptions;
  readonly rows: readonly HttpRow[];
  /** handoff with 2 workers against HAProxy: >= 75% of its requests/s and p99 within 2x. */
  readonly target: HttpTargetCheck;
}

async function startTarget(target: HttpTarget, backend: BackendProcess): Promise<ProxyUnderTest | undefined> {
  switch (target) {
    case 'direct':
      return undefined;
    case 'handoff-1':
      return startHandoff({ workers: 1, backendPort: backend.port });
    case 'handoff-2':
      return startHandoff({ workers: 2, backendPort: backend.port });
    case 'haproxy':
      return startHaproxy(backend.port, 2);
    case 'nginx':
      return startNginx(backend.port, 2);
  }
}

const LABELS: Record<HttpTarget, string> = {
  direct: 'direct (no proxy)',
  'handoff-1': 'handoff (1 worker)',
  'handoff-2': 'handoff (2 workers)',
  haproxy: 'haproxy (nbthread 2)',
  nginx: 'nginx (2 workers)',
};

async function measure(target: HttpTarget, backend: BackendProcess, gen: LoadGenerator, o: HttpBenchOptions): Promise<HttpRow> {
  const label = LABELS[target];
  if (target === 'haproxy' && !haproxyInstalled()) return { target, label, skipped: 'haproxy not installed' };
  if (target === 'nginx' && !nginxInstalled()) return { target, label, skipped: 'nginx not installed' };
  progress(`http: ${label}: starting`);
  let proxy: ProxyUnderTest | undefined;
  try {
    proxy = await startTarget(target, backend);
    const port = proxy?.port ?? backend.port;
    await waitForOk(port);
    progress(`http: ${label}: warm-up ${o.warmupMs} ms`);
    await gen.run({ port, connections: o.connections, durationMs: o.warmupMs });
    const pids = proxy?.pids() ?? [];
    const before = cpuSnapshot(pids);
    const backendBefore = cpuSnapshot([backend.pid]);
    progress(`http: ${label}: measuring ${o.durationMs} ms with ${o.connections} connections`);
    const load = await gen.run({ port, connections: o.connections, durationMs: o.durationMs });
    const perRequest = (seconds: number) => (load.requests > 0 ? (seconds * 1e6) / load.requests : NaN);
    return {
      target,
      label,
      load,
      proxyCpuUsPerRequest: proxy ? perRequest(cpuSecondsSince(before, pids)) : undefined,
      backendCpuUsPerRequest: perRequest(cpuSecondsSince(backendBefore, [backend.pid])),
      proxyProcesses: pids.length,
    };
  } catch (err) {
    progress(`http: ${label}: failed: ${(err as Error).message}`);
    return { target, label, skipped: `failed: ${(err as Error).message.split('\n')[0]}` };
  } finally {
    await proxy?.stop();
  }
}

export async function runHttpBench(o: HttpBenchOptions = HTTP_DEFAULTS): Promise<HttpBenchReport> {
  const machine = machineInfo();
  const gen = loadGenerator();
  progress(`http: load generator: ${gen.name}`);
  const backend = await startFastBackend();
  const rows: HttpRow[] = [];
  try {
    for (const target of ['direct', 'handoff-1', 'handoff-2', 'haproxy', 'nginx'] as const)
      rows.push(await measure(target, backend, gen, o));
  } finally {
    await backend.stop();
  }
  const h2 = rows.find((r) => r.target === 'handoff-2')?.load;
  const ha = rows.find((r) => r.target === 'haproxy')?.load;
  const rpsRatio = h2 && ha ? h2.rps / ha.rps : NaN;
  const p99Ratio = h2 && ha ? h2.latencyMs.p99 / ha.latencyMs.p99 : NaN;
  const met = h2 && ha ? rpsRatio >= 0.75 && p99Ratio <= 2 : undefined;
  return {
    benchmark: 'http',
    machine,
    loadGenerator: gen.name,
    options: o,
    rows,
    target: { rpsRatio: round(rpsRatio, 4), p99Ratio: round(p99Ratio, 3), met },
  };
}

export function formatHttpReport(r: HttpBenchReport): string {
  const ha = r.rows.find((x) => x.target === 'haproxy')?.load;
  const direct = r.rows.find((x) => x.target === 'direct')?.load;
  const header = [
    'target',
    'req/s',
    'p50',
    'p99',
    'proxy CPU µs/req',
    'backend CPU µs/req',
    'errors',
    'req/s vs haproxy',
    'p99 vs haproxy',
    'req/s vs direct',
  ];
  const rows = r.rows.map((row) => {
    const l = row.load;
    if (!l) return [row.label, 'skipped', '', '', '', '', '', '', '', ''];
    const us = (n: number | undefined) => (n === undefined ? '-' : Number.isFinite(n) ? n.toFixed(1) : '-');
    return [
      row.label,
      formatCount(l.rps),
      formatMs(l.latencyMs.p50),
      formatMs(l.latencyMs.p99),
      row.target === 'direct' ? '(none)' : us(row.proxyCpuUsPerRequest),
      us(row.backendCpuUsPerRequest),
      formatCount(totalErrors(l.errors)),
      ha ? formatRatio(l.rps / ha.rps) : '-',
      ha ? `${(l.latencyMs.p99 / ha.latencyMs.p99).toFixed(2)}x` : '-',
      direct ? formatRatio(l.rps / direct.rps) : '-',
    ];
  });
  const t = r.target;
  const verdict =
    t.met === undefined
      ? 'target (handoff 2 workers >= 75% of HAProxy req/s, p99 <= 2x HAProxy): not evaluated (a row is missing)'
      : `target (handoff 2 workers >= 75% of HAProxy req/s, p99 <= 2x HAProxy): ${t.met ? 'MET' : 'NOT MET'} ` +
        `(req/s ${(t.rpsRatio * 100).toFixed(1)}% of HAProxy's, p99 ${t.p99Ratio.toFixed(2)}x HAProxy's)`;
  return [
    `bench:http: fixed small response (13-byte body), ${r.options.connections} keep-alive connections, ${r.options.durationMs / 1000}s per target after ${r.options.warmupMs / 1000}s warm-up`,
    describeMachine(r.machine),
    `load generator: ${r.loadGenerator}`,
    '',
    formatTable(header, rows),
    ...r.rows.filter((row) => row.skipped).map((row) => `${row.label}: skipped: ${row.skipped}`),
    '',
    verdict,
    "CPU µs/req: utime+stime of all the proxy's processes (master and workers) over the measured run, divided by the requests the load generator counted.",
  ].join('\n');
}
