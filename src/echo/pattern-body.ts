// The deterministic body behind ?bytes=N: "0123456789abcdef" repeated, so a client can
// check any byte (byte i is PATTERN[i % 16]) without the server storing anything.
import type { Writable } from 'node:stream';

export const PATTERN = '0123456789abcdef';

// 64 KiB, a whole number of patterns, so consecutive chunks continue the sequence.
const CHUNK = Buffer.from(PATTERN.repeat(65_536 / PATTERN.length), 'latin1');

/** The first n bytes of the pattern (for small bodies and for tests that compare). */
export function patternBytes(n: number): Buffer {
  if (n <= CHUNK.length) return CHUNK.subarray(0, n);
  return Buffer.from(PATTERN.repeat(Math.ceil(n / PATTERN.length)).slice(0, n), 'latin1');
}

function drained(out: Writable): Promise<boolean> {
  return new Promise((resolve) => {
    const done = (ok: boolean) => {
      out.off('drain', onDrain);
      out.off('close', onClose);
      resolve(ok);
    };
    const onDrain = () => done(true);
    const onClose = () => done(false);
    out.on('drain', onDrain);
    out.on('close', onClose);
  });
}

/**
 * Write total pattern bytes to out, waiting for 'drain' whenever write() returns false,
 * so a 1 GiB body never sits in memory. Resolves false if out closed first. Does not end out.
 */
export async function writePattern(out: Writable, total: number): Promise<boolean> {
  let left = total;
  while (left > 0) {
    if (out.destroyed || out.writableEnded) return false;
    const n = Math.min(left, CHUNK.length);
    left -= n;
    if (!out.write(n === CHUNK.length ? CHUNK : CHUNK.subarray(0, n)) && !(await drained(out))) return false;
  }
  return true;
}
