// bench:tls (issue 11): TLS termination, handoff (2 workers) against HAProxy (nbthread 2),
// the same ECDSA P-256 certificate and the same nginx backend (1 KiB static page, keep-alive
// to it from both proxies). Two workloads with wrk over https, 1 thread:
//   keep-alive       N connections, many requests each: the cost of TLS records
//   new connection   `Connection: close`: one full handshake per request
// Rounds are interleaved (handoff, haproxy, handoff, haproxy, ...) so that a machine that
// gets busier or quieter affects both alike; medians are reported, with the proxies' CPU
// (utime+stime of every process) per request, which for the new-connection workload is the
// CPU per handshake. It prints numbers; it asserts nothing.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { HANDOFF_ENTRY } from './support/handoff-proxy.js';
import { HAPROXY_BIN, haproxyInstalled } from './support/haproxy-proxy.js';
import type { LoadResult } from './support/load-result.js';
import { totalErrors } from './support/load-result.js';
import { describeMachine, loadAverage, machineInfo, type MachineInfo } from './support/machine.js';
import { startNginxBackend } from './support/nginx-backend.js';
import { freePort, waitForListen } from './support/ports.js';
import { cpuSecondsSince, cpuSnapshot, processTree } from './support/proc-stat.js';
import { progress } from './support/progress.js';
import { formatCount, formatMs, median, round } from './support/stats.js';
import { startService, untilReady, type ServiceProcess } from './support/service-process.js';
import { formatTable } from './support/table.js';
import { findWrk, parseWrkReport } from './support/wrk.js';

export interface TlsBenchOptions {
  readonly durationMs: number;
  readonly warmupMs: number;
  readonly rounds: number;
  readonly connections: number;
}

export const TLS_DEFAULTS: TlsBenchOptions = { durationMs: 5_000, warmupMs: 1_000, rounds: 3, connections: 64 };

type Workload = 'keep-alive' | 'new-connection';
type Target = 'handoff' | 'haproxy';

interface Sample {
  readonly target: Target;
  readonly workload: Workload;
  readonly round: number;
  readonly load: LoadResult;
  readonly cpuUsPerRequest: number;
}

export interface TlsRow {
  readonly target: Target;
  readonly workload: Workload;
  readonly rps: number;
  readonly p50: number;
  readonly p99: number;
  readonly cpuUsPerRequest: number;
  readonly errors: number;
  readonly rounds: readonly number[];
}

export interface TlsBenchReport {
  readonly benchmark: 'tls';
  readonly machine: MachineInfo;
  readonly loadAverageAfter: number[];
  readonly options: TlsBenchOptions;
  readonly certificate: string;
  readonly rows: readonly TlsRow[];
  /** handoff req/s ÷ HAProxy req/s per workload (target ≥ 0.7). */
  readonly ratios: Readonly<Record<Workload, number>>;
  readonly skipped?: string;
}

interface Proxy {
  readonly port: number;
  pids(): number[];
  stop(): Promise<void>;
}

function makeCertificate(dir: string): { cert: string; key: string; combined: string } {
  const key = join(dir, 'bench.key');
  const cert = join(dir, 'bench.pem');
  execFileSync('openssl', ['ecparam', '-name', 'prime256v1', '-genkey', '-noout', '-out', key], { stdio: 'ignore' });
  execFileSync(
    'openssl',
    [
      'req',
      '-new',
      '-x509',
      '-key',
      key,
      '-out',
      cert,
      '-days',
      '2',
      '-subj',
      '/CN=bench.test',
      '-addext',
      'subjectAltName=DNS:bench.test',
    ],
    { stdio: 'ignore' },
  );
  const combined = join(dir, 'bench-combined.pem');
  writeFileSync(combined, readFileSync(cert, 'utf8') + readFileSync(key, 'utf8'), { mode: 0o600 });
  return { cert, key, combined };
}

async function startHandoffTls(dir: string, backendPort: number, cert: { cert: string; key: string }): Promise<Proxy> {
  const port = await freePort();
  const file = join(dir, 'handoff.yaml');
  writeFileSync(
    file,
    [
      'workers: 2',
      'control: ./handoff.sock',
      'log: { access: off }',
      'frontends:',
      '  web:',
      `    bind: 127.0.0.1:${port}`,
      `    tls: { certificates: [ { cert: ${cert.cert}, key: ${cert.key} } ] }`,
      '    default_backend: app',
      'backends:',
      '  app:',
      `    servers: [ { name: s1, address: 127.0.0.1:${backendPort} } ]`,
      '',
    ].join('\n'),
  );
  const service = startService('handoff', process.execPath, [HANDOFF_ENTRY, 'start', '-f', file], { stopSignal: 'SIGQUIT' });
  await untilReady(service, async () => {
    await service.waitFor(/handoff started/, 30_000);
    await waitForListen(port);
  });
  return { port, pids: () => processTree(service.pid), stop: () => service.stop('SIGQUIT', 10_000) };
}

async function startHaproxyTls(dir: string, backendPort: number, combined: string): Promise<Proxy> {
  const port = await freePort();
  const file = join(dir, 'haproxy.cfg');
  writeFileSync(
    file,
    [
      'global',
      '  nbthread 2',
      '  maxconn 8000',
      '  hard-stop-after 30s',
      'defaults',
      '  mode http',
      '  option http-keep-alive',
      '  timeout connect 5s',
      '  timeout client 60s',
      '  timeout server 60s',
      '  timeout http-keep-alive 60s',
      'frontend web',
      `  bind 127.0.0.1:${port} ssl crt ${combined} alpn http/1.1`,
      '  default_backend app',
      'backend app',
      `  server s1 127.0.0.1:${backendPort}`,
      '',
    ].join('\n'),
  );
  const service: ServiceProcess = startService('haproxy', HAPROXY_BIN, ['-W', '-db', '-f', file], { stopSignal: 'SIGTERM' });
  await untilReady(service, () => waitForListen(port));
  return { port, pids: () => processTree(service.pid), stop: () => service.stop('SIGTERM') };
}

async function wrkHttps(wrk: string, port: number, connections: number, durationMs: number, workload: Workload): Promise<LoadResult> {
  const args = ['-t1', `-c${connections}`, `-d${Math.max(1, Math.round(durationMs / 1000))}s`, '--latency', '--timeout', '5s'];
  if (workload === 'new-connection') args.push('-H', 'Connection: close');
  args.push(`https://127.0.0.1:${port}/`);
  const proc = startService('wrk', wrk, args, { stopSignal: 'SIGINT' });
  const code = await proc.exited;
  await proc.stop();
  if (code !== 0) throw new Error(`wrk exited with ${code}:\n${proc.output()}`);
  return { tool: 'wrk', ...parseWrkReport(proc.output()) };
}

export async function runTlsBench(o: TlsBenchOptions = TLS_DEFAULTS): Promise<TlsBenchReport> {
  const machine = machineInfo();
  const base = {
    benchmark: 'tls' as const,
    machine,
    options: o,
    certificate: 'ECDSA P-256, self-signed, the same file for both proxies',
  };
  const wrk = findWrk();
  const missing = !wrk ? 'wrk not installed' : !haproxyInstalled() ? 'haproxy not installed' : undefined;
  if (missing || !wrk)
    return { ...base, loadAverageAfter: loadAverage(), rows: [], ratios: { 'keep-alive': NaN, 'new-connection': NaN }, skipped: missing };
  const dir = mkdtempSync(join(tmpdir(), 'handoff-bench-tls-'));
  const cert = makeCertificate(dir);
  const backend = await startNginxBackend();
  const proxies: Partial<Record<Target, Proxy>> = {};
  const samples: Sample[] = [];
  try {
    progress('tls: starting handoff (2 workers) and haproxy (nbthread 2)');
    proxies.handoff = await startHandoffTls(dir, backend.port, cert);
    proxies.haproxy = await startHaproxyTls(dir, backend.port, cert.combined);
    for (const t of ['handoff', 'haproxy'] as const) {
      progress(`tls: ${t}: warm-up ${o.warmupMs} ms`);
      await wrkHttps(wrk, proxies[t]!.port, o.connections, o.warmupMs, 'keep-alive');
    }
    for (let round = 1; round <= o.rounds; round++) {
      for (const workload of ['keep-alive', 'new-connection'] as const) {
        for (const target of round % 2 === 1 ? (['handoff', 'haproxy'] as const) : (['haproxy', 'handoff'] as const)) {
          const p = proxies[target]!;
          progress(`tls: round ${round}/${o.rounds}: ${target}, ${workload}, ${o.durationMs} ms`);
          const pids = p.pids();
          const before = cpuSnapshot(pids);
          const load = await wrkHttps(wrk, p.port, o.connections, o.durationMs, workload);
          const cpu = cpuSecondsSince(before, pids);
          samples.push({ target, workload, round, load, cpuUsPerRequest: load.requests > 0 ? (cpu * 1e6) / load.requests : NaN });
        }
      }
    }
  } finally {
    await proxies.handoff?.stop();
    await proxies.haproxy?.stop();
    await backend.stop();
    rmSync(dir, { recursive: true, force: true });
  }
  const rows: TlsRow[] = [];
  for (const workload of ['keep-alive', 'new-connection'] as const) {
    for (const target of ['handoff', 'haproxy'] as const) {
      const s = samples.filter((x) => x.target === target && x.workload === workload);
      rows.push({
        target,
        workload,
        rps: round(median(s.map((x) => x.load.rps)), 0),
        p50: median(s.map((x) => x.load.latencyMs.p50)),
        p99: median(s.map((x) => x.load.latencyMs.p99)),
        cpuUsPerRequest: round(median(s.map((x) => x.cpuUsPerRequest)), 1),
        errors: s.reduce((n, x) => n + totalErrors(x.load.errors), 0),
        rounds: s.map((x) => round(x.load.rps, 0)),
      });
    }
  }
  const ratio = (w: Workload) =>
    round(
      rows.find((r) => r.target === 'handoff' && r.workload === w)!.rps / rows.find((r) => r.target === 'haproxy' && r.workload === w)!.rps,
      3,
    );
  return {
    ...base,
    loadAverageAfter: loadAverage(),
    rows,
    ratios: { 'keep-alive': ratio('keep-alive'), 'new-connection': ratio('new-connection') },
  };
}

export function formatTlsReport(r: TlsBenchReport): string {
  const head = [
    `bench:tls: https through handoff (2 workers) and HAProxy (nbthread 2), ${r.certificate}, nginx backend (1 KiB page);`,
    `wrk -t1 -c${r.options.connections}, ${r.options.rounds} interleaved rounds of ${r.options.durationMs / 1000}s per target and workload (medians)`,
    describeMachine(r.machine),
    `load average after: ${r.loadAverageAfter.map((n) => n.toFixed(2)).join(' ')}`,
  ];
  if (r.skipped) return [...head, `skipped: ${r.skipped}`].join('\n');
  const table = formatTable(
    ['workload', 'target', 'req/s (median)', 'rounds', 'p50', 'p99', 'proxy CPU µs/req', 'errors'],
    r.rows.map((x) => [
      x.workload === 'keep-alive' ? 'keep-alive' : 'new connection (1 handshake/req)',
      x.target,
      formatCount(x.rps),
      x.rounds.map(formatCount).join(' / '),
      formatMs(x.p50),
      formatMs(x.p99),
      Number.isFinite(x.cpuUsPerRequest) ? x.cpuUsPerRequest.toFixed(1) : '-',
      formatCount(x.errors),
    ]),
  );
  const verdict = (w: Workload) =>
    `${w}: handoff ${(r.ratios[w] * 100).toFixed(1)}% of HAProxy's req/s (target ≥ 70%: ${r.ratios[w] >= 0.7 ? 'MET' : 'NOT MET'})`;
  return [
    ...head,
    '',
    table,
    '',
    verdict('keep-alive'),
    verdict('new-connection'),
    "proxy CPU µs/req: utime+stime of all the proxy's processes over the measured run ÷ requests; in the new-connection workload that is the CPU per handshake (plus one request).",
  ].join('\n');
}
