// Processes from /proc/PID: which sockets they hold (/proc/PID/fd/N -> "socket:[INODE]"),
// their command line, parent and start time (/proc/PID/stat). Processes come and go while
// we read: one that vanishes half way is skipped, never an error.
import { readdirSync, readFileSync, readlinkSync } from 'node:fs';
import { join } from 'node:path';
import { systemCode } from '../lib/errors.js';
import { ProcUnreadableError } from './proc-unreadable.js';

/** USER_HZ, the unit of /proc/PID/stat times (getconf CLK_TCK); 100 on every Linux ABI. */
export const CLOCK_TICKS_PER_SECOND = 100;

export interface ProcStat {
  readonly pid: number;
  readonly comm: string;
  readonly state: string;
  readonly ppid: number;
  /** Field 22: start time in clock ticks after boot. */
  readonly startTicks: number;
}

/**
 * Parse /proc/PID/stat. The name (field 2) is in parentheses and may itself contain spaces
 * and parentheses, so the fields after it are counted from the LAST ')'.
 */
export function parseStat(text: string): ProcStat {
  const open = text.indexOf('(');
  const close = text.lastIndexOf(')');
  if (open < 0 || close < open) throw new Error(`not a /proc/PID/stat line: ${JSON.stringify(text.slice(0, 80))}`);
  const rest = text
    .slice(close + 2)
    .trim()
    .split(/\s+/); // rest[0] is field 3
  const field = (n: number): string => {
    const v = rest[n - 3];
    if (v === undefined) throw new Error(`/proc/PID/stat has no field ${n}`);
    return v;
  };
  return {
    pid: Number(text.slice(0, open).trim()),
    comm: text.slice(open + 1, close),
    state: field(3),
    ppid: Number(field(4)),
    startTicks: Number(field(22)),
  };
}

/** /proc/PID/cmdline: arguments separated (and ended) by NUL. */
export function parseCmdline(raw: Buffer | string): string[] {
  const args = raw.toString().split('\0');
  while (args.length > 0 && args[args.length - 1] === '') args.pop();
  return args;
}

/** The inode of a "socket:[INODE]" fd link, or undefined for anything else. */
export function socketInode(link: string): number | undefined {
  const m = /^socket:\[(\d+)\]$/.exec(link);
  return m ? Number(m[1]) : undefined;
}

/** /proc/stat btime: the boot time in seconds since the epoch. */
export function readBootTime(procRoot: string): number {
  const path = join(procRoot, 'stat');
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    throw new ProcUnreadableError(path, err);
  }
  const m = /^btime\s+(\d+)\s*$/m.exec(text);
  if (!m) throw new ProcUnreadableError(path, new Error('no btime line'));
  return Number(m[1]);
}

/** Every numeric entry of procRoot: the pids of all processes (thread group leaders). */
export function listPids(procRoot: string): number[] {
  let names: string[];
  try {
    names = readdirSync(procRoot);
  } catch (err) {
    throw new ProcUnreadableError(procRoot, err);
  }
  return names
    .filter((n) => /^\d+$/.test(n))
    .map(Number)
    .sort((a, b) => a - b);
}

export type SocketInodes = { readonly readable: true; readonly inodes: readonly number[] } | { readonly readable: false };

/** The socket inodes a process holds; readable false when not permitted; undefined when it is gone. */
export function readSocketInodes(procRoot: string, pid: number): SocketInodes | undefined {
  const dir = join(procRoot, String(pid), 'fd');
  let fds: string[];
  try {
    fds = readdirSync(dir);
  } catch (err) {
    const code = systemCode(err);
    if (code === 'EACCES' || code === 'EPERM') return { readable: false };
    return undefined;
  }
  const inodes = new Set<number>();
  for (const fd of fds) {
    let link: string;
    try {
      link = readlinkSync(join(dir, fd));
    } catch {
      continue; // closed since readdir
    }
    const inode = socketInode(link);
    if (inode !== undefined) inodes.add(inode);
  }
  return { readable: true, inodes: [...inodes].sort((a, b) => a - b) };
}

/** The command line of a process, or undefined when it is gone. */
export function readCmdline(procRoot: string, pid: number): string[] | undefined {
  try {
    return parseCmdline(readFileSync(join(procRoot, String(pid), 'cmdline')));
  } catch {
    return undefined;
  }
}

/** /proc/PID/stat of a process, or undefined when it is gone (or unparsable). */
export function readStat(procRoot: string, pid: number): ProcStat | undefined {
  try {
    return parseStat(readFileSync(join(procRoot, String(pid), 'stat'), 'utf8'));
  } catch {
    return undefined;
  }
}
