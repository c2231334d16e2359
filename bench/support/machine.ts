// The machine a run happened on, printed with every report: numbers mean little without it.
import { spawnSync } from 'node:child_process';
import os from 'node:os';

export interface MachineInfo {
  readonly cores: number;
  readonly cpu: string;
  readonly node: string;
  readonly kernel: string;
  readonly loadAvg: readonly number[];
  readonly tools: Readonly<Record<string, string>>;
}

function version(cmd: string, args: string[], re: RegExp): string {
  // wrk and nginx print their version on stderr, wrk with a non-zero exit: read both streams.
  const r = spawnSync(cmd, args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'], timeout: 5_000 });
  if (r.error) return (r.error as NodeJS.ErrnoException).code === 'ENOENT' ? 'not installed' : 'installed';
  return re.exec(`${r.stdout}${r.stderr}`)?.[1] ?? 'installed';
}

/** The 1, 5 and 15 minute load averages, rounded. */
export function loadAverage(): number[] {
  return os.loadavg().map((l) => Math.round(l * 100) / 100);
}

export function machineInfo(): MachineInfo {
  return {
    cores: os.availableParallelism(),
    cpu: os.cpus()[0]?.model.trim() ?? 'unknown',
    node: process.version,
    kernel: os.release(),
    loadAvg: loadAverage(),
    tools: {
      wrk: version('wrk', ['-v'], /wrk (?:debian\/)?([\d.]+)/),
      haproxy: version('/usr/sbin/haproxy', ['-v'], /version ([\d.]+)/),
      nginx: version('/usr/sbin/nginx', ['-v'], /nginx\/([\d.]+)/),
    },
  };
}

export function describeMachine(m: MachineInfo): string {
  const tools = Object.entries(m.tools)
    .map(([k, v]) => `${k} ${v}`)
    .join(', ');
  return `machine: ${m.cores} cores (${m.cpu}), Node ${m.node}, Linux ${m.kernel}, load average ${m.loadAvg.join(' ')}; ${tools}`;
}
