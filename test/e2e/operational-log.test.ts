// HANDOFF_LOG_FORMAT=json: every operational line of the master and of its workers is one
// JSON object (time, level, component, msg, then the fields); a value that names no format
// is refused at start.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { startEcho } from '../helpers/echo.js';
import { oneBackendConfig, startHandoff, workerPids } from '../helpers/handoff.js';
import { freePort } from '../helpers/net.js';
import { handoffRun, stopAll } from '../helpers/processes.js';
import { waitUntil } from '../helpers/wait.js';

after(() => stopAll());

interface OpLine {
  time: string;
  level: string;
  component: string;
  msg: string;
  [field: string]: unknown;
}

test('HANDOFF_LOG_FORMAT=json: the master and the workers write one JSON object per line', async () => {
  const echo = await startEcho('a');
  const port = await freePort();
  const h = await startHandoff(oneBackendConfig({ port, server: echo.address, workers: 2 }), {
    env: { HANDOFF_LOG_FORMAT: 'json', HANDOFF_LOG_LEVEL: 'debug' },
  });
  const reload = await h.reload(undefined, { restart: true });
  assert.equal(reload.code, 0, reload.stderr);
  const pids = workerPids(await h.status());
  // Lines of the new workers (debug: "worker ready"), and the master's reload line.
  const parsed = () =>
    h.proc
      .output()
      .split('\n')
      .filter(Boolean)
      .map((l) => JSON.parse(l) as OpLine);
  await waitUntil(
    'lines of the master and of every new worker',
    () => {
      const ls = parsed();
      return (
        ls.some((l) => l.component === 'master' && l.msg === 'reload finished') &&
        pids.every((p) => ls.some((l) => l.component === 'worker' && l.pid === p))
      );
    },
    15_000,
    50,
  );
  const ls = parsed();
  for (const l of ls) {
    assert.ok(!Number.isNaN(Date.parse(l.time)), JSON.stringify(l));
    assert.ok(['debug', 'info', 'warn', 'error'].includes(l.level), JSON.stringify(l));
    assert.equal(typeof l.msg, 'string');
  }
  const started = ls.find((l) => l.msg === 'handoff started');
  assert.ok(started, 'the start line');
  assert.equal(started.pid, h.proc.pid);
  assert.equal(started.workers, 2); // numbers stay numbers
  assert.equal(started.component, 'master');
  assert.equal(await h.stop(), 0);
});

test('HANDOFF_LOG_FORMAT names no format: handoff start refuses it (exit 2)', async () => {
  const r = await handoffRun(['start', '-f', '/nonexistent.yaml'], {
    env: { ...process.env, HANDOFF_LOG_FORMAT: 'xml' },
    timeoutMs: 10_000,
  });
  assert.equal(r.code, 2);
  assert.match(r.stderr, /HANDOFF_LOG_FORMAT must be text or json, got 'xml'/);
});
