// Running `handoff storm` as a real process for the tests, and checking afterwards that
// nothing it started is still alive.
import { readCmdline, readStat } from '../../src/doctor/proc-processes.js';
import { join } from 'node:path';
import { repoRoot } from '../helpers/paths.js';
import { handoffRun } from '../helpers/processes.js';
import { python } from '../doctor/python.js';
import type { StormReport } from '../../src/storm/types.js';

export const fixture = (name: string) => join(repoRoot, 'test', 'storm', 'fixtures', name);

/** `handoff storm ARGS --json`; the parsed report (when there is one) and the exit code. */
export async function stormJson(
  args: string[],
  timeoutMs = 120_000,
): Promise<{ code: number | string; report: StormReport | undefined; stderr: string; stdout: string }> {
  const r = await handoffRun(['storm', ...args, '--json'], { timeoutMs });
  let report: StormReport | undefined;
  try {
    report = JSON.parse(r.stdout) as StormReport;
  } catch {
    report = undefined;
  }
  return { code: r.code, report, stderr: r.stderr, stdout: r.stdout };
}

/** Alive = has a /proc entry that is not a zombie, with this command line (not a reused pid). */
export function running(p: { pid: number; command: string }): boolean {
  const s = readStat('/proc', p.pid);
  if (s === undefined || s.state === 'Z' || s.state === 'X') return false;
  const cmdline = readCmdline('/proc', p.pid);
  return cmdline !== undefined && cmdline.join(' ').slice(0, 200) === p.command;
}

/** A short dump for assertion messages. */
export function summary(r: StormReport | undefined, stderr = ''): string {
  if (!r) return `no report; stderr: ${stderr}`;
  return JSON.stringify(
    {
      verdict: r.verdict,
      problems: r.problems,
      failures: r.failures,
      reloads: r.reloads.list.filter((x) => !x.ok),
      probe: r.probe,
      listeners: r.listeners,
      leftovers: r.processes.leftovers,
    },
    null,
    1,
  );
}

/** storm arguments for the broken SO_REUSEPORT proxy (fixtures/reuseport-proxy.py), daemonizing on start and on every reload. */
export function brokenProxyArgs(extra: string[] = []): string[] {
  const proxy = `${python} ${fixture('reuseport-proxy.py')} {config} --detach`;
  return [
    '--config',
    fixture('reuseport-proxy.json'),
    '--config-next',
    fixture('reuseport-proxy-next.json'),
    '--start',
    proxy,
    '--reload',
    proxy,
    '--frontend',
    '127.0.0.1:${port.web}',
    '--route',
    'a.storm.test=a',
    '--probe-host',
    'new.storm.test',
    '--drain-deadline',
    '1s',
    '--websocket',
    '0',
    ...extra,
  ];
}
