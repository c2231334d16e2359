// A real handoff master for end-to-end tests: write a config to a temp folder, run
// `handoff start -f` as a tracked process, wait for it to be up; reload, status and stop
// through the real CLI and control socket.
import { mkdtempSync, writeFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { handoff, handoffRun, type Tracked } from './processes.js';
import type { StatusReport } from '../../src/protocol/control.js';

export interface RunningHandoff {
  readonly proc: Tracked;
  readonly dir: string;
  readonly configFile: string;
  readonly control: string;
  /**
   * Write a new config (if given) and reload through `handoff reload`; resolves with the
   * CLI's result. `restart`: a process reload (new generation of workers), as
   * `handoff reload --restart`; otherwise the master applies the change live when it can.
   */
  reload(yaml?: string, opts?: { restart?: boolean }): Promise<{ code: number | string; stdout: string; stderr: string }>;
  /** `handoff status --json`. */
  status(): Promise<StatusReport>;
  /** Graceful stop (SIGTERM), waiting for the master to exit. */
  stop(signal?: NodeJS.Signals): Promise<number | string>;
}

/**
 * `yaml` is the config without a `control` key (one is added in the temp folder). Use
 * ${name} placeholders yourself; this helper does not template.
 */
export async function startHandoff(yaml: string, opts: { env?: NodeJS.ProcessEnv; readyTimeoutMs?: number } = {}): Promise<RunningHandoff> {
  const dir = mkdtempSync(join(tmpdir(), 'handoff-test-'));
  const configFile = join(dir, 'handoff.yaml');
  const control = join(dir, 'handoff.sock');
  const write = (y: string) => writeFileSync(configFile, `control: ./handoff.sock\n${y}`);
  write(yaml);
  const proc = handoff(['start', '-f', configFile], { env: { ...process.env, ...opts.env } });
  try {
    await proc.waitFor(/handoff started/, opts.readyTimeoutMs ?? 20_000);
  } catch (err) {
    await proc.stop('SIGKILL');
    throw err;
  }
  void proc.exited.then(() => rmSync(dir, { recursive: true, force: true }));
  return {
    proc,
    dir,
    configFile,
    control,
    async reload(y, o) {
      if (y !== undefined) write(y);
      return handoffRun(['reload', '-s', control, ...(o?.restart ? ['--restart'] : [])], { timeoutMs: 60_000 });
    },
    async status() {
      const r = await handoffRun(['status', '--json', '-s', control]);
      if (r.code !== 0) throw new Error(`handoff status failed: ${r.stderr}`);
      return JSON.parse(r.stdout) as StatusReport;
    },
    stop(signal = 'SIGTERM') {
      return proc.stop(signal, 30_000);
    },
  };
}

/** Pids of every worker the status shows alive. */
export function workerPids(s: StatusReport): number[] {
  return s.generations.flatMap((g) => g.workers.filter((w) => w.state !== 'exited').map((w) => w.pid));
}

/**
 * The config most end-to-end tests need: one HTTP frontend on 127.0.0.1:`port` routing
 * everything to backend `a` with one server, access log off. `top` adds top-level keys
 * (e.g. "drain: { timeout: 2s }").
 */
export function oneBackendConfig(o: { port: number; server: string; workers?: number; top?: string }): string {
  return `workers: ${o.workers ?? 1}
log: { access: off }
${o.top ?? ''}
frontends:
  web: { bind: 127.0.0.1:${o.port}, default_backend: a }
backends:
  a: { servers: [ { name: a, address: ${o.server} } ] }
`;
}
