// storm's own clean-up: Ctrl-C (SIGINT) in the middle of a run stops the load, the target
// and every process the target started (also daemons that left storm's process tree),
// prints what it measured so far, and exits 130.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync } from 'node:fs';
import { handoff, stopAll } from '../helpers/processes.js';
import { readCmdline, readStat } from '../../src/doctor/proc-processes.js';
import { waitUntil } from '../helpers/wait.js';
import { python, skipWithoutPython } from '../doctor/python.js';
import { brokenProxyArgs, fixture, running } from './storm-run.js';
import type { StormReport } from '../../src/storm/types.js';

after(() => stopAll());

interface Proc {
  pid: number;
  command: string;
}

/** Every process now whose ancestry leads to `root`, or whose command line contains `tag`. */
function related(root: number, tag: string | undefined): Proc[] {
  const parent = new Map<number, number>();
  const out: Proc[] = [];
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    const s = readStat('/proc', Number(name));
    if (s) parent.set(s.pid, s.ppid);
  }
  for (const pid of parent.keys()) {
    let p = parent.get(pid);
    let under = false;
    for (let depth = 0; p !== undefined && p > 1 && depth < 50; depth++) {
      if (p === root) {
        under = true;
        break;
      }
      p = parent.get(p);
    }
    const cmdline = readCmdline('/proc', pid);
    if (!cmdline) continue;
    const command = cmdline.join(' ').slice(0, 200);
    if (under || (tag !== undefined && command.includes(tag))) out.push({ pid, command });
  }
  return out;
}

async function interruptMidRun(
  args: string[],
  ready: (procs: Proc[]) => boolean,
  tag?: string,
): Promise<{ code: number | string; seen: Proc[]; report: StormReport }> {
  const storm = handoff(['storm', ...args, '--json']);
  const seen = new Map<number, Proc>();
  await waitUntil(
    'the storm to be under way',
    () => {
      const procs = related(storm.pid, tag);
      for (const p of procs) seen.set(p.pid, p);
      return ready(procs);
    },
    60_000,
    50,
  );
  storm.child.kill('SIGINT');
  const code = await storm.exited;
  return { code, seen: [...seen.values()], report: JSON.parse(storm.output().slice(storm.output().indexOf('{'))) as StormReport };
}

test('SIGINT in the middle of a storm against handoff: master and every worker are gone when storm exits (130)', async () => {
  const generations = (procs: Proc[]) =>
    new Set(procs.map((p) => /--generation (\d+)/.exec(p.command)?.[1]).filter((g) => g !== undefined));
  const { code, seen, report } = await interruptMidRun(
    [
      '-f',
      fixture('handoff.yaml'),
      '--restart',
      '--config-next',
      fixture('handoff-next.yaml'),
      '--interval',
      '200ms',
      '--reloads',
      '1000',
      '--rate',
      '20',
    ],
    // under way: the master runs and workers of at least two generations were seen
    (procs) =>
      procs.some((p) => / start -f /.test(p.command)) &&
      generations(procs).size >= 2 &&
      procs.filter((p) => /--generation/.test(p.command)).length >= 2,
  );
  assert.equal(code, 130);
  assert.equal(report.interrupted, true);
  assert.equal(report.verdict, 'interrupted');
  assert.ok(
    seen.some((p) => / start -f /.test(p.command)),
    JSON.stringify(seen),
  );
  assert.ok(
    seen.some((p) => /worker\/main\.js/.test(p.command)),
    JSON.stringify(seen),
  );
  for (const p of [...seen, ...report.processes.seen])
    assert.equal(running(p), false, `pid ${p.pid} (${p.command}) still running after storm exited`);
});

test('SIGINT in the middle of a storm against daemonizing processes: every daemon is gone when storm exits', {
  skip: skipWithoutPython,
}, async () => {
  const tag = `storm-cleanup-${process.pid}-${Date.now()}`;
  const args = brokenProxyArgs(['--interval', '200ms', '--reloads', '1000', '--rate', '20']).map((a) =>
    a.endsWith('{config} --detach') ? `${a} ${tag}` : a,
  );
  const { code, seen, report } = await interruptMidRun(
    args,
    (procs) => procs.filter((p) => p.command.includes(tag) && p.command.startsWith(python!)).length >= 3,
    tag,
  );
  assert.equal(code, 130);
  assert.equal(report.interrupted, true);
  const daemons = seen.filter((p) => p.command.includes(tag));
  assert.ok(daemons.length >= 3, JSON.stringify(seen));
  for (const p of [...seen, ...report.processes.seen])
    assert.equal(running(p), false, `pid ${p.pid} (${p.command}) still running after storm exited`);
});
