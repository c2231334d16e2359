// The text report of bench:reload (bench/reload.ts measures; this prints).
import type { LoadResult } from './support/load-result.js';
import { totalErrors } from './support/load-result.js';
import { describeMachine } from './support/machine.js';
import { formatCount, formatMiB, formatMs, formatRatio } from './support/stats.js';
import { formatTable } from './support/table.js';
import { LOAD_WORKERS, RATIO_INTERVAL_MS, STORM_INTERVAL_MS, type ReloadBenchReport } from './reload.js';
import type { ApplySeries } from './reload-applies.js';

/** The issue's targets for live apply. */
const TARGET_RATIO = 0.9;
const TARGET_MASTER_P99_MS = 20;

function errorsText(l: LoadResult): string {
  const e = l.errors;
  return `${formatCount(totalErrors(e))} (connect ${e.connect}, read ${e.read}, write ${e.write}, timeout ${e.timeout}, non-2xx/3xx ${e.status})`;
}

function kindsText(kinds: Readonly<Record<string, number>> | undefined): string {
  const parts = Object.entries(kinds ?? {}).map(([k, n]) => `${k} ${n}`);
  return parts.length === 0 ? '-' : parts.join(', ');
}

function met(ok: boolean): string {
  return ok ? 'MET' : 'NOT MET';
}

function appliesSection(a: ApplySeries): string[] {
  const mid = a.samples[Math.floor((a.samples.length - 1) / 2)];
  const first = a.samples[0];
  const last = a.samples[a.samples.length - 1];
  const workerCols = first?.workerRss.map((_r, i) => `worker ${i + 1} RSS`) ?? [];
  return [
    '',
    `4. worker memory over ${formatCount(a.requested)} live applies (handoff apply, one after the other), handoff ${LOAD_WORKERS} workers, ` +
      `${a.idle.connections} idle keep-alive connections and one client at a request per 10 ms`,
    formatTable(
      ['applies', ...workerCols, 'master RSS', 'master heapUsed'],
      a.samples.map((s) => [formatCount(s.applies), ...s.workerRss.map(formatMiB), formatMiB(s.masterRss), formatMiB(s.masterHeapUsed)]),
    ),
    `worker RSS first / middle / last: ${[first, mid, last].map((s) => (s ? s.workerRss.map(formatMiB).join(' + ') : '-')).join('  /  ')}`,
    `${formatCount(a.done)} applied in ${(a.elapsedMs / 1000).toFixed(1)}s (${kindsText(a.kinds)}; failed ${a.failed}); ` +
      `apply latency master p50 ${formatMs(a.masterP50Ms)}, p99 ${formatMs(a.masterP99Ms)}; client p50 ${formatMs(a.clientP50Ms)}, p99 ${formatMs(a.clientP99Ms)}`,
    `same worker processes at the end: ${a.sameWorkers ? 'yes' : 'NO'}; idle connections answered afterwards ${a.idle.ok}/${a.idle.connections}, ` +
      `by the newest config ${a.idle.fromNewest}; light load ${formatCount(a.lightLoad.requests)} requests, ${a.lightLoad.failed} failed`,
    ...(a.firstFailure ? [`first apply failure: ${a.firstFailure}`] : []),
  ];
}

export function formatReloadReport(r: ReloadBenchReport): string {
  const out = [
    `bench:reload: handoff reloads that change the config (live, and process with --restart); backend: ${r.backend}; load: ${r.loadGenerator}`,
    describeMachine(r.machine),
    `load average at the end: ${r.loadAvgAfter.join(' ')}`,
    '',
    `1. reload latency: request on the control socket to "new config in force", ${r.options.reloads} reloads per row, one at a time, no load`,
    formatTable(
      ['kind', 'workers', 'p50', 'p99', 'max', 'master p50', 'master p99', 'failed', 'other kind'],
      r.latency.map((s) => [
        s.variant,
        String(s.workers),
        formatMs(s.p50Ms),
        formatMs(s.p99Ms),
        formatMs(s.maxMs),
        formatMs(s.masterP50Ms),
        formatMs(s.masterP99Ms),
        String(s.failed),
        String(s.otherKinds),
      ]),
    ),
  ];
  if (r.ratio.length > 0) {
    out.push(
      '',
      `2. requests/s under a reload every ${RATIO_INTERVAL_MS} ms: wrk ${r.options.connections} connections, handoff ${LOAD_WORKERS} workers; ` +
        `${r.options.rounds} rounds of ${r.options.baselineMs / 1000}s runs (none, live, process; order rotated each round), medians`,
      formatTable(
        [
          'run',
          'req/s',
          'p99',
          'vs no reloads',
          'per round',
          'wrk errors',
          'reload answers',
          'master p50',
          'master p99',
          'client p50',
          'client p99',
        ],
        r.ratio.map((v) => [
          v.variant === 'none' ? 'no reloads' : `${v.variant} reloads`,
          formatCount(v.medianRps),
          formatMs(v.medianP99Ms),
          formatRatio(v.medianRatio),
          v.ratios.map(formatRatio).join(' '),
          formatCount(v.errors),
          v.variant === 'none' ? '' : `${kindsText(v.kinds)}${v.failed ? `, failed ${v.failed}` : ''}`,
          v.masterP50Ms === undefined ? '' : formatMs(v.masterP50Ms),
          v.masterP99Ms === undefined ? '' : formatMs(v.masterP99Ms),
          v.clientP50Ms === undefined ? '' : formatMs(v.clientP50Ms),
          v.clientP99Ms === undefined ? '' : formatMs(v.clientP99Ms),
        ]),
      ),
    );
    const live = r.ratio.find((v) => v.variant === 'live');
    if (live) {
      out.push(
        `targets (live, ${LOAD_WORKERS} workers): req/s >= ${TARGET_RATIO * 100}% of no reloads: ${met(live.medianRatio >= TARGET_RATIO)} (${formatRatio(live.medianRatio)}); ` +
          `master reload p99 < ${TARGET_MASTER_P99_MS} ms under load: ${met((live.masterP99Ms ?? Infinity) < TARGET_MASTER_P99_MS)} (${formatMs(live.masterP99Ms ?? NaN)})`,
      );
    }
    const failures = r.ratioRuns.flatMap((x) => x.storm?.firstFailures ?? []);
    if (failures.length > 0) out.push(`first reload failures: ${failures.slice(0, 5).join(' | ')}`);
  }
  const st = r.storm;
  if (st) {
    out.push(
      '',
      `3. sustained process-reload storm: ${st.durationMs / 1000}s at ${1000 / STORM_INTERVAL_MS} reloads/s (--restart) under wrk load (${r.options.connections} connections), handoff ${LOAD_WORKERS} workers, sampled every 1s`,
      formatTable(
        ['', 'first', 'max', 'end of storm', 'after settling'],
        [
          [
            'RSS, master + workers',
            formatMiB(st.rss.firstBytes),
            formatMiB(st.rss.maxBytes),
            formatMiB(st.rss.lastBytes),
            formatMiB(st.rss.afterSettleBytes),
          ],
          [
            'processes',
            String(st.samples[0]?.processes ?? '-'),
            String(st.processes.max),
            String(st.processes.last),
            String(st.processes.afterSettle),
          ],
        ],
      ),
      `reload requests ${st.reloads.requested} (answered ${st.reloads.answered}: ${kindsText(st.reloads.kinds)}; failed ${st.reloads.failed}, skipped ${st.reloads.skipped}); ` +
        `configs put in force ${st.generationsRun} (the rest coalesced); reload latency under load p50 ${formatMs(st.reloads.p50Ms)}, p99 ${formatMs(st.reloads.p99Ms)}`,
      `wrk during the storm: ${formatCount(st.load.rps)} req/s, p99 ${formatMs(st.load.latencyMs.p99)}, errors ${errorsText(st.load)}`,
      `settled (only the active generation left) ${Number.isFinite(st.settleMs) ? `${st.settleMs} ms` : 'NOT within 40 s'} after the storm`,
    );
    if (st.reloads.firstFailures.length > 0) out.push(`first reload failures: ${st.reloads.firstFailures.join(' | ')}`);
  }
  if (r.applies) out.push(...appliesSection(r.applies));
  for (const n of r.notes) out.push(`note: ${n}`);
  return out.join('\n');
}
