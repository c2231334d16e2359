// A fake /proc tree for `handoff doctor --proc DIR`: net/tcp{,6}, stat (btime) and, per
// process, stat, cmdline and fd/N -> "socket:[INODE]" symlinks, as the kernel shows them.
import { mkdirSync, mkdtempSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export const TCP_HEADER = '  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode';
export const TCP6_HEADER =
  '  sl  local_address                         remote_address                        st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode';

/** One /proc/net/tcp{,6} line; local and remote in the kernel's hex form. */
export function tcpLine(sl: number, local: string, remote: string, state: string, rxQueue: number, inode: number, uid = 0): string {
  const queues = `00000000:${rxQueue.toString(16).toUpperCase().padStart(8, '0')}`;
  return `${String(sl).padStart(4)}: ${local} ${remote} ${state} ${queues} 00:00000000 00000000 ${String(uid).padStart(5)}        0 ${inode} 1 0000000000000000 100 0 0 10 0`;
}

export interface FakeProcess {
  pid: number;
  ppid: number;
  comm: string;
  cmdline: string[];
  /** clock ticks after boot */
  startTicks: number;
  /** socket inodes held as fds */
  sockets?: number[];
}

export const BOOT_TIME = 1_700_000_000;

/** "12345 (comm) S PPID ..." with starttime as field 22. */
export function statLine(p: Pick<FakeProcess, 'pid' | 'ppid' | 'comm' | 'startTicks'>): string {
  // fields 3..52 after the name; field 22 (index 19 after the name) is starttime
  const rest = ['S', String(p.ppid), ...Array.from({ length: 49 }, () => '0')];
  rest[22 - 3] = String(p.startTicks);
  return `${p.pid} (${p.comm}) ${rest.join(' ')}\n`;
}

export function writeProcTree(opts: { tcp?: string[]; tcp6?: string[] | null; processes?: FakeProcess[]; btime?: number | null }): string {
  const root = mkdtempSync(join(tmpdir(), 'handoff-doctor-proc-'));
  mkdirSync(join(root, 'net'));
  writeFileSync(join(root, 'net', 'tcp'), `${[TCP_HEADER, ...(opts.tcp ?? [])].join('\n')}\n`);
  if (opts.tcp6 !== null) writeFileSync(join(root, 'net', 'tcp6'), `${[TCP6_HEADER, ...(opts.tcp6 ?? [])].join('\n')}\n`);
  if (opts.btime !== null)
    writeFileSync(join(root, 'stat'), `cpu  1 2 3 4\nintr 0\nctxt 0\nbtime ${opts.btime ?? BOOT_TIME}\nprocesses 1\n`);
  for (const p of opts.processes ?? []) {
    const dir = join(root, String(p.pid));
    mkdirSync(join(dir, 'fd'), { recursive: true });
    writeFileSync(join(dir, 'stat'), statLine(p));
    writeFileSync(join(dir, 'cmdline'), p.cmdline.map((a) => `${a}\0`).join(''));
    symlinkSync('/dev/null', join(dir, 'fd', '0'));
    for (const [i, inode] of (p.sockets ?? []).entries()) symlinkSync(`socket:[${inode}]`, join(dir, 'fd', String(3 + i)));
  }
  return root;
}
