// Real processes for tests, each tracked so that a test file never leaves one running:
// stopAll() in an after() hook, and a synchronous SIGKILL sweep when the test process exits.
import { spawn, type ChildProcess, type SpawnOptions } from 'node:child_process';
import { entry } from './paths.js';

export interface Tracked {
  readonly child: ChildProcess;
  readonly pid: number;
  /** Everything written to stdout and stderr so far. */
  output(): string;
  /** Resolves with the first match of re in the output (already seen or future). */
  waitFor(re: RegExp, timeoutMs?: number): Promise<RegExpMatchArray>;
  /** Resolves with the exit code (or signal name) once the process has exited. */
  exited: Promise<number | string>;
  stop(signal?: NodeJS.Signals, timeoutMs?: number): Promise<number | string>;
}

const tracked = new Set<Tracked>();

function sweep(): void {
  for (const t of tracked) {
    try {
      process.kill(t.pid, 'SIGKILL');
    } catch {
      // already gone
    }
  }
}
process.on('exit', sweep);
// The test runner stops a file that overran its timeout with a signal, and a signal's
// default action skips 'exit' handlers: sweep then too, so nothing is left running.
for (const [signal, code] of [
  ['SIGTERM', 143],
  ['SIGINT', 130],
  ['SIGHUP', 129],
] as const) {
  process.once(signal, () => {
    sweep();
    process.exit(code);
  });
}

export function spawnTracked(command: string, args: string[], options: SpawnOptions = {}): Tracked {
  const child = spawn(command, args, { stdio: ['ignore', 'pipe', 'pipe'], ...options });
  if (child.pid === undefined) throw new Error(`could not start ${command}`);
  let out = '';
  const waiters = new Set<() => void>();
  const onData = (chunk: Buffer) => {
    out += chunk.toString('utf8');
    if (process.env.TEST_VERBOSE) process.stderr.write(`[${child.pid}] ${chunk.toString('utf8')}`);
    for (const w of waiters) w();
  };
  child.stdout?.on('data', onData);
  child.stderr?.on('data', onData);
  const exited = new Promise<number | string>((resolve) => {
    child.on('exit', (code, signal) => {
      resolve(code ?? signal ?? -1);
    });
  });
  const t: Tracked = {
    child,
    pid: child.pid,
    output: () => out,
    exited,
    waitFor(re, timeoutMs = 15_000) {
      return new Promise((resolve, reject) => {
        const check = () => {
          const m = out.match(re);
          if (m) {
            cleanup();
            resolve(m);
          }
        };
        const timer = setTimeout(() => {
          cleanup();
          reject(new Error(`timed out after ${timeoutMs} ms waiting for ${re} from pid ${child.pid}; output so far:\n${out}`));
        }, timeoutMs);
        const onExit = () => {
          setImmediate(() => {
            if (!waiters.has(check)) return;
            cleanup();
            reject(new Error(`pid ${child.pid} exited before printing ${re}; output:\n${out}`));
          });
        };
        const cleanup = () => {
          clearTimeout(timer);
          waiters.delete(check);
          child.off('exit', onExit);
        };
        waiters.add(check);
        child.on('exit', onExit);
        check();
      });
    },
    async stop(signal = 'SIGTERM', timeoutMs = 10_000) {
      if (child.exitCode === null && child.signalCode === null) {
        child.kill(signal);
        const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
        try {
          return await exited;
        } finally {
          clearTimeout(timer);
        }
      }
      return exited;
    },
  };
  tracked.add(t);
  void exited.then(() => tracked.delete(t));
  return t;
}

/** Run the handoff CLI of this build as a tracked process. */
export function handoff(args: string[], options: SpawnOptions = {}): Tracked {
  return spawnTracked(process.execPath, [entry, ...args], options);
}

/** Run the handoff CLI to completion; resolves with its exit code and output. */
export async function handoffRun(
  args: string[],
  options: SpawnOptions & { timeoutMs?: number } = {},
): Promise<{ code: number | string; stdout: string; stderr: string }> {
  const child = spawn(process.execPath, [entry, ...args], { stdio: ['ignore', 'pipe', 'pipe'], ...options });
  let stdout = '';
  let stderr = '';
  child.stdout?.on('data', (c: Buffer) => (stdout += c.toString('utf8')));
  child.stderr?.on('data', (c: Buffer) => (stderr += c.toString('utf8')));
  const timer = setTimeout(() => child.kill('SIGKILL'), options.timeoutMs ?? 30_000);
  const code = await new Promise<number | string>((resolve) => child.on('close', (c, s) => resolve(c ?? s ?? -1)));
  clearTimeout(timer);
  return { code, stdout, stderr };
}

/** Stop every process this test file started (SIGTERM, then SIGKILL after a grace). */
export async function stopAll(timeoutMs = 10_000): Promise<void> {
  await Promise.all([...tracked].map((t) => t.stop('SIGTERM', timeoutMs)));
}

/** True while a process with this pid exists. */
export function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}
