// The field report's cause on a real kernel: an older haproxy still listening with
// SO_REUSEPORT next to a newer one. The "haproxy" processes are python3 under that name.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { handoffRun, stopAll } from '../helpers/processes.js';
import { afterStartOf, LISTEN_PY, Scratch, skipWithoutPython, startListener } from './python.js';

const scratch = new Scratch();
after(async () => {
  await stopAll();
  scratch.remove();
});

test('two haproxy generations on one port: the older one is flagged stale with the HAProxy fix, exit 1', {
  skip: skipWithoutPython,
}, async () => {
  const haproxy = scratch.alias('sbin/haproxy');
  const script = scratch.file('haproxy.py', LISTEN_PY);
  const old = await startListener(haproxy, script, { reuseport: true });
  await afterStartOf(old.proc.pid);
  const fresh = await startListener(haproxy, script, { port: old.port, reuseport: true });

  const text = await handoffRun(['doctor', '--port', String(old.port)]);
  assert.equal(text.code, 1, text.stdout + text.stderr);
  assert.match(text.stdout, new RegExp(`\\s${old.proc.pid}\\s+\\S+\\s+haproxy\\s+${haproxy}`));
  assert.match(text.stdout, /PROBLEM {2}stale-generation/);
  assert.match(
    text.stdout,
    new RegExp(
      `HAProxy pid ${old.proc.pid} \\(started \\S+ ago\\) still listens on 127\\.0\\.0\\.1:${old.port} next to the newer haproxy pid ${fresh.proc.pid}`,
    ),
  );
  assert.match(text.stdout, /master-worker mode \(-W/);
  assert.match(text.stdout, /-sf the pids of ALL running haproxy processes/);

  const json = await handoffRun(['doctor', '--port', String(old.port), '--json']);
  const doc = JSON.parse(json.stdout);
  assert.equal(json.code, 1);
  const stale = doc.findings.find((f: { code: string }) => f.code === 'stale-generation');
  assert.deepEqual(stale.pids, [old.proc.pid]);
  assert.deepEqual(
    doc.findings.map((f: { code: string }) => f.code),
    ['reuseport-split', 'stale-generation'],
  );
  assert.match(stale.fix, new RegExp(`kill -USR1 ${old.proc.pid}`));
});
