// CPU time, memory and process trees from /proc (Linux). A proxy's cost is the sum over
// its master and every worker, so everything here works on a process tree.
import { execFileSync } from 'node:child_process';
import { readFileSync, readdirSync } from 'node:fs';

let clockTicks: number | undefined;

/** Kernel clock ticks per second (utime/stime unit), usually 100. */
export function ticksPerSecond(): number {
  if (clockTicks === undefined) {
    try {
      clockTicks = Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim()) || 100;
    } catch {
      clockTicks = 100;
    }
  }
  return clockTicks;
}

interface StatFields {
  readonly ppid: number;
  readonly state: string;
  /** utime + stime in clock ticks. */
  readonly cpuTicks: number;
}

function readStat(pid: number): StatFields | undefined {
  let text: string;
  try {
    text = readFileSync(`/proc/${pid}/stat`, 'latin1');
  } catch {
    return undefined;
  }
  // The command name (field 2) may contain spaces and parentheses: split after the last ')'.
  const rest = text.slice(text.lastIndexOf(')') + 2).split(' ');
  return { state: rest[0] ?? '?', ppid: Number(rest[1]), cpuTicks: Number(rest[11]) + Number(rest[12]) };
}

/** True while the process exists and is not a zombie waiting to be reaped. */
export function isAlive(pid: number): boolean {
  const s = readStat(pid);
  return s !== undefined && s.state !== 'Z' && s.state !== 'X';
}

/** pid and every live descendant (by parent pid), root first. */
export function processTree(root: number): number[] {
  const parentOf = new Map<number, number>();
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    const s = readStat(Number(name));
    if (s && s.state !== 'Z') parentOf.set(Number(name), s.ppid);
  }
  if (!parentOf.has(root)) return [];
  const tree = [root];
  for (let i = 0; i < tree.length; i++) {
    for (const [pid, ppid] of parentOf) if (ppid === tree[i]) tree.push(pid);
  }
  return tree;
}

/** CPU ticks per pid, for a delta later with cpuSecondsSince. */
export type CpuSnapshot = ReadonlyMap<number, number>;

export function cpuSnapshot(pids: readonly number[]): CpuSnapshot {
  const snap = new Map<number, number>();
  for (const pid of pids) {
    const s = readStat(pid);
    if (s) snap.set(pid, s.cpuTicks);
  }
  return snap;
}

/** CPU seconds the given processes used since `before` (a process new since then counts from 0). */
export function cpuSecondsSince(before: CpuSnapshot, pids: readonly number[]): number {
  let ticks = 0;
  for (const [pid, now] of cpuSnapshot(pids)) ticks += now - (before.get(pid) ?? 0);
  return ticks / ticksPerSecond();
}

/** Resident set size in bytes (VmRSS), 0 when the process is gone. */
export function rssBytes(pid: number): number {
  try {
    const m = /^VmRSS:\s+(\d+)\s+kB/m.exec(readFileSync(`/proc/${pid}/status`, 'latin1'));
    return m ? Number(m[1]) * 1024 : 0;
  } catch {
    return 0;
  }
}
