// Reloads and pushes coalesce: the newest request naming a config wins, restart is kept.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ReloadQueue, type ReloadRequest } from '../../src/master/reload-queue.js';

test('requests during a run coalesce into one next run; the newest config source wins; restart sticks', async () => {
  const runs: ReloadRequest[] = [];
  let release: (() => void) | undefined;
  const q = new ReloadQueue<number>(async (req) => {
    runs.push(req);
    if (runs.length === 1) await new Promise<void>((r) => (release = r));
    return runs.length;
  });
  const first = q.request({ file: '/a.yaml' });
  const during = [q.request({ text: 'pushed: 1' }), q.request({ restart: true }), q.request({ file: '/b.yaml' }), q.request({})];
  release!();
  assert.equal(await first, 1);
  assert.deepEqual(await Promise.all(during), [2, 2, 2, 2]);
  assert.deepEqual(runs, [{ file: '/a.yaml' }, { file: '/b.yaml', restart: true }]);
});

test('a plain reload after a push keeps the pushed document', async () => {
  const runs: ReloadRequest[] = [];
  let release: (() => void) | undefined;
  const q = new ReloadQueue<void>(async (req) => {
    runs.push(req);
    if (runs.length === 1) await new Promise<void>((r) => (release = r));
  });
  const first = q.request({});
  const rest = [q.request({ text: 'doc' }), q.request({})];
  release!();
  await Promise.all([first, ...rest]);
  assert.deepEqual(runs, [{}, { text: 'doc' }]);
});
