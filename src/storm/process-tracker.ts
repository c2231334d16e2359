// The target's processes, found from /proc however the target starts them: the process
// storm started; its descendants; any process whose environment carries this run's marker
// (daemons that re-parented to init); and any process holding a LISTEN socket on a frontend
// address (a daemon that cleared its environment). Only processes started after storm
// started are ever considered, so storm never touches anything that ran before it. A
// process is identified by pid AND start time: a reused pid is a different process.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { listPids, readCmdline, readSocketInodes, readStat, type ProcStat } from '../doctor/proc-processes.js';
import type { TrackedProcessOut } from './types.js';

/** /proc/PID/stat start times are in these ticks (USER_HZ). */
const MS_PER_TICK = 10;
/** Tries to find the holder of a new LISTEN socket before giving up on it. */
const HOLDER_TRIES = 10;

export interface TrackedProcess {
  readonly pid: number;
  readonly startTicks: number;
  ppid: number;
  readonly command: string;
  readonly via: TrackedProcessOut['via'];
  /** ms since the storm started; null while alive. */
  exitedAt: number | null;
}

/** Clock ticks since boot now, from /proc/uptime: the clock of /proc/PID/stat start times. */
export function uptimeTicks(procRoot = '/proc'): number {
  return Math.floor(Number(readFileSync(join(procRoot, 'uptime'), 'utf8').split(' ')[0]) * 100);
}

export class ProcessTracker {
  private readonly all = new Map<string, TrackedProcess>();
  private readonly alive = new Map<number, TrackedProcess>();
  private readonly roots = new Set<number>();
  private readonly commands = new Set<number>();
  private readonly checkedMarker = new Set<string>();
  private readonly inodeTries = new Map<number, number>();
  private readonly sinceTicks: number;

  constructor(
    private readonly marker: string,
    private readonly now: () => number,
    private readonly procRoot = '/proc',
  ) {
    this.sinceTicks = uptimeTicks(procRoot);
  }

  /** ms since the storm started for a start time in ticks (the storm started at sinceTicks, about). */
  startedAt(p: { startTicks: number }): number {
    return (p.startTicks - this.sinceTicks) * MS_PER_TICK;
  }

  /** A process storm started that is the target (or part of it). */
  adopt(pid: number): void {
    this.roots.add(pid);
  }

  /** A command storm runs (reload, stop): its children belong to the target, the command itself does not. */
  command(pid: number): void {
    this.commands.add(pid);
  }

  commandDone(pid: number): void {
    this.commands.delete(pid);
  }

  /** Read /proc once: notice exits, new children, marked processes, holders of new listening sockets. */
  update(listenInodes: ReadonlySet<number>): void {
    const stats = new Map<number, ProcStat>();
    for (const pid of listPids(this.procRoot)) {
      const s = readStat(this.procRoot, pid);
      if (s && s.state !== 'Z' && s.state !== 'X') stats.set(pid, s);
    }
    const now = this.now();
    for (const p of [...this.alive.values()]) {
      const s = stats.get(p.pid);
      if (!s || s.startTicks !== p.startTicks) {
        p.exitedAt = now;
        this.alive.delete(p.pid);
      } else p.ppid = s.ppid;
    }
    const untracked = () =>
      [...stats.values()].filter((s) => s.startTicks >= this.sinceTicks && !this.alive.has(s.pid) && !this.commands.has(s.pid));
    for (const s of untracked()) if (this.roots.has(s.pid)) this.add(s, 'started');
    this.addDescendants(stats);
    for (const s of untracked()) if (this.hasMarker(s)) this.add(s, 'marker');
    this.addListenerHolders(listenInodes, stats);
    this.addDescendants(stats);
  }

  private hasMarker(s: ProcStat): boolean {
    const key = `${s.pid}:${s.startTicks}`;
    if (this.checkedMarker.has(key)) return false;
    this.checkedMarker.add(key);
    try {
      return readFileSync(join(this.procRoot, String(s.pid), 'environ')).includes(this.marker);
    } catch {
      return false; // gone, or not ours to read
    }
  }

  private addDescendants(stats: ReadonlyMap<number, ProcStat>): void {
    const children = new Map<number, ProcStat[]>();
    for (const s of stats.values()) {
      if (s.startTicks < this.sinceTicks) continue;
      const list = children.get(s.ppid);
      if (list) list.push(s);
      else children.set(s.ppid, [s]);
    }
    const queue = [...this.alive.keys(), ...this.commands];
    for (let i = 0; i < queue.length && i < 100_000; i++) {
      for (const c of children.get(queue[i]!) ?? []) {
        if (this.alive.has(c.pid) || this.commands.has(c.pid)) continue;
        this.add(c, 'child');
        queue.push(c.pid);
      }
    }
  }

  private addListenerHolders(inodes: ReadonlySet<number>, stats: ReadonlyMap<number, ProcStat>): void {
    const unknown = [...inodes].filter((i) => (this.inodeTries.get(i) ?? 0) < HOLDER_TRIES);
    if (unknown.length === 0) return;
    const found = new Set<number>();
    for (const s of stats.values()) {
      if (s.startTicks < this.sinceTicks) continue;
      const fds = readSocketInodes(this.procRoot, s.pid);
      if (!fds?.readable) continue;
      const held = fds.inodes.filter((i) => inodes.has(i));
      if (held.length === 0) continue;
      for (const i of held) found.add(i);
      if (!this.alive.has(s.pid) && !this.commands.has(s.pid)) this.add(s, 'listener');
    }
    for (const i of unknown) this.inodeTries.set(i, found.has(i) ? HOLDER_TRIES : (this.inodeTries.get(i) ?? 0) + 1);
  }

  private add(s: ProcStat, via: TrackedProcess['via']): void {
    const key = `${s.pid}:${s.startTicks}`;
    if (this.all.has(key)) return;
    const cmdline = readCmdline(this.procRoot, s.pid);
    const p: TrackedProcess = {
      pid: s.pid,
      startTicks: s.startTicks,
      ppid: s.ppid,
      command: (cmdline && cmdline.length > 0 ? cmdline.join(' ') : `[${s.comm}]`).slice(0, 200),
      via,
      exitedAt: null,
    };
    this.all.set(key, p);
    this.alive.set(s.pid, p);
  }

  aliveProcesses(): TrackedProcess[] {
    return [...this.alive.values()];
  }

  seen(): TrackedProcess[] {
    return [...this.all.values()].sort((a, b) => a.startTicks - b.startTicks || a.pid - b.pid);
  }

  /**
   * Processes alive now that belong to an older generation than the reload at `reloadTicks`:
   * started before it, and not the parent (or grandparent ...) of a process started after it
   * (a master that stays across reloads). A target that started nothing new reloads in
   * place: nothing is left over.
   */
  leftovers(reloadTicks: number): TrackedProcess[] {
    const alive = this.aliveProcesses();
    const fresh = alive.filter((p) => p.startTicks >= reloadTicks);
    if (fresh.length === 0) return [];
    const keep = new Set<number>();
    for (const p of fresh) {
      let ppid = p.ppid;
      for (let depth = 0; depth < 64 && this.alive.has(ppid) && !keep.has(ppid); depth++) {
        keep.add(ppid);
        ppid = this.alive.get(ppid)!.ppid;
      }
    }
    return alive.filter((p) => p.startTicks < reloadTicks && !keep.has(p.pid));
  }

  /** Signal every tracked process still alive (checked against its start time first: never a reused pid). */
  signalAll(signal: NodeJS.Signals): number[] {
    const hit: number[] = [];
    for (const p of this.aliveProcesses()) {
      const s = readStat(this.procRoot, p.pid);
      if (!s || s.startTicks !== p.startTicks) continue;
      try {
        process.kill(p.pid, signal);
        hit.push(p.pid);
      } catch {
        // gone meanwhile
      }
    }
    return hit;
  }

  toOut(p: TrackedProcess): TrackedProcessOut {
    return {
      pid: p.pid,
      command: p.command,
      via: p.via,
      startedAt: this.startedAt(p),
      exitedAt: p.exitedAt === null ? null : Math.round(p.exitedAt),
    };
  }
}
