// Master reload logic in the test process: real config files, real listening sockets on
// loopback and a real control socket, but workers are fake children (WorkerSpawner seam),
// so reload transactions and the reload queue run without forking.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import { join } from 'node:path';
import test from 'node:test';
import { Master } from '../../src/master/master.js';
import { freePort } from '../helpers/net.js';
import { type FakeScript, fakeSpawner } from './fake-worker.js';

async function setup(...scripts: FakeScript[]) {
  const dir = mkdtempSync(join(os.tmpdir(), 'handoff-master-'));
  const file = join(dir, 'handoff.yaml');
  const port = await freePort();
  const write = (workers: number, extra = '') =>
    writeFileSync(file, `workers: ${workers}\ncontrol: ${join(dir, 'c.sock')}\nfrontends:\n  web:\n    bind: 127.0.0.1:${port}\n${extra}`);
  write(1);
  const { spawn, spawned } = fakeSpawner(...scripts);
  const master = new Master(file, spawn);
  await master.start();
  return {
    master,
    spawned,
    write,
    async stop() {
      await master.stop(true);
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

test('reloads requested while one runs are coalesced into one next run, and every requester gets its outcome', async () => {
  const s = await setup({});
  try {
    s.write(2);
    const first = s.master.reload({ restart: true });
    // Requested while the first runs: one more run covers both.
    s.write(3);
    const second = s.master.reload({ restart: true });
    const third = s.master.reload({ restart: true });
    const [a, b, c] = await Promise.all([first, second, third]);
    assert.equal(a.kind, 'process');
    assert.equal(b.generation, c.generation, 'the two later requests share one run');
    assert.ok(b.generation > a.generation);
    assert.equal(b.coalesced, 2);
    // Two runs, not three: generation 1's worker, then each run's generation, which reads
    // the file as it is when the run starts (3 workers both times).
    assert.equal(s.spawned.length, 1 + 3 + 3);
  } finally {
    await s.stop();
  }
});

test('a worker that dies during a live prepare fails the reload and nothing changes (I5)', async () => {
  const s = await setup({ dieAt: 'prepare' }, {});
  try {
    const before = await s.master.status();
    s.write(1, 'limits:\n  pipeline: 8\n'); // a live change
    await assert.rejects(s.master.reload(), /exited|prepare/);
    const after = await s.master.status();
    assert.equal(after.reloads.at(-1)?.outcome, 'failed');
    assert.equal(after.reloads.at(-1)?.kind, 'live');
    const active = (r: typeof before) => r.generations.find((g) => g.state === 'active');
    assert.equal(active(after)?.configGeneration, active(before)?.configGeneration);
    assert.equal(active(after)?.configHash, active(before)?.configHash);
  } finally {
    await s.stop();
  }
});
