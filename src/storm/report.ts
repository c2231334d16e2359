// The report: everything measured, as plain data (the --json format handoff-storm/1), and
// the problems it shows, one sentence each. Any problem makes the verdict "problem" (exit 1):
// a failed request or probe, a failed reload, a listener split or gap, a leftover process.
import { formatDuration } from '../config/duration.js';
import type { LoadTally } from './load-tally.js';
import { LatencySeries } from './latency-series.js';
import type { StormPlan } from './plan.js';
import type { ProcessTracker, TrackedProcess } from './process-tracker.js';
import { describeTarget } from './routing.js';
import type { Sampler } from './sampler.js';
import type { ProbeReport, ReloadRecord, StormOptions, StormReport } from './types.js';

export interface ReportInput {
  readonly options: StormOptions;
  readonly plan: StormPlan;
  /** The target's own one-line description. */
  readonly description: string;
  readonly backends: Record<string, string>;
  readonly dir: string;
  readonly startedAt: Date;
  readonly elapsedMs: number;
  readonly interrupted: boolean;
  readonly tally: LoadTally;
  readonly reloads: readonly ReloadRecord[];
  readonly sampler: Sampler;
  readonly tracker: ProcessTracker;
  readonly leftovers: readonly TrackedProcess[];
  readonly killed: readonly number[];
  readonly probe: ProbeReport | null;
}

function byKindText(byKind: Readonly<Record<string, number>>): string {
  return Object.entries(byKind)
    .sort((a, b) => b[1] - a[1])
    .map(([k, n]) => `${n} ${k}`)
    .join(', ');
}

export function findProblems(r: Omit<StormReport, 'verdict' | 'problems'>): string[] {
  const problems: string[] = [];
  if (r.requests.failed > 0) {
    problems.push(`${r.requests.failed} of ${r.requests.sent} requests failed (${byKindText(r.failures.byKind)}).`);
  }
  const failedReloads = r.reloads.list.filter((x) => !x.ok);
  if (failedReloads.length > 0)
    problems.push(
      `${failedReloads.length} of ${r.reloads.requested} reloads failed; the first: ${failedReloads[0]!.error ?? 'no reason given'}.`,
    );
  for (const a of r.listeners.perAddress) {
    if (a.max > 1) {
      problems.push(
        `${a.address} had up to ${a.max} LISTEN sockets (in ${a.notOne} of ${r.listeners.samples} samples): the kernel spreads new connections over all of them (SO_REUSEPORT), so clients land on old processes with old configs.`,
      );
    } else if (a.min === 0) {
      problems.push(
        `${a.address} had no LISTEN socket in ${a.notOne} of ${r.listeners.samples} samples: connections to it were refused meanwhile.`,
      );
    }
  }
  if (r.processes.leftovers.length > 0) {
    const pids = r.processes.leftovers.map((p) => p.pid).join(', ');
    problems.push(
      `${r.processes.leftovers.length} process${r.processes.leftovers.length === 1 ? ' of an older generation was' : 'es of older generations were'} still alive ${formatDuration(r.settings.drainDeadlineMs)} after the last reload (the drain deadline): pid ${pids}.`,
    );
  }
  const p = r.probe;
  if (p && p.reachedNew < p.sent) {
    const parts = [`${p.status503} got 503`];
    for (const [code, n] of Object.entries(p.otherStatus)) parts.push(`${n} got ${code}`);
    if (p.wrongBackend > 0) parts.push(`${p.wrongBackend} reached another backend`);
    const failed = Object.values(p.failed).reduce((a, b) => a + b, 0);
    if (failed > 0) parts.push(`${failed} failed (${byKindText(p.failed)})`);
    problems.push(`only ${p.reachedNew} of ${p.sent} probes of the new route reached ${p.backend}: ${parts.join(', ')}.`);
  }
  return problems;
}

export function buildReport(input: ReportInput): StormReport {
  const { options, plan, tally, sampler, tracker } = input;
  const reloadDurations = new LatencySeries();
  for (const r of input.reloads) if (r.ok) reloadDurations.add(r.durationMs);
  const byClient = tally.totals();
  const seen = tracker.seen();
  const base: Omit<StormReport, 'verdict' | 'problems'> = {
    format: 'handoff-storm/1',
    target: { kind: options.target.kind, description: input.description, workDir: input.dir },
    settings: {
      intervalMs: options.intervalMs,
      reloads: options.reloads,
      durationMs: options.durationMs ?? null,
      keepalive: options.keepalive,
      fresh: options.fresh,
      websocket: options.websocket,
      timeoutMs: options.timeoutMs,
      rate: options.rate,
      probe: plan.nextText === undefined ? 0 : options.probe,
      drainDeadlineMs: plan.drainDeadlineMs,
      tls: options.tls
        ? `${options.tls.insecure ? 'not verified' : `verified against ${options.tls.caFile ?? 'the system roots'}`}, SNI ${options.tls.sni ?? '= Host'}`
        : null,
    },
    startedAt: input.startedAt.toISOString(),
    elapsedMs: Math.round(input.elapsedMs),
    interrupted: input.interrupted,
    backends: input.backends,
    loadTargets: plan.targets.map(describeTarget),
    requests: { sent: tally.sent, ok: tally.ok, failed: tally.failed, byClient },
    failures: { byKind: Object.fromEntries([...tally.byKind].sort((a, b) => b[1] - a[1])), examples: tally.examples },
    latency: { overall: tally.overall.summary(), afterReload: tally.afterReload.summary() },
    reloads: {
      requested: input.reloads.length,
      ok: input.reloads.filter((r) => r.ok).length,
      failed: input.reloads.filter((r) => !r.ok).length,
      durationMs: reloadDurations.summary(),
      list: input.reloads,
    },
    listeners: {
      addresses: plan.frontends.map((f) => f.key),
      samples: sampler.count,
      perAddress: sampler.perAddress.map((a) => ({
        address: a.address,
        min: a.min === Infinity ? 0 : a.min,
        max: a.max,
        notOne: a.notOne,
      })),
    },
    processes: {
      maxAlive: sampler.maxAlive,
      seen: seen.map((p) => tracker.toOut(p)),
      leftovers: input.leftovers.map((p) => tracker.toOut(p)),
      killed: input.killed,
    },
    probe: input.probe,
    samples: sampler.samples,
  };
  const problems = findProblems(base);
  return { ...base, verdict: input.interrupted ? 'interrupted' : problems.length > 0 ? 'problem' : 'ok', problems };
}
