// bench:migrate (issue 5): with 100 / 1,000 / 10,000 idle keep-alive connections open,
// (1a) how long a live reload takes (it must not grow with the connections: none is
// touched) and whether each connection's next request gets the new config; (1b) how long
// after a process reload (--restart) returns the old generation is gone (the connections
// migrate to the new generation instead of pinning it), and whether every one still works;
// (2) client errors under a 10 reloads/s storm with 64 keep-alive clients, for handoff
// (live, and process) and, side by side, HAProxy (master-worker, SIGUSR2) and nginx (SIGHUP).
// Every handoff reload changes the config (an unchanged one is a no-op).
import { startClientFleet, type FleetResult } from './support/client-fleet.js';
import { startFastBackend, type BackendProcess } from './support/fast-backend-process.js';
import { openFileLimit } from './support/fd-limit.js';
import { startHandoff, type HandoffProxy } from './support/handoff-proxy.js';
import { haproxyInstalled, startHaproxy } from './support/haproxy-proxy.js';
import { openIdle, requestEach } from './support/idle-connections.js';
import type { KeepAliveClient, FailureKind } from './support/keep-alive-client.js';
import { describeMachine, loadAverage, machineInfo, type MachineInfo } from './support/machine.js';
import { nginxInstalled, startNginx } from './support/nginx-proxy.js';
import { sampleProcessTree } from './support/process-sampler.js';
import { isAlive } from './support/proc-stat.js';
import { waitForOk } from './support/probe.js';
import { delay } from './support/ports.js';
import { progress } from './support/progress.js';
import type { ProxyUnderTest, ReloadAnswer } from './support/proxy.js';
import { startReloadStorm } from './support/reload-storm.js';
import { formatCount, formatMs, percentile, round } from './support/stats.js';
import { formatTable } from './support/table.js';

export interface MigrateBenchOptions {
  readonly counts: readonly number[];
  /** The storm per proxy. */
  readonly stormMs: number;
  readonly clients: number;
}

export const MIGRATE_DEFAULTS: MigrateBenchOptions = { counts: [100, 1_000, 10_000], stormMs: 15_000, clients: 64 };

const WORKERS = 2;
const STORM_INTERVAL_MS = 100;
/** Live reloads per connection count (one after the other). */
const LIVE_RELOADS = 20;
/** Descriptors the benchmark needs besides its client connections. */
const FD_MARGIN = 500;

export interface LiveIdleRow {
  readonly reloads: number;
  readonly failed: number;
  /** Answers that were not 'live' (should be 0). */
  readonly otherKinds: number;
  /** Request to answer (client side) and the master's durationMs. */
  readonly clientP50Ms: number;
  readonly clientMaxMs: number;
  readonly masterP50Ms: number;
  readonly masterMaxMs: number;
  /** A request on every connection afterwards: answered, and answered by the newest config. */
  readonly afterOk: number;
  readonly afterFromNewest: number;
  readonly afterFailed: Readonly<Partial<Record<FailureKind, number>>>;
}

export interface IdleRow {
  readonly connections: number;
  readonly skipped?: string;
  /** Connections that could not be set up (connect or first request failed). */
  readonly setupFailed?: number;
  readonly live?: LiveIdleRow;
  /** The process reload (--restart) that follows the live ones. */
  readonly reloadMs?: number;
  /** Reload returned → last worker of the old generation gone. */
  readonly switchToExitMs?: number;
  /** Reload requested → last worker of the old generation gone (handoff answers a reload once the
   * old workers confirmed they stopped accepting, which they do after handing over their idle
   * connections: most of the migration happens before the answer). */
  readonly requestToExitMs?: number;
  readonly drained?: { migrated: number; closedIdle: number; timedOut: number; killed: number };
  /** A request on every connection after the reload. */
  readonly afterOk?: number;
  readonly afterFailed?: Readonly<Partial<Record<FailureKind, number>>>;
}

export interface StormRow {
  readonly label: string;
  readonly skipped?: string;
  readonly fleet?: FleetResult;
  readonly reloadsSent?: number;
  /** Reloads the proxy reports it carried out during the storm (see ProxyUnderTest.reloadsDone). */
  readonly reloadsDone?: number;
  readonly maxProcesses?: number;
  readonly reloadFailures?: number;
}

export interface MigrateBenchReport {
  readonly benchmark: 'migrate';
  readonly machine: MachineInfo;
  /** Load average when the run ended (machine.loadAvg is the start). */
  readonly loadAvgAfter: readonly number[];
  /** The open file limit the run had. */
  readonly fdLimit: number;
  readonly options: MigrateBenchOptions;
  readonly idle: readonly IdleRow[];
  readonly storm: readonly StormRow[];
}

/** LIVE_RELOADS live reloads one after the other, then a request on every connection. */
async function liveReloads(proxy: HandoffProxy, clients: readonly KeepAliveClient[]): Promise<LiveIdleRow> {
  const client: number[] = [];
  const master: number[] = [];
  let failed = 0;
  let otherKinds = 0;
  for (let i = 0; i < LIVE_RELOADS; i++) {
    const t0 = performance.now();
    try {
      const a = await proxy.reload();
      client.push(performance.now() - t0);
      if (a.durationMs !== undefined) master.push(a.durationMs);
      if (a.kind !== 'live') otherKinds++;
    } catch (err) {
      failed++;
      progress(`migrate: live reload failed: ${(err as Error).message.split('\n')[0]}`);
    }
  }
  const after = await requestEach(clients, proxy.variant);
  return {
    reloads: LIVE_RELOADS,
    failed,
    otherKinds,
    clientP50Ms: round(percentile(client, 50), 1),
    clientMaxMs: round(Math.max(...client), 1),
    masterP50Ms: round(percentile(master, 50), 1),
    masterMaxMs: round(Math.max(...master), 1),
    afterOk: after.ok,
    afterFromNewest: after.fromVariant,
    afterFailed: after.failed,
  };
}

async function idleRow(backend: BackendProcess, n: number, fdLimit: number): Promise<IdleRow> {
  // The benchmark holds n client sockets; the workers hold n more plus their upstream pools.
  if (fdLimit < n + FD_MARGIN)
    return {
      connections: n,
      skipped: `the open file limit is ${fdLimit} (ulimit -Hn; Node raises the soft one to it): need at least ${n + FD_MARGIN}`,
    };
  progress(`migrate: ${n} idle keep-alive connections`);
  const proxy = await startHandoff({ workers: WORKERS, backendPort: backend.port });
  let clients: KeepAliveClient[] = [];
  try {
    await waitForOk(proxy.port);
    const opened = await openIdle(proxy.port, n);
    clients = opened.clients;
    progress(`migrate: ${n} connections: ${LIVE_RELOADS} live reloads`);
    const live = await liveReloads(proxy, clients);
    // Wait for a quiet master (only the active generation) and take its workers.
    for (let i = 0; i < 500 && proxy.pids().length > 1 + WORKERS; i++) await delay(10);
    const oldWorkers = proxy.pids().filter((p) => p !== proxy.masterPid);
    progress(`migrate: ${n} connections: a process reload`);
    const t0 = performance.now();
    await proxy.reload({ restart: true });
    const switched = performance.now();
    let exited = NaN;
    // Drain timeout 30s plus the master's grace: past 45 s the number would be meaningless.
    while (performance.now() - switched < 45_000) {
      if (oldWorkers.every((p) => !isAlive(p))) {
        exited = performance.now();
        break;
      }
      await delay(5);
    }
    let drained: IdleRow['drained'];
    for (let i = 0; i < 100 && drained === undefined; i++) {
      drained = (await proxy.status()).reloads.at(-1)?.drained;
      if (drained === undefined) await delay(50);
    }
    const after = await requestEach(clients);
    return {
      connections: n,
      setupFailed: opened.failed,
      live,
      reloadMs: round(switched - t0, 1),
      switchToExitMs: round(exited - switched, 1),
      requestToExitMs: round(exited - t0, 1),
      drained,
      afterOk: after.ok,
      afterFailed: after.failed,
    };
  } catch (err) {
    progress(`migrate: ${n} connections: failed: ${(err as Error).message}`);
    return { connections: n, skipped: `failed: ${(err as Error).message.split('\n')[0]}` };
  } finally {
    for (const c of clients) c.destroy();
    await proxy.stop();
  }
}

/** `reload` sends one reload request to the proxy `start` gave (default: its plain reload). */
async function stormRow<P extends ProxyUnderTest>(
  label: string,
  start: () => Promise<P>,
  o: MigrateBenchOptions,
  reload: (proxy: P) => Promise<ReloadAnswer> = (proxy) => proxy.reload(),
): Promise<StormRow> {
  progress(`migrate: storm against ${label}: ${o.clients} keep-alive clients, a reload every ${STORM_INTERVAL_MS} ms for ${o.stormMs} ms`);
  let proxy: P | undefined;
  try {
    proxy = await start();
    await waitForOk(proxy.port);
    const doneBefore = await proxy.reloadsDone().catch(() => undefined);
    const sampler = sampleProcessTree(proxy.masterPid, 250);
    const fleet = startClientFleet(proxy.port, o.clients);
    await delay(500); // every client connected and busy before the first reload
    const p = proxy;
    const storm = startReloadStorm(() => reload(p), STORM_INTERVAL_MS);
    await delay(o.stormMs);
    const reloads = await storm.stop();
    await delay(500); // let the last reload take effect with clients still running
    const result = await fleet.stop();
    const samples = sampler.stop();
    await delay(500); // a reload still in progress is counted once done
    const doneAfter = await proxy.reloadsDone().catch(() => undefined);
    return {
      label,
      fleet: result,
      reloadsSent: reloads.requested,
      reloadFailures: reloads.failed,
      reloadsDone: doneBefore === undefined || doneAfter === undefined ? undefined : doneAfter - doneBefore,
      maxProcesses: Math.max(...samples.map((s) => s.processes)),
    };
  } catch (err) {
    progress(`migrate: storm against ${label}: failed: ${(err as Error).message}`);
    return { label, skipped: `failed: ${(err as Error).message.split('\n')[0]}` };
  } finally {
    await proxy?.stop();
  }
}

export async function runMigrateBench(o: MigrateBenchOptions = MIGRATE_DEFAULTS): Promise<MigrateBenchReport> {
  const machine = machineInfo();
  const fdLimit = openFileLimit();
  const backend = await startFastBackend();
  const idle: IdleRow[] = [];
  const storm: StormRow[] = [];
  try {
    for (const n of o.counts) idle.push(await idleRow(backend, n, fdLimit));
    const handoff = () => startHandoff({ workers: WORKERS, backendPort: backend.port });
    storm.push(await stormRow(`handoff (${WORKERS} workers), live`, handoff, o, (h) => h.reload()));
    storm.push(await stormRow(`handoff (${WORKERS} workers), process`, handoff, o, (h) => h.reload({ restart: true })));
    if (haproxyInstalled()) storm.push(await stormRow('haproxy -W (nbthread 2), SIGUSR2', () => startHaproxy(backend.port, 2), o));
    else storm.push({ label: 'haproxy', skipped: 'haproxy not installed' });
    if (nginxInstalled()) storm.push(await stormRow('nginx (2 workers), SIGHUP', () => startNginx(backend.port, 2), o));
    else storm.push({ label: 'nginx', skipped: 'nginx not installed' });
  } finally {
    await backend.stop();
  }
  return { benchmark: 'migrate', machine, loadAvgAfter: loadAverage(), fdLimit, options: o, idle, storm };
}

function kinds(f: Readonly<Partial<Record<FailureKind, number>>> | undefined): string {
  const parts = Object.entries(f ?? {})
    .filter(([, v]) => (v ?? 0) > 0)
    .map(([k, v]) => `${k} ${v}`);
  return parts.length === 0 ? '0' : parts.join(', ');
}

export function formatMigrateReport(r: MigrateBenchReport): string {
  const liveRows = r.idle.map((x) => {
    const l = x.live;
    if (x.skipped || !l) return [formatCount(x.connections), 'skipped', '', '', '', '', ''];
    return [
      formatCount(x.connections),
      formatMs(l.masterP50Ms),
      formatMs(l.masterMaxMs),
      formatMs(l.clientP50Ms),
      formatMs(l.clientMaxMs),
      `${l.reloads - l.failed} live${l.otherKinds ? ` (${l.otherKinds} not live)` : ''}${l.failed ? `, ${l.failed} failed` : ''}`,
      `${formatCount(l.afterOk)} ok (${formatCount(l.afterFromNewest)} newest config), failed: ${kinds(l.afterFailed)}`,
    ];
  });
  const idleRows = r.idle.map((x) => {
    if (x.skipped) return [formatCount(x.connections), 'skipped', '', '', '', '', ''];
    const d = x.drained;
    return [
      formatCount(x.connections),
      formatMs(x.reloadMs ?? NaN),
      Number.isFinite(x.switchToExitMs) ? formatMs(x.switchToExitMs!) : 'not within 45 s',
      Number.isFinite(x.requestToExitMs) ? formatMs(x.requestToExitMs!) : '-',
      d ? `${d.migrated} / ${d.closedIdle} / ${d.timedOut} / ${d.killed}` : 'n/a',
      `${formatCount(x.afterOk ?? 0)} ok, failed: ${kinds(x.afterFailed)}`,
      String(x.setupFailed ?? 0),
    ];
  });
  const stormRows = r.storm.map((s) => {
    if (!s.fleet) return [s.label, 'skipped', '', '', '', '', '', ''];
    const f = s.fleet;
    return [
      s.label,
      formatCount(f.requests),
      formatCount(f.failed),
      kinds(f.failures),
      String(s.reloadsSent ?? '-'),
      s.reloadsDone === undefined ? '?' : String(s.reloadsDone),
      String(s.maxProcesses ?? '-'),
      formatCount(f.reconnects),
    ];
  });
  return [
    `bench:migrate: connection migration (handoff ${WORKERS} workers, fast backend, access log off)`,
    describeMachine(r.machine),
    `load average at the end: ${r.loadAvgAfter.join(' ')}; open file limit ${r.fdLimit}`,
    '',
    `1a. live reloads with idle keep-alive connections open: ${LIVE_RELOADS} reloads one after the other per row, request to "new config in force"`,
    formatTable(['connections', 'master p50', 'master max', 'client p50', 'client max', 'reloads', 'a request on each after'], liveRows),
    '',
    '1b. idle keep-alive connections at one process reload (--restart): from the reload returning to the exit of the last old worker',
    formatTable(
      [
        'connections',
        'reload',
        'switch -> old gen exit',
        'request -> old gen exit',
        'migrated / closed idle / timed out / killed',
        'a request on each after',
        'setup failed',
      ],
      idleRows,
    ),
    ...r.idle.filter((x) => x.skipped).map((x) => `${x.connections} connections: skipped: ${x.skipped}`),
    '',
    `2. client errors under a reload storm: ${r.options.clients} keep-alive clients (sequential requests, no retries), a reload every ${STORM_INTERVAL_MS} ms for ${r.options.stormMs / 1000}s`,
    formatTable(
      ['proxy', 'requests', 'failed', 'failures by kind', 'reloads requested', 'reloads done', 'max processes', 'reconnects'],
      stormRows,
    ),
    ...r.storm.filter((s) => s.skipped).map((s) => `${s.label}: skipped: ${s.skipped}`),
    'failure kinds: reset (ECONNRESET/EPIPE), eof (closed with a request in flight), timeout (5 s), status (non-200), refused (connect refused).',
    'reconnects: new connections after the server closed one between requests (not failures).',
    'reloads done: handoff coalesces requests that arrive during a run (by design; the last one wins); HAProxy and nginx may lose a signal that arrives while they reload.',
  ].join('\n');
}
