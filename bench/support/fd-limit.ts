// The open file limit: 10,000 client connections need 10,000 descriptors in the benchmark
// process (and as many in the handoff workers, which inherit its limits). Node cannot call
// setrlimit, so the soft limit is raised (up to the hard limit, which needs no privilege)
// with util-linux prlimit on this process, before any service is started.
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';

function limits(): { soft: number; hard: number } {
  const read = (v: string | undefined) => (v === 'unlimited' ? Infinity : Number(v ?? 1024));
  try {
    const m = /^Max open files\s+(\d+|unlimited)\s+(\d+|unlimited)/m.exec(readFileSync('/proc/self/limits', 'latin1'));
    return { soft: read(m?.[1]), hard: read(m?.[2]) };
  } catch {
    return { soft: 1024, hard: 1024 };
  }
}

/** Open file descriptor limit of this process (soft). */
export function openFileLimit(): number {
  return limits().soft;
}

/** Raise the soft limit to at least `wanted` if the hard limit allows it; returns the soft limit now. */
export function raiseOpenFileLimit(wanted: number): number {
  const { soft, hard } = limits();
  if (soft >= wanted) return soft;
  const target = Math.min(hard, Math.max(wanted, 65_536));
  if (!Number.isFinite(target) || target <= soft) return soft;
  spawnSync('prlimit', ['--pid', String(process.pid), `--nofile=${target}:`], { stdio: 'ignore', timeout: 5_000 });
  return limits().soft;
}
