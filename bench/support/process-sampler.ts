// Samples a proxy's process tree at a fixed interval: how many processes, and their
// summed resident memory. This is how "memory and process count stay bounded" is seen.
import { processTree, rssBytes } from './proc-stat.js';

export interface ProcessSample {
  /** Milliseconds since the sampler started. */
  readonly t: number;
  readonly processes: number;
  readonly rssBytes: number;
}

export interface RunningSampler {
  stop(): ProcessSample[];
}

export function sampleProcessTree(rootPid: number, intervalMs: number): RunningSampler {
  const started = performance.now();
  const samples: ProcessSample[] = [];
  const sample = () => {
    const pids = processTree(rootPid);
    samples.push({
      t: Math.round(performance.now() - started),
      processes: pids.length,
      rssBytes: pids.reduce((sum, pid) => sum + rssBytes(pid), 0),
    });
  };
  sample();
  const timer = setInterval(sample, intervalMs);
  return {
    stop() {
      clearInterval(timer);
      sample();
      return samples;
    },
  };
}
