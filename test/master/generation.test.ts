// Generation logic in the test process: workers are fake children (test/master/fake-worker.ts)
// through the WorkerSpawner seam, so starts, crashes, drains and kills are scripted and
// nothing forks. Timing bounds are the generation's own (drain deadline + kill grace).
import assert from 'node:assert/strict';
import os from 'node:os';
import test from 'node:test';
import { loadConfigText } from '../../src/config/load.js';
import type { Config } from '../../src/config/types.js';
import { Generation, KILL_GRACE_MS } from '../../src/master/generation.js';
import type { ListenerRegistry } from '../../src/master/listener-registry.js';
import { applyToWorkers } from '../../src/master/live-apply.js';
import { createLogger } from '../../src/observe/logger.js';
import { waitUntil } from '../helpers/wait.js';
import { type FakeScript, fakeSpawner } from './fake-worker.js';

async function config(workers: number): Promise<Config> {
  const r = await loadConfigText(`workers: ${workers}\nfrontends:\n  web:\n    bind: 127.0.0.1:1\n`, '<test>', os.tmpdir());
  assert.ok(r.ok);
  return r.config;
}

// The generation only reads the handle to pass it on: the fake worker ignores it.
const listeners = { get: (key: string) => ({ key, handle: {} }) } as unknown as ListenerRegistry;
const logged: string[] = [];
const log = createLogger('test', {}, (line) => logged.push(line));

async function generation(workers: number, ...scripts: FakeScript[]) {
  const { spawn, spawned } = fakeSpawner(...scripts);
  const stopped: Generation[] = [];
  const gen = new Generation(1, await config(workers), {
    log,
    listeners,
    health: () => ({}) as never,
    onWorkerMessage: () => {},
    onStopped: (g) => stopped.push(g),
    spawnWorker: spawn,
  });
  return { gen, spawned, stopped };
}

test('a generation is active once every worker is ready; a drain stops it when they exit', async () => {
  const { gen, spawned, stopped } = await generation(2, {});
  await gen.start();
  assert.equal(gen.state, 'active');
  assert.equal(spawned.length, 2);
  assert.deepEqual(
    spawned[0]!.received.map((m) => m.type),
    ['init', 'listener'],
  );
  await gen.drain(Date.now() + 5_000, true, 7);
  await gen.whenStopped();
  assert.equal(gen.state, 'stopped');
  assert.deepEqual(stopped, [gen]);
  const drain = spawned[1]!.received.find((m) => m.type === 'drain');
  assert.deepEqual(drain && { migrate: drain.migrate, reload: drain.reload }, { migrate: true, reload: 7 });
});

test('a worker that dies during start fails the generation, and the others are killed', async () => {
  const { gen, spawned } = await generation(3, {}, { dieAt: 'init' }, {});
  await assert.rejects(gen.start(), /exited during start/);
  assert.equal(gen.state, 'failed');
  assert.ok(spawned.every((c) => c.exitCode !== null || c.signalCode !== null));
  assert.equal(spawned.filter((c) => c.signalCode === 'SIGKILL').length, 2);
});

test('a worker that outlives the drain deadline is killed at deadline + grace, and counted as killed', async () => {
  const { gen, spawned } = await generation(1, { silentAt: 'drain' });
  await gen.start();
  const deadline = Date.now() + 50;
  await gen.drain(deadline, false, 1);
  await gen.whenStopped();
  const killedAt = Date.now();
  assert.equal(spawned[0]!.signalCode, 'SIGKILL');
  assert.ok(killedAt >= deadline + KILL_GRACE_MS, `killed ${deadline + KILL_GRACE_MS - killedAt} ms before the grace ended`);
  assert.equal(gen.drainTotals.killed, 1);
});

test('a crashed worker of the active generation is replaced, and its slot counts the restart', async () => {
  const { gen, spawned } = await generation(2, {});
  await gen.start();
  spawned[1]!.exit(null, 'SIGSEGV');
  await waitUntil('a replacement worker is ready', () => gen.readyWorkers().length === 2 && spawned.length === 3, 10_000);
  const counts = new Map();
  const status = gen.status(counts);
  assert.equal(status.crashes, 1);
  assert.deepEqual(
    status.workers.map((w) => w.restarts),
    [0, 1],
  );
  gen.kill();
  await gen.whenStopped();
});

test('a worker dying during a live prepare fails the apply, and the others are told to abort', async () => {
  const { gen, spawned } = await generation(2, {}, { dieAt: 'prepare' });
  await gen.start();
  const next = await config(2);
  await assert.rejects(applyToWorkers(gen.workers, { generation: 2, config: next, health: {} as never, listeners }));
  await waitUntil('the surviving worker got abort', () => spawned[0]!.received.some((m) => m.type === 'abort'), 5_000);
  assert.ok(!spawned[0]!.received.some((m) => m.type === 'commit'), 'nobody commits a failed apply (I5)');
  gen.kill();
  await gen.whenStopped();
});
