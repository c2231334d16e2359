// The open file limit: 10,000 client connections need 10,000 descriptors in the benchmark
// process and as many in the handoff workers, which inherit its limits. Node raises its own
// soft limit to the hard limit when it starts (so does every handoff process), so the hard
// limit (`ulimit -Hn`) decides; raising it needs root, so a run that needs more skips the row.
import { readFileSync } from 'node:fs';

/** Open file descriptor limit of this process (soft; Node already raised it to the hard one). */
export function openFileLimit(): number {
  try {
    const m = /^Max open files\s+(\d+|unlimited)/m.exec(readFileSync('/proc/self/limits', 'latin1'));
    return m?.[1] === 'unlimited' ? Infinity : Number(m?.[1] ?? 1024);
  } catch {
    return 1024;
  }
}
