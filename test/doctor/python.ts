// Real listeners for the doctor tests. Node cannot set SO_REUSEPORT, python3 can; and a
// symlink to python3 named `haproxy` (or `node`) gives a process the command line of the
// program doctor must recognise, while running our own small script.
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { spawnTracked, type Tracked } from '../helpers/processes.js';
import { readStat } from '../../src/doctor/proc-processes.js';
import { waitUntil } from '../helpers/wait.js';

function findPython(): string | undefined {
  try {
    // the real interpreter, not a version-manager shim script, so a symlink to it works
    return execFileSync('python3', ['-c', 'import sys; print(sys.executable)'], { encoding: 'utf8', timeout: 20_000 }).trim() || undefined;
  } catch {
    return undefined;
  }
}

export const python = findPython();
export const skipWithoutPython = python === undefined ? 'python3 is not installed' : false;

/** bind host:port (0 = any), listen(backlog), optionally with SO_REUSEPORT; never accepts. */
export const LISTEN_PY = `
import socket, sys, signal
host, port, backlog, reuse = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), sys.argv[4] == '1'
s = socket.socket(socket.AF_INET6 if ':' in host else socket.AF_INET, socket.SOCK_STREAM)
if reuse:
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
s.bind((host, port))
s.listen(backlog)
print('listening', s.getsockname()[1], flush=True)
while True:
    signal.pause()
`;

/** bind + listen once, fork children that keep the socket; SIGTERM stops the children too. */
export const SHARED_PY = `
import ctypes, os, signal, socket, sys
s = socket.socket()
s.bind(('127.0.0.1', 0))
s.listen(16)
kids = []
for _ in range(int(sys.argv[1])):
    pid = os.fork()
    if pid == 0:
        try:
            ctypes.CDLL(None).prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG: die with the parent
        except Exception:
            pass
        while True:
            signal.pause()
    kids.append(pid)
def stop(*_):
    for k in kids:
        try:
            os.kill(k, signal.SIGKILL)
            os.waitpid(k, 0)
        except OSError:
            pass
    os._exit(0)
signal.signal(signal.SIGTERM, stop)
print('ready', s.getsockname()[1], *kids, flush=True)
while True:
    signal.pause()
`;

/** A stand-in handoff master: FAKE_WORKERS="2:closed,3:listen" starts workers with the real worker command line. */
export const FAKE_MASTER_PY = `
import os, signal, socket, subprocess, sys
node = os.environ['FAKE_NODE']
worker_main = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), 'worker', 'main.js')
s = socket.socket()
s.bind(('127.0.0.1', 0))
s.listen(16)
kids = []
for item in os.environ['FAKE_WORKERS'].split(','):
    gen, mode = item.split(':')
    fds = (s.fileno(),) if mode == 'listen' else ()
    kid = subprocess.Popen([node, worker_main, '--generation', gen, '--master', str(os.getpid())], pass_fds=fds,
                           stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL)
    kids.append((kid, gen))
def stop(*_):
    for kid, _gen in kids:
        kid.kill()
        kid.wait()
    os._exit(0)
signal.signal(signal.SIGTERM, stop)
print('ready', s.getsockname()[1], ' '.join('%d:%s' % (k.pid, g) for k, g in kids), flush=True)
while True:
    signal.pause()
`;

export const FAKE_WORKER_PY = `
import ctypes, os, signal, sys
try:
    ctypes.CDLL(None).prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG: die with the master
except Exception:
    pass
if os.getppid() != int(sys.argv[sys.argv.index('--master') + 1]):
    sys.exit(0)
while True:
    signal.pause()
`;

export class Scratch {
  readonly dir = mkdtempSync(join(tmpdir(), 'handoff-doctor-'));

  /** Write a file (parents created) and return its path. */
  file(rel: string, text: string): string {
    const path = join(this.dir, rel);
    mkdirSync(dirname(path), { recursive: true });
    writeFileSync(path, text);
    return path;
  }

  /** A symlink to python3 named rel: the process's argv[0] and comm become that name. */
  alias(rel: string): string {
    const path = join(this.dir, rel);
    mkdirSync(dirname(path), { recursive: true });
    symlinkSync(python!, path);
    return path;
  }

  remove(): void {
    rmSync(this.dir, { recursive: true, force: true });
  }
}

/** Start a listener and resolve with its port once it listens. */
export async function startListener(
  program: string,
  script: string,
  opts: { host?: string; port?: number; backlog?: number; reuseport?: boolean } = {},
): Promise<{ proc: Tracked; port: number }> {
  const proc = spawnTracked(program, [
    script,
    opts.host ?? '127.0.0.1',
    String(opts.port ?? 0),
    String(opts.backlog ?? 16),
    opts.reuseport ? '1' : '0',
  ]);
  const m = await proc.waitFor(/listening (\d+)/);
  return { proc, port: Number(m[1]) };
}

/** Clock ticks since boot now (/proc/uptime), to order process start times. */
export function uptimeTicks(): number {
  return Math.floor(Number(readFileSync('/proc/uptime', 'utf8').split(' ')[0]) * 100);
}

/** Resolve once the clock has moved past a process's start by a few ticks, so a process started now is strictly newer. */
export async function afterStartOf(pid: number): Promise<void> {
  const start = readStat('/proc', pid)?.startTicks;
  if (start === undefined) throw new Error(`no /proc/${pid}/stat`);
  await waitUntil(`the clock to pass pid ${pid}'s start`, () => uptimeTicks() > start + 2, 5_000, 10);
}

/** SIGKILL pids this test started indirectly (forked children), ignoring ones already gone. */
export function killAll(pids: readonly number[]): void {
  for (const pid of pids) {
    try {
      process.kill(pid, 'SIGKILL');
    } catch {
      // already gone
    }
  }
}
