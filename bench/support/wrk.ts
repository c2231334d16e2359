// Run wrk (one thread, N keep-alive connections, --latency) and parse its report.
import { existsSync } from 'node:fs';
import { delimiter, join } from 'node:path';
import type { LoadErrors, LoadOptions, LoadResult } from './load-result.js';
import { startService } from './service-process.js';

/** Path of the wrk binary, or undefined when it is not installed. */
export function findWrk(): string | undefined {
  for (const dir of (process.env.PATH ?? '/usr/bin').split(delimiter)) {
    const candidate = join(dir, 'wrk');
    if (dir && existsSync(candidate)) return candidate;
  }
  return existsSync('/usr/bin/wrk') ? '/usr/bin/wrk' : undefined;
}

const UNIT_MS: Readonly<Record<string, number>> = { us: 0.001, ms: 1, s: 1000, m: 60_000, h: 3_600_000 };

function durationMs(text: string): number {
  const m = /^([\d.]+)(us|ms|s|m|h)$/.exec(text);
  if (!m) throw new Error(`wrk: cannot read the duration '${text}'`);
  return Number(m[1]) * UNIT_MS[m[2]!]!;
}

/** Parse wrk's human report (as printed with --latency). */
export function parseWrkReport(text: string): Omit<LoadResult, 'tool'> {
  const pct = (p: string) => {
    const m = new RegExp(`^\\s+${p}%\\s+([\\d.]+\\w+)`, 'm').exec(text);
    return m ? durationMs(m[1]!) : NaN;
  };
  const total = /(\d+) requests in ([\d.]+\w+),/.exec(text);
  const rps = /Requests\/sec:\s+([\d.]+)/.exec(text);
  if (!total || !rps) throw new Error(`wrk: unexpected report:\n${text}`);
  const socket = /Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)/.exec(text);
  const non2xx = /Non-2xx or 3xx responses: (\d+)/.exec(text);
  const errors: LoadErrors = {
    connect: Number(socket?.[1] ?? 0),
    read: Number(socket?.[2] ?? 0),
    write: Number(socket?.[3] ?? 0),
    timeout: Number(socket?.[4] ?? 0),
    status: Number(non2xx?.[1] ?? 0),
  };
  return {
    requests: Number(total[1]),
    seconds: durationMs(total[2]!) / 1000,
    rps: Number(rps[1]),
    latencyMs: { p50: pct('50'), p90: pct('90'), p99: pct('99') },
    errors,
  };
}

export async function runWrk(wrk: string, opts: LoadOptions): Promise<LoadResult> {
  const seconds = Math.max(1, Math.round(opts.durationMs / 1000));
  const args = [
    '-t1',
    `-c${opts.connections}`,
    `-d${seconds}s`,
    '--latency',
    '--timeout',
    '5s',
    `http://127.0.0.1:${opts.port}${opts.path ?? '/'}`,
  ];
  const proc = startService('wrk', wrk, args, { stopSignal: 'SIGINT' });
  const code = await proc.exited;
  await proc.stop();
  if (code !== 0) throw new Error(`wrk exited with ${code}:\n${proc.output()}`);
  return { tool: 'wrk', ...parseWrkReport(proc.output()) };
}
