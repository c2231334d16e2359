// /proc/net/tcp and /proc/net/tcp6: every TCP socket of this network namespace, one line each:
//   sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode
//    0: 0100007F:1F90 00000000:0000 0A 00000000:00000003 00:00000000 00000000  1000        0 41234 ...
// For a LISTEN socket (st 0A) rx_queue is the accept queue: connections the kernel has
// completed that no process has accept()ed yet. The backlog limit is not in this file.
import { open } from 'node:fs/promises';
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
  let local: ReturnType<typeof decodeEndpoint>;
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

/** A bound on one file: 64 MiB is about 400,000 sockets. */
const MAX_BYTES = 64 * 1024 * 1024;
const STATE_LISTEN = Buffer.from(' 0A ');
const NEWLINE = 0x0a;

// The kernel generates these files 4 KiB per read() and walks its whole socket table for
// it: with thousands of sockets (TIME_WAIT after a storm of fresh connections) that is 10+
// ms of system calls, and readFileSync took 350 ms. So the reads run on libuv's thread pool
// in large pieces, and only the LISTEN lines are decoded. undefined: the file does not exist.
async function readProcFile(path: string): Promise<Buffer | undefined> {
  let file: Awaited<ReturnType<typeof open>>;
  try {
    file = await open(path, 'r');
  } catch (err) {
    if (systemCode(err) === 'ENOENT') return undefined;
    throw new ProcUnreadableError(path, err);
  }
  try {
    let buf = Buffer.allocUnsafe(256 * 1024);
    let used = 0;
    for (;;) {
      if (used === buf.length) {
        if (buf.length >= MAX_BYTES) break;
        const bigger = Buffer.allocUnsafe(buf.length * 2);
        buf.copy(bigger, 0, 0, used);
        buf = bigger;
      }
      const { bytesRead } = await file.read(buf, used, buf.length - used, null);
      if (bytesRead === 0) break;
      used += bytesRead;
    }
    return buf.subarray(0, used);
  } catch (err) {
    throw new ProcUnreadableError(path, err);
  } finally {
    await file.close();
  }
}

/** The LISTEN entries of one /proc/net/tcp{,6} text. */
export function listeningIn(text: Buffer): NetEntry[] {
  const out: NetEntry[] = [];
  // " 0A " stands alone only as the state field (addresses and queues are longer hex runs).
  for (let at = text.indexOf(STATE_LISTEN); at >= 0; ) {
    const start = text.lastIndexOf(NEWLINE, at) + 1;
    const end = text.indexOf(NEWLINE, at);
    const e = parseNetLine(text.toString('latin1', start, end < 0 ? text.length : end));
    if (e && e.state === TCP_LISTEN && e.inode !== 0) out.push(e);
    if (end < 0) break;
    at = text.indexOf(STATE_LISTEN, end);
  }
  return out;
}

/** The LISTEN sockets of procRoot/net/tcp and net/tcp6. Rejects with ProcUnreadableError if tcp cannot be read. */
export async function readListenTable(procRoot: string): Promise<ListenTable> {
  const tcp = join(procRoot, 'net', 'tcp');
  const [v4, v6] = await Promise.all([readProcFile(tcp), readProcFile(join(procRoot, 'net', 'tcp6'))]);
  if (v4 === undefined)
    throw new ProcUnreadableError(tcp, Object.assign(new Error(`ENOENT: no such file, open '${tcp}'`), { code: 'ENOENT' }));
  return { listening: [...listeningIn(v4), ...(v6 ? listeningIn(v6) : [])], ipv6: v6 !== undefined };
}
