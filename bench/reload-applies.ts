// bench:reload part 4: worker memory over many live applies. One handoff with 2 workers and
// light load (100 idle keep-alive connections and one client sending a request every 10 ms)
// receives `applies` config pushes (`handoff apply`, each a new variant), one after the
// other, as fast as they complete. The RSS of each worker (from /proc) is sampled every
// tenth of the run: an old compiled config must be released once no request uses it, so
// the figures stay flat. At the end, the same worker processes must still run, and every
// idle connection's next request must be answered by the newest config.
import type { BackendProcess } from './support/fast-backend-process.js';
import { startHandoff } from './support/handoff-proxy.js';
import { openIdle, requestEach } from './support/idle-connections.js';
import { KeepAliveClient } from './support/keep-alive-client.js';
import { rssBytes } from './support/proc-stat.js';
import { waitForOk } from './support/probe.js';
import { delay } from './support/ports.js';
import { progress } from './support/progress.js';
import { percentile, round } from './support/stats.js';

const WORKERS = 2;
const IDLE = 100;
const LIGHT_LOAD_GAP_MS = 10;
/** Bound on the whole series, whatever `applies` says. */
const SERIES_LIMIT_MS = 20 * 60_000;

export interface ApplySample {
  /** Applies done when the sample was taken. */
  readonly applies: number;
  /** RSS of each worker of the active generation, in bytes. */
  readonly workerRss: readonly number[];
  readonly masterRss: number;
  /** The master's V8 heap in use (from status). */
  readonly masterHeapUsed: number;
}

export interface ApplySeries {
  readonly requested: number;
  readonly done: number;
  readonly failed: number;
  readonly kinds: Readonly<Record<string, number>>;
  readonly elapsedMs: number;
  readonly samples: readonly ApplySample[];
  readonly masterP50Ms: number;
  readonly masterP99Ms: number;
  readonly clientP50Ms: number;
  readonly clientP99Ms: number;
  /** The workers at the end are the ones of the start (no process was started). */
  readonly sameWorkers: boolean;
  readonly idle: { readonly connections: number; readonly ok: number; readonly fromNewest: number };
  readonly lightLoad: { readonly requests: number; readonly failed: number };
  readonly firstFailure?: string;
}

function lightLoad(port: number): { stop(): Promise<{ requests: number; failed: number }> } {
  let stopped = false;
  let requests = 0;
  let failed = 0;
  const loop = (async () => {
    let client: KeepAliveClient | undefined;
    while (!stopped) {
      try {
        if (!client?.usable) {
          client?.destroy();
          client = await KeepAliveClient.open(port);
        }
        const o = await client.request('/', 5_000);
        requests++;
        if (!o.ok) failed++;
      } catch {
        failed++;
      }
      await delay(LIGHT_LOAD_GAP_MS);
    }
    client?.destroy();
  })();
  return {
    async stop() {
      stopped = true;
      await loop;
      return { requests, failed };
    },
  };
}

export async function runApplySeries(backend: BackendProcess, applies: number): Promise<ApplySeries> {
  progress(
    `reload: ${applies} live applies (handoff apply), one after the other, sampling worker RSS every ${Math.max(1, Math.round(applies / 10))}`,
  );
  // The idle connections must outlive the series (handoff closes idle ones after 60 s by default).
  const proxy = await startHandoff({ workers: WORKERS, backendPort: backend.port, keepAlive: '1h' });
  let idle: KeepAliveClient[] = [];
  try {
    await waitForOk(proxy.port);
    idle = (await openIdle(proxy.port, IDLE)).clients;
    const load = lightLoad(proxy.port);
    const workers = await proxy.activeWorkers();
    const every = Math.max(1, Math.round(applies / 10));
    const sample = async (n: number): Promise<ApplySample> => ({
      applies: n,
      workerRss: workers.map(rssBytes),
      masterRss: rssBytes(proxy.masterPid),
      masterHeapUsed: (await proxy.status()).master.memory.heapUsed,
    });
    const samples: ApplySample[] = [await sample(0)];
    const master: number[] = [];
    const client: number[] = [];
    const kinds: Record<string, number> = {};
    let failed = 0;
    let done = 0;
    let firstFailure: string | undefined;
    const t0 = performance.now();
    for (let i = 1; i <= applies && performance.now() - t0 < SERIES_LIMIT_MS; i++) {
      const t = performance.now();
      try {
        const a = await proxy.apply();
        client.push(performance.now() - t);
        if (a.durationMs !== undefined) master.push(a.durationMs);
        if (a.kind) kinds[a.kind] = (kinds[a.kind] ?? 0) + 1;
        done++;
      } catch (err) {
        failed++;
        firstFailure ??= (err as Error).message.split('\n')[0];
      }
      if (i % every === 0) {
        samples.push(await sample(i));
        progress(`reload: ${i} applies`);
      }
    }
    const elapsedMs = performance.now() - t0;
    const light = await load.stop();
    const after = await requestEach(idle, proxy.variant);
    const workersAfter = await proxy.activeWorkers();
    return {
      requested: applies,
      done,
      failed,
      kinds,
      elapsedMs: round(elapsedMs, 0),
      samples,
      masterP50Ms: round(percentile(master, 50), 1),
      masterP99Ms: round(percentile(master, 99), 1),
      clientP50Ms: round(percentile(client, 50), 1),
      clientP99Ms: round(percentile(client, 99), 1),
      sameWorkers: workersAfter.length === workers.length && workersAfter.every((p) => workers.includes(p)),
      idle: { connections: idle.length, ok: after.ok, fromNewest: after.fromVariant },
      lightLoad: light,
      ...(firstFailure !== undefined ? { firstFailure } : {}),
    };
  } finally {
    for (const c of idle) c.destroy();
    await proxy.stop();
  }
}
