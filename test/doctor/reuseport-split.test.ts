// The field report's symptom on a real kernel: two processes each bind the same address
// with SO_REUSEPORT, so the kernel splits new connections between two accept queues.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { handoffRun, stopAll } from '../helpers/processes.js';
import { LISTEN_PY, python, Scratch, skipWithoutPython, startListener } from './python.js';

const scratch = new Scratch();
after(async () => {
  await stopAll();
  scratch.remove();
});

test('two python3 processes on one port with SO_REUSEPORT: both sockets and pids, the split flagged, exit 1', {
  skip: skipWithoutPython,
}, async () => {
  const script = scratch.file('listen.py', LISTEN_PY);
  const a = await startListener(python!, script, { reuseport: true });
  const b = await startListener(python!, script, { port: a.port, reuseport: true });
  const key = `127.0.0.1:${a.port}`;

  const text = await handoffRun(['doctor', '--port', String(a.port)]);
  assert.equal(text.code, 1, text.stdout + text.stderr);
  assert.match(text.stdout, new RegExp(`^${key.replace(/\./g, '\\.')} {2}2 sockets`, 'm'));
  for (const pid of [a.proc.pid, b.proc.pid])
    assert.match(text.stdout, new RegExp(`\\s${pid}\\s+\\S+\\s+-\\s+\\S*python`), `pid ${pid} in the table`);
  assert.match(text.stdout, new RegExp(`PROBLEM {2}reuseport-split {2}${key.replace(/\./g, '\\.')}`));
  assert.match(text.stdout, /Verdict: PROBLEM/);

  const json = await handoffRun(['doctor', '--port', String(a.port), '--json']);
  assert.equal(json.code, 1, json.stderr);
  const doc = JSON.parse(json.stdout);
  assert.equal(doc.verdict, 'problem');
  assert.equal(doc.listeners.length, 1);
  const [listener] = doc.listeners;
  assert.equal(listener.listener, key);
  assert.equal(listener.sockets.length, 2);
  // oldest first: a started before b
  assert.deepEqual(
    listener.sockets.map((s: { pids: number[] }) => s.pids),
    [[a.proc.pid], [b.proc.pid]],
  );
  for (const s of listener.sockets) {
    assert.match(text.stdout, new RegExp(`\\b${s.inode}\\b`), 'the same inodes in text and JSON');
    assert.equal(s.acceptQueue, 0);
    if (doc.backlogSource === 'ss') assert.equal(s.backlog, 16);
  }
  const split = doc.findings.find((f: { code: string }) => f.code === 'reuseport-split');
  assert.ok(split, JSON.stringify(doc.findings));
  assert.equal(split.severity, 'problem');
  assert.deepEqual(split.pids, [a.proc.pid, b.proc.pid]);
  // python3 is no known proxy: no generation to call stale
  assert.equal(
    doc.findings.some((f: { code: string }) => f.code === 'stale-generation'),
    false,
  );
  const procs = doc.processes.filter((p: { pid: number }) => p.pid === a.proc.pid || p.pid === b.proc.pid);
  assert.equal(procs.length, 2);
  assert.ok(procs.every((p: { kind: null; cmdline: string[] }) => p.kind === null && p.cmdline.includes(script)));
});
