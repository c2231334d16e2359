// doctor against a real handoff service: it asks the master on its control socket and
// cross-checks that view against /proc (listener inodes, workers, drain deadlines).
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { startEcho } from '../helpers/echo.js';
import { oneBackendConfig, startHandoff } from '../helpers/handoff.js';
import { freePort } from '../helpers/net.js';
import { listenInodes, workersOf } from '../helpers/proc.js';
import { handoffRun, stopAll } from '../helpers/processes.js';
import { diagnose } from '../../src/doctor/diagnose.js';
import type { Snapshot } from '../../src/doctor/types.js';

after(() => stopAll());

test('a real handoff service: doctor asks its master, the views agree, healthy', async () => {
  const a = await startEcho('a');
  const port = await freePort();
  const h = await startHandoff(oneBackendConfig({ port, server: a.address, workers: 2 }));
  const r = await handoffRun(['doctor', '--port', String(port), '--json']);
  assert.equal(r.code, 0, r.stdout + r.stderr);
  const doc = JSON.parse(r.stdout) as {
    handoff: {
      masterPid: number;
      control: string;
      status: { listeners: { address: string; inode: number }[]; generations: { workers: number[] }[] } | null;
    }[];
    findings: unknown[];
  };
  const view = doc.handoff.find((x) => x.masterPid === h.proc.pid);
  assert.ok(view?.status, JSON.stringify(doc.handoff));
  assert.equal(view.control, h.control);
  assert.deepEqual(view.status.listeners, [{ address: `127.0.0.1:${port}`, inode: listenInodes(port)[0] }]);
  assert.deepEqual(
    view.status.generations.flatMap((g) => g.workers).sort(),
    workersOf(h.proc.pid)
      .map((w) => w.pid)
      .sort(),
  );
  assert.deepEqual(doc.findings, []);
  const text = await handoffRun(['doctor', '--port', String(port)]);
  assert.match(
    text.stdout,
    new RegExp(
      `handoff master ${h.proc.pid} says \\(control ${h.control.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}\\): #1 active \\(2 workers\\)`,
    ),
  );
  await h.stop();
});

// The rules on facts that a healthy service never shows: a worker its master does not know,
// a generation past its deadline, a listener whose socket is not the kernel's.
test('cross-check rules: untracked worker, overdue generation, listener mismatch', () => {
  const now = Date.now();
  const proc = (pid: number, ppid: number, role: 'master' | 'worker', generation?: number, listenInodes: number[] = []) => ({
    pid,
    ppid,
    comm: 'node',
    cmdline:
      role === 'master'
        ? ['node', '/x/dist/src/cli/entry.js', 'start', '-f', 'h.yaml']
        : ['node', '/x/dist/src/worker/main.js', '--generation', String(generation), '--master', '100'],
    startTicks: pid,
    startedAt: now - 60_000 + pid,
    listenInodes,
    fdsReadable: true,
    proxy:
      role === 'master'
        ? ({ kind: 'handoff', role: 'master' } as const)
        : ({ kind: 'handoff', role: 'worker', generation, masterPid: 100 } as const),
  });
  const snapshot: Snapshot = {
    collectedAt: now,
    procRoot: '/proc',
    bootTime: 0,
    clockTicksPerSecond: 100,
    backlogSource: null,
    ipv6: true,
    filter: {},
    sockets: [
      { family: 'ipv4', address: '127.0.0.1', port: 8080, inode: 555, uid: 0, acceptQueue: 0, acceptQueueSamples: [0], backlog: null },
    ],
    processes: [
      proc(100, 1, 'master', undefined, [555]),
      proc(201, 100, 'worker', 4, [555]),
      proc(150, 100, 'worker', 3),
      proc(160, 100, 'worker', 3),
    ],
    unreadableProcesses: 0,
    handoff: [
      {
        masterPid: 100,
        control: '/x/h.sock',
        status: {
          listeners: [{ address: '127.0.0.1:8080', inode: 444 }],
          generations: [
            { number: 3, state: 'draining', drainDeadline: now - 10_000, workers: [150] },
            { number: 4, state: 'active', drainDeadline: null, workers: [201] },
          ],
        },
      },
    ],
  };
  const found = diagnose(snapshot).filter((f) => f.code.startsWith('handoff-') && f.code !== 'handoff-old-generation');
  assert.deepEqual(
    found.map((f) => [f.code, f.severity, f.pids]),
    [
      ['handoff-listener-mismatch', 'problem', [100]],
      ['handoff-untracked-worker', 'problem', [160]],
      ['handoff-overdue-generation', 'problem', [150]],
    ],
  );
  assert.match(found[0]!.message, /inode 444 .* kernel's LISTEN socket there is 555/);
  assert.match(found[2]!.message, /generation 3 .* past its drain deadline/);
});
