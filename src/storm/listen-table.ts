// The LISTEN sockets of /proc/net/tcp and tcp6, read cheaply enough to sample ten times a
// second while the clients measure latency on the same event loop. The kernel generates
// these files 4 KiB per read() and walks its whole socket table for it: with thousands of
// sockets (TIME_WAIT after a storm of fresh connections) that is 10+ ms of system calls,
// and Node's readFileSync took 350 ms. So the reads run on libuv's thread pool (async), and
// only the lines whose state field is 0A (LISTEN) are decoded, by doctor's parser.
import { open } from 'node:fs/promises';
import { join } from 'node:path';
import { parseNetLine, TCP_LISTEN, type NetEntry } from '../doctor/proc-net.js';
import { systemCode } from '../lib/errors.js';

/** A bound on one file: 64 MiB is about 400,000 sockets. */
const MAX_BYTES = 64 * 1024 * 1024;
const STATE_LISTEN = Buffer.from(' 0A ');
const NEWLINE = 0x0a;

async function readProcFile(path: string): Promise<Buffer | undefined> {
  let file;
  try {
    file = await open(path, 'r');
  } catch (err) {
    if (systemCode(err) === 'ENOENT') return undefined; // no tcp6: IPv6 disabled
    throw err;
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
  } finally {
    await file.close();
  }
}

/** The LISTEN entries of one /proc/net/tcp{,6} text. */
export function listeningIn(text: Buffer): NetEntry[] {
  const out: NetEntry[] = [];
  // " 0A " stands alone only as the state field (addresses and queues are longer hex runs)
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

/** Every LISTEN socket (IPv4 and IPv6). Rejects when /proc/net/tcp cannot be read. */
export async function readListening(procRoot = '/proc'): Promise<NetEntry[]> {
  const [v4, v6] = await Promise.all([readProcFile(join(procRoot, 'net', 'tcp')), readProcFile(join(procRoot, 'net', 'tcp6'))]);
  if (v4 === undefined) throw new Error(`${join(procRoot, 'net', 'tcp')} does not exist`);
  return [...listeningIn(v4), ...(v6 ? listeningIn(v6) : [])];
}
