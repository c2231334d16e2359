// bench:migrate (issue 5): (1) how long after a reload returns the old generation is gone
// when it holds 100 / 1,000 / 5,000 idle keep-alive connections (they migrate to the new
// generation instead of pinning it), and whether every one of them still works after;
// (2) client errors under a 10 reloads/s storm with 64 keep-alive clients, for handoff
// and, side by side, HAProxy (master-worker, SIGUSR2) and nginx (SIGHUP).
import { startClientFleet, type FleetResult } from './support/client-fleet.js';
import { startFastBackend, type BackendProcess } from './support/fast-backend-process.js';
import { startHandoff } from './support/handoff-proxy.js';
import { haproxyInstalled, startHaproxy } from './support/haproxy-proxy.js';
import { KeepAliveClient, type FailureKind } from './support/keep-alive-client.js';
import { describeMachine, machineInfo, type MachineInfo } from './support/machine.js';
import { nginxInstalled, startNginx } from './support/nginx-proxy.js';
import { sampleProcessTree } from './support/process-sampler.js';
import { isAlive, openFileLimit } from './support/proc-stat.js';
import { waitForOk } from './support/probe.js';
import { delay } from './support/ports.js';
import { progress } from './support/progress.js';
import type { ProxyUnderTest } from './support/proxy.js';
import { startReloadStorm } from './support/reload-storm.js';
import { formatCount, formatMs, round } from './support/stats.js';
import { formatTable } from './support/table.js';

export interface MigrateBenchOptions {
  readonly counts: readonly number[];
  /** The storm per proxy. */
  readonly stormMs: number;
  readonly clients: number;
}

export const MIGRATE_DEFAULTS: MigrateBenchOptions = { counts: [100, 1_000, 5_000], stormMs: 15_000, clients: 64 };

const WORKERS = 2;
const STORM_INTERVAL_MS = 100;
const BATCH = 200;

export interface IdleRow {
  readonly connections: number;
  readonly skipped?: string;
  /** Connections that could not be set up (connect or first request failed). */
  readonly setupFailed?: number;
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
  readonly options: MigrateBenchOptions;
  readonly idle: readonly IdleRow[];
  readonly storm: readonly StormRow[];
}

/** Open n connections in batches, each with one request answered: idle keep-alive connections. */
async function openIdle(port: number, n: number): Promise<{ clients: KeepAliveClient[]; failed: number }> {
  const clients: KeepAliveClient[] = [];
  let failed = 0;
  for (let start = 0; start < n; start += BATCH) {
    const batch = await Promise.all(
      Array.from({ length: Math.min(BATCH, n - start) }, async () => {
        try {
          const c = await KeepAliveClient.open(port, 10_000);
          const o = await c.request('/', 10_000);
          if (o.ok && c.usable) return c;
          c.destroy();
        } catch {
          // counted below
        }
        return undefined;
      }),
    );
    for (const c of batch) {
      if (c) clients.push(c);
      else failed++;
    }
  }
  return { clients, failed };
}

async function requestEach(clients: readonly KeepAliveClient[]): Promise<{ ok: number; failed: Partial<Record<FailureKind, number>> }> {
  let ok = 0;
  const failed: Partial<Record<FailureKind, number>> = {};
  for (let start = 0; start < clients.length; start += BATCH) {
    const outcomes = await Promise.all(clients.slice(start, start + BATCH).map((c) => c.request('/', 10_000)));
    for (const o of outcomes) {
      if (o.ok) ok++;
      else failed[o.failure ?? 'error'] = (failed[o.failure ?? 'error'] ?? 0) + 1;
    }
  }
  return { ok, failed };
}

async function idleRow(backend: BackendProcess, n: number): Promise<IdleRow> {
  // The benchmark holds n client sockets; the worker holds n more plus its upstream pool.
  const limit = openFileLimit();
  if (limit < n + 500) return { connections: n, skipped: `ulimit -n is ${limit}: need at least ${n + 500} (raise it with ulimit -n)` };
  progress(`migrate: ${n} idle keep-alive connections`);
  const proxy = await startHandoff({ workers: WORKERS, backendPort: backend.port });
  let clients: KeepAliveClient[] = [];
  try {
    await waitForOk(proxy.port);
    const opened = await openIdle(proxy.port, n);
    clients = opened.clients;
    // Wait for a quiet master (only the active generation) and take its workers.
    for (let i = 0; i < 500 && proxy.pids().length > 1 + WORKERS; i++) await delay(10);
    const oldWorkers = proxy.pids().filter((p) => p !== proxy.masterPid);
    const t0 = performance.now();
    await proxy.reload();
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

async function stormRow(label: string, start: () => Promise<ProxyUnderTest>, o: MigrateBenchOptions): Promise<StormRow> {
  progress(`migrate: storm against ${label}: ${o.clients} keep-alive clients, a reload every ${STORM_INTERVAL_MS} ms for ${o.stormMs} ms`);
  let proxy: ProxyUnderTest | undefined;
  try {
    proxy = await start();
    await waitForOk(proxy.port);
    const doneBefore = await proxy.reloadsDone().catch(() => undefined);
    const sampler = sampleProcessTree(proxy.masterPid, 250);
    const fleet = startClientFleet(proxy.port, o.clients);
    await delay(500); // every client connected and busy before the first reload
    const storm = startReloadStorm(proxy, STORM_INTERVAL_MS);
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
  const backend = await startFastBackend();
  const idle: IdleRow[] = [];
  const storm: StormRow[] = [];
  try {
    for (const n of o.counts) idle.push(await idleRow(backend, n));
    storm.push(await stormRow(`handoff (${WORKERS} workers)`, () => startHandoff({ workers: WORKERS, backendPort: backend.port }), o));
    if (haproxyInstalled()) storm.push(await stormRow('haproxy -W (nbthread 2), SIGUSR2', () => startHaproxy(backend.port, 2), o));
    else storm.push({ label: 'haproxy', skipped: 'haproxy not installed' });
    if (nginxInstalled()) storm.push(await stormRow('nginx (2 workers), SIGHUP', () => startNginx(backend.port, 2), o));
    else storm.push({ label: 'nginx', skipped: 'nginx not installed' });
  } finally {
    await backend.stop();
  }
  return { benchmark: 'migrate', machine, options: o, idle, storm };
}

function kinds(f: Readonly<Partial<Record<FailureKind, number>>> | undefined): string {
  const parts = Object.entries(f ?? {}).filter(([, v]) => (v ?? 0) > 0).map(([k, v]) => `${k} ${v}`);
  return parts.length === 0 ? '0' : parts.join(', ');
}

export function formatMigrateReport(r: MigrateBenchReport): string {
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
    '',
    '1. idle keep-alive connections at one reload: from the reload returning to the exit of the last old worker',
    formatTable(['connections', 'reload', 'switch -> old gen exit', 'request -> old gen exit', 'migrated / closed idle / timed out / killed', 'a request on each after', 'setup failed'], idleRows),
    ...r.idle.filter((x) => x.skipped).map((x) => `${x.connections} connections: skipped: ${x.skipped}`),
    '',
    `2. client errors under a reload storm: ${r.options.clients} keep-alive clients (sequential requests, no retries), a reload every ${STORM_INTERVAL_MS} ms for ${r.options.stormMs / 1000}s`,
    formatTable(['proxy', 'requests', 'failed', 'failures by kind', 'reloads requested', 'reloads done', 'max processes', 'reconnects'], stormRows),
    ...r.storm.filter((s) => s.skipped).map((s) => `${s.label}: skipped: ${s.skipped}`),
    'failure kinds: reset (ECONNRESET/EPIPE), eof (closed with a request in flight), timeout (5 s), status (non-200), refused (connect refused).',
    'reconnects: new connections after the server closed one between requests (not failures).',
    'reloads done: handoff coalesces requests that arrive during a run (by design; the last one wins); HAProxy and nginx may lose a signal that arrives while they reload.',
  ].join('\n');
}
