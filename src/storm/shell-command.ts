// The user's --start / --reload / --stop commands, run by /bin/sh with the target's output
// in storm's log file (a daemon that keeps its stdout must not hold a pipe storm waits on).
// Each runs in its own process group, so Ctrl-C on storm's terminal reaches storm alone
// and storm stops the target in order. A simple command is exec'd by the shell, so the
// process storm started IS the proxy and no idle shell sits above it.
import { spawn, type ChildProcess } from 'node:child_process';

/** True when the command is one simple command: no shell operator outside quotes. */
export function isSimpleCommand(command: string): boolean {
  let quote: string | undefined;
  for (let i = 0; i < command.length; i++) {
    const c = command[i]!;
    if (quote) {
      if (c === quote) quote = undefined;
      else if (c === '\\' && quote === '"') i++;
      continue;
    }
    if (c === "'" || c === '"') quote = c;
    else if (c === '\\') i++;
    else if (';&|<>()`\n{}'.includes(c) || (c === '$' && command[i + 1] === '(')) return false;
  }
  return quote === undefined && !/^\s*(exec|if|for|while|until|case)\b/.test(command);
}

export interface ShellProcess {
  readonly child: ChildProcess;
  readonly pid: number;
  /** Exit code, or the signal's name. */
  readonly exited: Promise<number | string>;
}

export function spawnShell(command: string, options: { env: NodeJS.ProcessEnv; cwd: string; logFd: number }): ShellProcess {
  const script = isSimpleCommand(command) ? `exec ${command}` : command;
  const child = spawn('/bin/sh', ['-c', script], {
    cwd: options.cwd,
    env: options.env,
    stdio: ['ignore', options.logFd, options.logFd],
    detached: true,
  });
  if (child.pid === undefined) throw new Error(`could not run /bin/sh for: ${command}`);
  const exited = new Promise<number | string>((resolve) => {
    child.once('exit', (code, signal) => resolve(code ?? signal ?? -1));
    child.once('error', () => resolve(-1));
  });
  return { child, pid: child.pid, exited };
}

/** Signal a process group storm created; false when it is gone. */
export function signalGroup(pid: number, signal: NodeJS.Signals): boolean {
  try {
    process.kill(-pid, signal);
    return true;
  } catch {
    return false;
  }
}

/** Run a command to its end within timeoutMs (then its group is killed). */
export async function runShell(
  command: string,
  options: { env: NodeJS.ProcessEnv; cwd: string; logFd: number; timeoutMs: number; onSpawn?: (pid: number) => void },
): Promise<{ ok: boolean; result: number | string; durationMs: number }> {
  const started = performance.now();
  const p = spawnShell(command, options);
  options.onSpawn?.(p.pid);
  let timedOut = false;
  const timer = setTimeout(() => {
    timedOut = true;
    signalGroup(p.pid, 'SIGKILL');
  }, options.timeoutMs);
  const result = await p.exited;
  clearTimeout(timer);
  return {
    ok: !timedOut && result === 0,
    result: timedOut ? `timeout after ${options.timeoutMs} ms` : result,
    durationMs: performance.now() - started,
  };
}
