// handoff's healthy model on a real kernel: one socket, bound once, held by several
// processes (a parent that forked children which kept the fd). Also with the command
// lines of a handoff master and its workers, whose old generations doctor reports.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { handoffRun, spawnTracked, stopAll } from '../helpers/processes.js';
import { FAKE_MASTER_PY, FAKE_WORKER_PY, killAll, Scratch, SHARED_PY, python, skipWithoutPython } from './python.js';

const scratch = new Scratch();
const forked: number[] = [];
after(async () => {
  await stopAll();
  killAll(forked);
  scratch.remove();
});

interface Doc {
  verdict: string;
  listeners: { listener: string; sockets: { inode: number; pids: number[] }[] }[];
  findings: { code: string; severity: string; pids: number[]; message: string }[];
  processes: { pid: number; kind: string | null; role: string | null; generation: number | null; masterPid: number | null }[];
}

async function doctorJson(port: number): Promise<{ code: number | string; doc: Doc }> {
  const r = await handoffRun(['doctor', '--port', String(port), '--json']);
  assert.notEqual(r.code, 2, r.stderr);
  return { code: r.code, doc: JSON.parse(r.stdout) as Doc };
}

test('one socket held by a parent and two forked children: several pids, healthy, exit 0', { skip: skipWithoutPython }, async () => {
  const parent = spawnTracked(python!, [scratch.file('shared.py', SHARED_PY), '2']);
  const m = await parent.waitFor(/ready (\d+) (\d+) (\d+)/);
  const [port, kid1, kid2] = [Number(m[1]), Number(m[2]), Number(m[3])];
  forked.push(kid1, kid2);

  const text = await handoffRun(['doctor', '--port', String(port)]);
  assert.equal(text.code, 0, text.stdout + text.stderr);
  assert.match(text.stdout, new RegExp(`^127\\.0\\.0\\.1:${port} {2}1 socket$`, 'm'));
  assert.match(text.stdout, /Verdict: healthy/);

  const { code, doc } = await doctorJson(port);
  assert.equal(code, 0);
  assert.equal(doc.verdict, 'healthy');
  assert.deepEqual(doc.findings, []);
  assert.equal(doc.listeners.length, 1);
  assert.equal(doc.listeners[0]!.sockets.length, 1);
  // the parent started first, then its children: oldest first
  assert.deepEqual(doc.listeners[0]!.sockets[0]!.pids, [parent.pid, kid1, kid2]);
});

function startFakeHandoff(workers: string): { ready: Promise<{ port: number; master: number; workers: { pid: number; gen: number }[] }> } {
  const node = join(scratch.dir, 'bin', 'node');
  const entry = join(scratch.dir, 'app', 'dist', 'src', 'cli', 'entry.js');
  const master = spawnTracked(node, [entry, 'start', '-f', join(scratch.dir, 'handoff.yaml')], {
    env: { ...process.env, FAKE_NODE: node, FAKE_WORKERS: workers },
  });
  return {
    ready: master.waitFor(/ready (\d+) ([\d: ]+)\n/).then((m) => {
      const list = m[2]!
        .trim()
        .split(' ')
        .map((w) => {
          const [pid, gen] = w.split(':').map(Number);
          return { pid: pid!, gen: gen! };
        });
      forked.push(...list.map((w) => w.pid));
      return { port: Number(m[1]), master: master.pid, workers: list };
    }),
  };
}

test('a handoff master and its workers (real command lines): one socket; an older generation draining is a note, still listening a problem', {
  skip: skipWithoutPython,
}, async () => {
  scratch.alias('bin/node');
  scratch.file('app/dist/src/cli/entry.js', FAKE_MASTER_PY);
  scratch.file('app/dist/src/worker/main.js', FAKE_WORKER_PY);

  // generation 2 stopped accepting (closed its copy of the socket), generation 3 accepts
  const healthy = await startFakeHandoff('2:closed,3:listen,3:listen').ready;
  const { code, doc } = await doctorJson(healthy.port);
  assert.equal(code, 0, JSON.stringify(doc.findings));
  assert.equal(doc.listeners[0]!.sockets.length, 1);
  const gen3 = healthy.workers.filter((w) => w.gen === 3).map((w) => w.pid);
  const gen2 = healthy.workers.filter((w) => w.gen === 2).map((w) => w.pid);
  assert.deepEqual(doc.listeners[0]!.sockets[0]!.pids, [healthy.master, ...gen3]);
  const master = doc.processes.find((p) => p.pid === healthy.master);
  assert.deepEqual([master?.kind, master?.role], ['handoff', 'master']);
  const worker = doc.processes.find((p) => p.pid === gen3[0]);
  assert.deepEqual([worker?.kind, worker?.role, worker?.generation, worker?.masterPid], ['handoff', 'worker', 3, healthy.master]);
  // The stand-in master has no control socket: doctor says it could not cross-check.
  assert.deepEqual(
    doc.findings.map((f) => [f.severity, f.code, f.pids]),
    [
      ['note', 'handoff-old-generation', gen2],
      ['note', 'handoff-control-unreachable', [healthy.master]],
    ],
  );
  assert.match(doc.findings[0]!.message, /generation 2 .* still draining .* after generation 3 started/);

  // generation 2 still holds the listening socket: it could accept with the old config
  const broken = await startFakeHandoff('2:listen,3:listen').ready;
  const r = await doctorJson(broken.port);
  assert.equal(r.code, 1);
  const old = broken.workers.find((w) => w.gen === 2)!.pid;
  assert.deepEqual(
    r.doc.findings.map((f) => [f.severity, f.code, f.pids]),
    [
      ['problem', 'handoff-old-generation-listening', [old]],
      ['note', 'handoff-control-unreachable', [broken.master]],
    ],
  );
});
