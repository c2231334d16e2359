// handoff under test: a config in a temp folder, `handoff start -f` as a service, status
// and reloads through the control socket in-process. Every reload changes the config (a
// new variant, see handoff-config.ts): an unchanged config would be a no-op.
//   reload({ restart })  writes the next variant to a file of its own and asks the master
//                        to load it (`handoff reload -f FILE [--restart]`); each request
//                        names its own file, so coalesced requests never read a file
//                        meant for a later one
//   apply({ restart })   pushes the next variant as a document (`handoff apply`)
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { controlRequest } from '../../src/protocol/control-client.js';
import type { ControlRequest, StatusReport } from '../../src/protocol/control.js';
import { handoffConfig, type HandoffConfigOptions } from './handoff-config.js';
import { freePort, waitForListen } from './ports.js';
import { processTree } from './proc-stat.js';
import type { ProxyUnderTest, ReloadAnswer } from './proxy.js';
import { startService, untilReady } from './service-process.js';

/** dist/src/cli/entry.js of the build this benchmark was compiled with. */
export const HANDOFF_ENTRY = join(dirname(fileURLToPath(import.meta.url)), '..', '..', 'src', 'cli', 'entry.js');

export interface HandoffOptions extends HandoffConfigOptions {
  /** The node binary to run handoff with (default: the one running the benchmark). */
  readonly node?: string;
  /** The CLI entry to run (default: this build's); another build's, for A/B runs of two versions of the code. */
  readonly entry?: string;
  /** A label suffix, e.g. the Node version. */
  readonly labelSuffix?: string;
}

export interface ReloadOptions {
  /** A process reload (new worker generation, connection migration) instead of a live apply. */
  readonly restart?: boolean;
}

export interface HandoffProxy extends ProxyUnderTest {
  readonly control: string;
  /** The variant of the newest config sent to the master (0 at start). */
  readonly variant: number;
  reload(o?: ReloadOptions): Promise<ReloadAnswer>;
  apply(o?: ReloadOptions): Promise<ReloadAnswer>;
  status(): Promise<StatusReport>;
  /** The config generation in force (it counts live and process reloads alike). */
  activeGeneration(): Promise<number>;
  /** pids of the workers of the active generation. */
  activeWorkers(): Promise<number[]>;
  reloadsDone(): Promise<number>;
}

/**
 * Variant files are reused in a ring this long: a file is rewritten only when the request
 * that named it was answered long ago (a storm keeps at most 20 requests in flight).
 */
const VARIANT_FILES = 64;

export async function startHandoff(o: HandoffOptions): Promise<HandoffProxy> {
  const dir = mkdtempSync(join(tmpdir(), 'handoff-bench-'));
  const port = await freePort();
  const file = join(dir, 'handoff.yaml');
  const control = join(dir, 'handoff.sock');
  let variant = 0;
  writeFileSync(file, handoffConfig(port, o, variant));
  const service = startService('handoff', o.node ?? process.execPath, [o.entry ?? HANDOFF_ENTRY, 'start', '-f', file], {
    stopSignal: 'SIGQUIT',
  });
  void service.exited.then(() => rmSync(dir, { recursive: true, force: true }));
  await untilReady(service, async () => {
    await service.waitFor(/handoff started/, 30_000);
    await waitForListen(port);
  });
  const status = async (): Promise<StatusReport> => {
    const res = await controlRequest(control, { type: 'status' }, 30_000);
    if (!res.ok || res.type !== 'status') throw new Error(`handoff status failed: ${res.ok ? res.type : res.error}`);
    return res.status;
  };
  // The config generation: it counts every config put in force, live or by new processes.
  const activeGeneration = async (): Promise<number> =>
    (await status()).generations.find((g) => g.state === 'active')?.configGeneration ?? 0;
  const send = async (request: ControlRequest): Promise<ReloadAnswer> => {
    const res = await controlRequest(control, request, 60_000);
    if (!res.ok) throw new Error(`handoff ${request.type} failed: ${res.error}`);
    if (res.type !== 'reload') throw new Error(`handoff ${request.type}: unexpected answer ${res.type}`);
    return { kind: res.kind, generation: res.generation, durationMs: res.durationMs, coalesced: res.coalesced };
  };
  return {
    label: `handoff (${o.workers} worker${o.workers === 1 ? '' : 's'})${o.labelSuffix ?? ''}`,
    kind: 'handoff',
    port,
    masterPid: service.pid,
    control,
    get variant() {
      return variant;
    },
    pids: () => processTree(service.pid),
    reload(r: ReloadOptions = {}) {
      variant++;
      const next = join(dir, `handoff-${variant % VARIANT_FILES}.yaml`);
      writeFileSync(next, handoffConfig(port, o, variant));
      return send({ type: 'reload', file: next, ...(r.restart ? { restart: true } : {}) });
    },
    apply(r: ReloadOptions = {}) {
      variant++;
      return send({ type: 'apply', config: handoffConfig(port, o, variant), ...(r.restart ? { restart: true } : {}) });
    },
    status,
    activeGeneration,
    activeWorkers: async () => (await status()).generations.find((g) => g.state === 'active')?.workers.map((w) => w.pid) ?? [],
    // Status keeps a bounded reload history; generation numbers count every config put in force (gen 1 is the start).
    reloadsDone: async () => (await activeGeneration()) - 1,
    stop: () => service.stop('SIGQUIT', 10_000),
  };
}
