// handoff under test: a config in a temp folder, `handoff start -f` as a service, reloads
// through the control socket in-process (controlRequest resolves once the new generation
// is active), status through the same socket.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { controlRequest } from '../../src/protocol/control-client.js';
import type { StatusReport } from '../../src/protocol/control.js';
import { freePort, waitForListen } from './ports.js';
import { processTree } from './proc-stat.js';
import type { ProxyUnderTest, ReloadAnswer } from './proxy.js';
import { startService } from './service-process.js';

/** dist/src/cli/entry.js of the build this benchmark was compiled with. */
export const HANDOFF_ENTRY = join(dirname(fileURLToPath(import.meta.url)), '..', '..', 'src', 'cli', 'entry.js');

export interface HandoffOptions {
  readonly workers: number;
  readonly backendPort: number;
  /** drain.timeout (default 30s, handoff's default). */
  readonly drainTimeout?: string;
  readonly migrate?: boolean;
}

export interface HandoffProxy extends ProxyUnderTest {
  readonly control: string;
  status(): Promise<StatusReport>;
  activeGeneration(): Promise<number>;
  reloadsDone(): Promise<number>;
}

export function handoffConfig(port: number, o: HandoffOptions): string {
  return [
    'control: ./handoff.sock',
    `workers: ${o.workers}`,
    'log: { access: off }',
    `drain: { timeout: ${o.drainTimeout ?? '30s'}, migrate: ${o.migrate ?? true} }`,
    'frontends:',
    '  web:',
    `    bind: 127.0.0.1:${port}`,
    '    default_backend: app',
    'backends:',
    '  app:',
    '    servers:',
    `      - { name: s1, address: 127.0.0.1:${o.backendPort} }`,
    '',
  ].join('\n');
}

export async function startHandoff(o: HandoffOptions): Promise<HandoffProxy> {
  const dir = mkdtempSync(join(tmpdir(), 'handoff-bench-'));
  const port = await freePort();
  const file = join(dir, 'handoff.yaml');
  const control = join(dir, 'handoff.sock');
  writeFileSync(file, handoffConfig(port, o));
  const service = startService('handoff', process.execPath, [HANDOFF_ENTRY, 'start', '-f', file], { stopSignal: 'SIGQUIT' });
  void service.exited.then(() => rmSync(dir, { recursive: true, force: true }));
  try {
    await service.waitFor(/handoff started/, 30_000);
    await waitForListen(port);
  } catch (err) {
    await service.stop('SIGKILL');
    throw err;
  }
  const status = async (): Promise<StatusReport> => {
    const res = await controlRequest(control, { type: 'status' }, 30_000);
    if (!res.ok || res.type !== 'status') throw new Error(`handoff status failed: ${res.ok ? res.type : res.error}`);
    return res.status;
  };
  const activeGeneration = async (): Promise<number> => (await status()).generations.find((g) => g.state === 'active')?.number ?? 0;
  return {
    label: `handoff (${o.workers} worker${o.workers === 1 ? '' : 's'})`,
    kind: 'handoff',
    port,
    masterPid: service.pid,
    control,
    pids: () => processTree(service.pid),
    async reload(): Promise<ReloadAnswer> {
      const res = await controlRequest(control, { type: 'reload' }, 60_000);
      if (!res.ok) throw new Error(`handoff reload failed: ${res.error}`);
      if (res.type !== 'reload') throw new Error(`handoff reload: unexpected answer ${res.type}`);
      return { generation: res.generation, durationMs: res.durationMs, coalesced: res.coalesced };
    },
    status,
    activeGeneration,
    // Status keeps a bounded reload history; generation numbers count every run (gen 1 is the start).
    reloadsDone: async () => (await activeGeneration()) - 1,
    stop: () => service.stop('SIGQUIT', 10_000),
  };
}
