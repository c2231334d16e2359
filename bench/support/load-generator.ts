// One entry point for "put load on this port": wrk when installed, else the built-in
// Node generator (which the reports name, since its numbers are not comparable).
import type { LoadOptions, LoadResult } from './load-result.js';
import { findWrk, runWrk } from './wrk.js';
import { runNodeLoad } from './node-load.js';

export interface LoadGenerator {
  readonly name: string;
  run(opts: LoadOptions): Promise<LoadResult>;
}

/** BENCH_LOAD=node forces the built-in generator (to try the fallback on a machine with wrk). */
export function loadGenerator(): LoadGenerator {
  const wrk = process.env.BENCH_LOAD === 'node' ? undefined : findWrk();
  if (wrk) return { name: `wrk (${wrk}, 1 thread)`, run: (o) => runWrk(wrk, o) };
  return {
    name: 'built-in Node load generator (wrk not found or BENCH_LOAD=node; its numbers are lower than those of wrk and not comparable)',
    run: runNodeLoad,
  };
}
