// /proc/net/tcp and /proc/net/tcp6: every TCP socket of this network namespace, one line each:
//   sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode
//    0: 0100007F:1F90 00000000:0000 0A 00000000:00000003 00:00000000 00000000  1000        0 41234 ...
// For a LISTEN socket (st 0A) rx_queue is the accept queue: connections the kernel has
// completed that no process has accept()ed yet. The backlog limit is not in this file.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { decodeEndpoint } from './ip-address.js';
import { ProcUnreadableError } from './proc-unreadable.js';
import { systemCode } from '../lib/errors.js';
import type { IpFamily } from './types.js';

export const TCP_LISTEN = 0x0a;

export interface NetEntry {
  readonly family: IpFamily;
  readonly address: string;
  readonly port: number;
  /** Kernel TCP state number (0x0A = LISTEN, 0x01 = ESTABLISHED, ...). */
  readonly state: number;
  readonly txQueue: number;
  readonly rxQueue: number;
  readonly uid: number;
  readonly inode: number;
}

/** Parse one data line; undefined for the header or a line that does not fit the format. */
export function parseNetLine(line: string): NetEntry | undefined {
  const f = line.trim().split(/\s+/);
  if (f.length < 10 || !/^\d+:$/.test(f[0]!)) return undefined;
  const queues = /^([0-9A-Fa-f]+):([0-9A-Fa-f]+)$/.exec(f[4]!);
  if (!queues || !/^[0-9A-Fa-f]{2}$/.test(f[3]!) || !/^\d+$/.test(f[7]!) || !/^\d+$/.test(f[9]!)) return undefined;
  let local;
  try {
    local = decodeEndpoint(f[1]!);
  } catch {
    return undefined;
  }
  return {
    ...local,
    state: Number.parseInt(f[3]!, 16),
    txQueue: Number.parseInt(queues[1]!, 16),
    rxQueue: Number.parseInt(queues[2]!, 16),
    uid: Number(f[7]),
    inode: Number(f[9]),
  };
}

/** Every socket line of a /proc/net/tcp{,6} text. */
export function parseProcNetTcp(text: string): NetEntry[] {
  const out: NetEntry[] = [];
  for (const line of text.split('\n')) {
    const entry = parseNetLine(line);
    if (entry) out.push(entry);
  }
  return out;
}

export interface ListenTable {
  readonly listening: readonly NetEntry[];
  /** False when net/tcp6 does not exist (IPv6 disabled); tcp is required. */
  readonly ipv6: boolean;
}

/** The LISTEN sockets of procRoot/net/tcp and net/tcp6. Throws ProcUnreadableError if tcp cannot be read. */
export function readListenTable(procRoot: string): ListenTable {
  const tcp = join(procRoot, 'net', 'tcp');
  let v4: string;
  try {
    v4 = readFileSync(tcp, 'utf8');
  } catch (err) {
    throw new ProcUnreadableError(tcp, err);
  }
  const tcp6 = join(procRoot, 'net', 'tcp6');
  let v6: string | undefined;
  try {
    v6 = readFileSync(tcp6, 'utf8');
  } catch (err) {
    if (systemCode(err) !== 'ENOENT') throw new ProcUnreadableError(tcp6, err);
  }
  const all = [...parseProcNetTcp(v4), ...(v6 === undefined ? [] : parseProcNetTcp(v6))];
  return { listening: all.filter((e) => e.state === TCP_LISTEN && e.inode !== 0), ipv6: v6 !== undefined };
}
