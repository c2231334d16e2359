// The built-in load generator, used only when wrk is not installed: N keep-alive
// connections in this process, each sending requests back to back for a fixed time.
// It runs on the same event loop as the benchmark, so it is slower than wrk; reports say so.
import type { LoadOptions, LoadResult } from './load-result.js';
import { KeepAliveClient, type FailureKind } from './keep-alive-client.js';
import { percentile } from './stats.js';
import { delay } from './ports.js';

const MAX_SAMPLES = 2_000_000;

export async function runNodeLoad(opts: LoadOptions): Promise<LoadResult> {
  const latencies: number[] = [];
  const errors = { connect: 0, read: 0, write: 0, timeout: 0, status: 0 };
  let requests = 0;
  const started = performance.now();
  const deadline = started + opts.durationMs;
  const count = (kind: FailureKind) => {
    if (kind === 'timeout') errors.timeout++;
    else if (kind === 'status') errors.status++;
    else if (kind === 'refused') errors.connect++;
    else errors.read++;
  };
  const loop = async () => {
    let client: KeepAliveClient | undefined;
    while (performance.now() < deadline) {
      if (!client?.usable) {
        client?.destroy();
        try {
          client = await KeepAliveClient.open(opts.port);
        } catch (err) {
          count((err as { kind?: FailureKind }).kind ?? 'error');
          client = undefined;
          await delay(10); // a refused connect must not spin the loop
          continue;
        }
      }
      const o = await client.request(opts.path ?? '/');
      if (o.ok || o.failure === 'status') {
        requests++;
        if (latencies.length < MAX_SAMPLES) latencies.push(o.ms);
      }
      if (!o.ok) count(o.failure ?? 'error');
    }
    client?.destroy();
  };
  await Promise.all(Array.from({ length: opts.connections }, loop));
  const seconds = (performance.now() - started) / 1000;
  return {
    tool: 'node',
    requests,
    seconds,
    rps: requests / seconds,
    latencyMs: { p50: percentile(latencies, 50), p90: percentile(latencies, 90), p99: percentile(latencies, 99) },
    errors,
  };
}
