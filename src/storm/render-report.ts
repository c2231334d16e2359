// The report as a table for people (the --json form is the report object itself).
import { formatDuration } from '../config/duration.js';
import type { ClientTotals, LatencySummary, StormReport } from './types.js';

const ms = (v: number | null) => (v === null ? '-' : v >= 1000 ? `${(v / 1000).toFixed(2)}s` : `${v.toFixed(1)}ms`);
const secs = (v: number) => `${v >= 0 ? '+' : ''}${(v / 1000).toFixed(2)}s`;

function row(cells: readonly string[], widths: readonly number[]): string {
  return cells
    .map((c, i) => (i === 0 ? c.padEnd(widths[i]!) : c.padStart(widths[i]!)))
    .join('  ')
    .trimEnd();
}

function latencyCells(l: LatencySummary): string[] {
  return [ms(l.p50), ms(l.p99), ms(l.max)];
}

export function renderText(r: StormReport): string {
  const out: string[] = [];
  const s = r.settings;
  const clients = [`${s.keepalive} keep-alive`, `${s.fresh} fresh`, `${s.websocket} websocket`].join(', ');
  out.push(`handoff storm: ${r.target.description}`);
  out.push(
    `  ${r.reloads.requested} reloads, every ${formatDuration(s.intervalMs)}; ${clients} clients; ${(r.elapsedMs / 1000).toFixed(1)} s${r.interrupted ? ' (interrupted)' : ''}`,
  );
  out.push(`  load: ${r.loadTargets.join('; ')}${s.tls ? ` (TLS, ${s.tls})` : ''}`);
  out.push('');

  const widths = [20, 8, 8, 7, 11, 9, 9, 9];
  out.push(row(['requests', 'sent', 'ok', 'failed', 'closed-idle', 'p50', 'p99', 'max'], widths));
  const names: [string, ClientTotals][] = [
    ['  keep-alive', r.requests.byClient.keepalive],
    ['  fresh', r.requests.byClient.fresh],
    ['  websocket', r.requests.byClient.websocket],
  ];
  for (const [name, c] of names) {
    if (c.sent === 0) continue;
    out.push(row([name, String(c.sent), String(c.ok), String(c.failed), String(c.closedIdle), ...latencyCells(c.latency)], widths));
  }
  out.push(
    row(
      ['  all', String(r.requests.sent), String(r.requests.ok), String(r.requests.failed), '', ...latencyCells(r.latency.overall)],
      widths,
    ),
  );
  out.push(row(['  1 s after a reload', '', String(r.latency.afterReload.count), '', '', ...latencyCells(r.latency.afterReload)], widths));
  out.push('');

  const kinds = Object.entries(r.failures.byKind);
  if (kinds.length === 0) out.push('failures: none');
  else {
    out.push(`failures: ${kinds.map(([k, n]) => `${n} ${k}`).join(', ')}`);
    for (const e of r.failures.examples.slice(0, 8))
      out.push(`  ${secs(e.at)}  ${e.client.padEnd(9)} ${e.key.padEnd(14)} ${e.target}: ${e.detail}`);
  }
  const rl = r.reloads;
  out.push(
    `reloads: ${rl.requested} requested, ${rl.ok} ok, ${rl.failed} failed; took p50 ${ms(rl.durationMs.p50)}, p99 ${ms(rl.durationMs.p99)}, max ${ms(rl.durationMs.max)}`,
  );
  for (const x of rl.list.filter((y) => !y.ok).slice(0, 5)) out.push(`  #${x.index} at ${secs(x.at)}: ${x.error ?? 'failed'}`);
  out.push('');

  out.push(`LISTEN sockets per frontend address (${r.listeners.samples} samples):`);
  for (const a of r.listeners.perAddress) {
    const what = a.notOne === 0 ? 'always 1' : `${a.min}..${a.max}, not 1 in ${a.notOne} samples`;
    out.push(`  ${a.address.padEnd(24)} ${what}`);
  }
  const p = r.processes;
  out.push(
    `target processes: up to ${p.maxAlive} alive at once, ${p.seen.length} seen; ${p.leftovers.length} still alive ${formatDuration(s.drainDeadlineMs)} after the last reload`,
  );
  for (const l of p.leftovers.slice(0, 10)) out.push(`  leftover pid ${l.pid} (started ${secs(l.startedAt)}): ${l.command}`);
  if (p.killed.length > 0) out.push(`  storm had to SIGKILL pid ${p.killed.join(', ')} when stopping the target`);

  if (r.probe) {
    const pr = r.probe;
    const failed = Object.entries(pr.failed).map(([k, n]) => `${n} ${k}`);
    const other = Object.entries(pr.otherStatus).map(([k, n]) => `${n}×${k}`);
    out.push('');
    out.push(`new route: ${pr.sent} fresh probes to ${pr.targets.join('; ')}`);
    out.push(
      `  reached ${pr.backend}: ${pr.reachedNew}   got 503: ${pr.status503}   other status: ${other.length ? other.join(', ') : 0}   other backend: ${pr.wrongBackend}   failed: ${failed.length ? failed.join(', ') : 0}`,
    );
  }
  out.push('');
  if (r.verdict === 'ok') out.push('Verdict: OK: no client noticed the reloads, one listening socket per address, nothing left over.');
  else {
    out.push(
      r.verdict === 'interrupted'
        ? `Verdict: INTERRUPTED${r.problems.length ? `; ${r.problems.length} problem(s) so far:` : '.'}`
        : `Verdict: PROBLEM: ${r.problems.length} problem${r.problems.length === 1 ? '' : 's'}:`,
    );
    for (const pr of r.problems) out.push(`  - ${pr}`);
  }
  return `${out.join('\n')}\n`;
}
