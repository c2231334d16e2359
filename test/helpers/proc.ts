// Read the kernel's view for invariant checks: LISTEN sockets per port, and the worker
// processes of a master (by their command line, as `handoff doctor` does).
import { readdirSync, readFileSync } from 'node:fs';

/** Inodes of LISTEN sockets (state 0A) on `port`, IPv4 and IPv6. */
export function listenInodes(port: number): number[] {
  const hex = `:${port.toString(16).toUpperCase().padStart(4, '0')}`;
  const out: number[] = [];
  for (const file of ['/proc/net/tcp', '/proc/net/tcp6']) {
    let text = '';
    try {
      text = readFileSync(file, 'utf8');
    } catch {
      continue;
    }
    for (const line of text.split('\n').slice(1)) {
      const f = line.trim().split(/\s+/);
      if (f.length > 9 && f[1]!.endsWith(hex) && f[3] === '0A') out.push(Number(f[9]));
    }
  }
  return out;
}

export interface WorkerProc {
  pid: number;
  generation: number;
}

/** Live worker processes of the master `masterPid` (`.../worker/main.js --generation N --master PID`). */
export function workersOf(masterPid: number): WorkerProc[] {
  const out: WorkerProc[] = [];
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    let argv: string[];
    try {
      argv = readFileSync(`/proc/${name}/cmdline`, 'utf8').split('\0');
      // A zombie has an empty cmdline: it is not running.
    } catch {
      continue;
    }
    const m = argv.indexOf('--master');
    const g = argv.indexOf('--generation');
    if (m < 0 || g < 0 || Number(argv[m + 1]) !== masterPid) continue;
    out.push({ pid: Number(name), generation: Number(argv[g + 1]) });
  }
  return out;
}
