// Reading a file the config names (certificates, keys, CA bundles), bounded and only when it
// is a regular file. fs.readFile alone is not enough for a load the master runs at every
// reload: a FIFO put in place of a key blocks open(2) until a writer comes (the reload, and
// a libuv thread, hang forever), and a 50 MB file would be read whole, parsed and copied to
// every worker. So: open with O_NONBLOCK (a FIFO then opens at once), fstat the open file (no
// race with a rename between stat and open), refuse what is not a regular file or is larger
// than `maxBytes`, then read at most maxBytes + 1 bytes (a file that grows meanwhile is
// caught too).
import { constants } from 'node:fs';
import { open } from 'node:fs/promises';

const CHUNK = 64 * 1024;

/** Largest certificate (with its chain), key or CA file read: a real one is a few KiB, a CA bundle ~200 KiB. */
export const TLS_FILE_MAX_BYTES = 4 * 1024 * 1024;

export class FileReadProblem extends Error {}

/** The bytes of `file`; throws FileReadProblem (a short reason, no path) or Node's error (with its code). */
export async function readRegularFile(file: string, maxBytes: number): Promise<Buffer> {
  const handle = await open(file, constants.O_RDONLY | constants.O_NONBLOCK | constants.O_NOCTTY);
  try {
    const st = await handle.stat();
    if (st.isDirectory()) throw new FileReadProblem('is a folder, not a file');
    if (!st.isFile()) throw new FileReadProblem(`is not a regular file (${kindOf(st)})`);
    if (st.size > maxBytes) throw new FileReadProblem(`is ${st.size} bytes, more than the ${maxBytes} accepted`);
    const chunks: Buffer[] = [];
    let total = 0;
    for (;;) {
      const chunk = Buffer.alloc(Math.min(CHUNK, maxBytes + 1 - total));
      const { bytesRead } = await handle.read(chunk, 0, chunk.length, null);
      if (bytesRead === 0) break;
      chunks.push(chunk.subarray(0, bytesRead));
      total += bytesRead;
      if (total > maxBytes) throw new FileReadProblem(`is more than the ${maxBytes} bytes accepted`);
    }
    return Buffer.concat(chunks, total);
  } finally {
    await handle.close();
  }
}

function kindOf(st: { isFIFO(): boolean; isSocket(): boolean; isCharacterDevice(): boolean; isBlockDevice(): boolean }): string {
  if (st.isFIFO()) return 'a named pipe';
  if (st.isSocket()) return 'a socket';
  if (st.isCharacterDevice()) return 'a character device';
  if (st.isBlockDevice()) return 'a block device';
  return 'not a file';
}
