// Every process a benchmark starts (backends, handoff, haproxy, nginx, wrk) goes through
// here, so that one sweep stops them all: at the end of a run, on an error, and on Ctrl-C.
// Each service runs in its own process group (detached), so a sweep also reaches the
// workers it forked, even when its master is already gone.
import { spawn, type ChildProcess } from 'node:child_process';

export interface ServiceProcess {
  readonly name: string;
  readonly pid: number;
  readonly child: ChildProcess;
  /** Recent output (stdout and stderr), bounded: the tail is kept. */
  output(): string;
  /** Resolves with the first match of re in output seen so far or later. */
  waitFor(re: RegExp, timeoutMs: number): Promise<RegExpMatchArray>;
  readonly exited: Promise<number | string>;
  hasExited(): boolean;
  /** How many output lines so far matched the pattern registered under this name at start. */
  count(name: string): number;
  /** Signal the service, wait up to graceMs, then SIGKILL its whole process group. */
  stop(signal?: NodeJS.Signals, graceMs?: number): Promise<void>;
}

const OUTPUT_LIMIT = 256 * 1024;
const running = new Set<ServiceProcess>();

export function startService(
  name: string,
  command: string,
  args: readonly string[],
  opts: { env?: NodeJS.ProcessEnv; cwd?: string; stopSignal?: NodeJS.Signals; countLines?: Readonly<Record<string, RegExp>> } = {},
): ServiceProcess {
  const child = spawn(command, args, { stdio: ['ignore', 'pipe', 'pipe'], detached: true, env: opts.env ?? process.env, cwd: opts.cwd });
  const pid = child.pid;
  if (pid === undefined) throw new Error(`could not start ${name} (${command})`);
  let out = '';
  let done = false;
  const waiters = new Set<() => void>();
  // Counted over the whole output, which `out` does not keep.
  const counts = new Map<string, number>();
  let partialLine = '';
  const countLines = (text: string) => {
    const lines = (partialLine + text).split('\n');
    partialLine = lines.pop() ?? '';
    for (const [name, re] of Object.entries(opts.countLines ?? {})) {
      for (const line of lines) if (re.test(line)) counts.set(name, (counts.get(name) ?? 0) + 1);
    }
  };
  const onData = (chunk: Buffer) => {
    if (opts.countLines) countLines(chunk.toString('utf8'));
    out += chunk.toString('utf8');
    if (out.length > OUTPUT_LIMIT) out = out.slice(out.length - OUTPUT_LIMIT / 2);
    if (process.env.BENCH_VERBOSE) process.stderr.write(`[${name} ${pid}] ${chunk.toString('utf8')}`);
    for (const w of waiters) w();
  };
  child.stdout?.on('data', onData);
  child.stderr?.on('data', onData);
  const exited = new Promise<number | string>((resolve) => {
    child.on('exit', (code, signal) => {
      done = true;
      resolve(code ?? signal ?? -1);
      for (const w of waiters) w();
    });
  });
  const killGroup = (signal: NodeJS.Signals) => {
    try {
      process.kill(-pid, signal);
    } catch {
      // the group is gone
    }
  };
  const service: ServiceProcess = {
    name,
    pid,
    child,
    output: () => out,
    exited,
    hasExited: () => done,
    count: (name) => counts.get(name) ?? 0,
    waitFor(re, timeoutMs) {
      return new Promise((resolve, reject) => {
        const check = () => {
          const m = out.match(re);
          if (m) {
            finish();
            resolve(m);
          } else if (done) {
            finish();
            reject(new Error(`${name} exited before printing ${re}; output:\n${out.slice(-4000)}`));
          }
        };
        const timer = setTimeout(() => {
          finish();
          reject(new Error(`${name}: no ${re} within ${timeoutMs} ms; output:\n${out.slice(-4000)}`));
        }, timeoutMs);
        const finish = () => {
          clearTimeout(timer);
          waiters.delete(check);
        };
        waiters.add(check);
        check();
      });
    },
    async stop(signal = opts.stopSignal ?? 'SIGTERM', graceMs = 5_000) {
      if (!done) {
        try {
          process.kill(pid, signal);
        } catch {
          // already gone
        }
        let timer: NodeJS.Timeout | undefined;
        await Promise.race([exited, new Promise<void>((r) => (timer = setTimeout(r, graceMs)))]);
        clearTimeout(timer);
      }
      // Workers of a master that exited (or did not stop in time) go with the group.
      killGroup('SIGKILL');
      await exited;
      running.delete(service);
    },
  };
  running.add(service);
  return service;
}

/** Stop every service still running, in reverse start order. */
export async function stopAllServices(): Promise<void> {
  const all = [...running].reverse();
  await Promise.all(all.map((s) => s.stop(undefined, 3_000)));
}

/** Synchronous last resort (process exit): SIGKILL every process group we started. */
export function killAllServicesNow(): void {
  for (const s of running) {
    try {
      process.kill(-s.pid, 'SIGKILL');
    } catch {
      // gone
    }
  }
  running.clear();
}

/** Wait until `ready` resolves; a service that never comes up is killed (its whole group) and the error rethrown. */
export async function untilReady(service: ServiceProcess, ready: () => Promise<unknown>): Promise<void> {
  try {
    await ready();
  } catch (err) {
    await service.stop('SIGKILL');
    throw err;
  }
}
