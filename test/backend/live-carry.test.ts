// A live apply builds a new BackendRuntime from the one in force: servers kept by identity
// (backend + name + address) carry their state, slots and counters; the wait queue carries
// over; a removed server retires; a removed backend turns its waiters away at once.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { BackendRuntime } from '../../src/backend/backend-runtime.js';
import { HandoffError } from '../../src/lib/errors.js';
import { captureLogger, ctx, makeBackend } from './make-backend.js';

function next(spec: Parameters<typeof makeBackend>[0], previous: BackendRuntime, current: () => BackendRuntime | undefined) {
  return new BackendRuntime(makeBackend(spec), { logger: captureLogger().logger, previous, successor: () => current() });
}

test('servers kept by identity carry state, slots and counters; settings change in place', () => {
  let live: BackendRuntime | undefined;
  const old = new BackendRuntime(
    makeBackend({
      servers: [
        { name: 'a', port: 9001, maxconn: 2 },
        { name: 'b', port: 9002 },
      ],
    }),
    { logger: captureLogger().logger, successor: () => live },
  );
  const slot = old.tryAcquire(ctx())!;
  assert.equal(slot.server.config.name, 'a');
  old.applyState('app/b@127.0.0.1:9002', 'down', { kind: 'check', detail: 'status 500' });
  live = next(
    {
      servers: [
        { name: 'a', port: 9001, maxconn: 1, weight: 3 },
        { name: 'b', port: 9002 },
        { name: 'c', port: 9003 },
      ],
    },
    old,
    () => live,
  );
  const a = live.server('a')!;
  assert.equal(a, old.server('a'), 'the same server object');
  assert.equal(a.active, 1, 'its slot in flight counts');
  assert.equal(a.counters.requests, 1);
  assert.equal(a.config.weight, 3, 'new settings apply');
  assert.equal(a.available(), false, 'the new maxconn 1 is reached');
  assert.equal(live.server('b')!.operational, 'down', 'health carried');
  // The old runtime no longer hears its servers; a release through it reaches the live one.
  slot.release();
  assert.equal(a.active, 0);
  assert.equal(old.tryAcquire(ctx())?.server.config.name !== undefined, true, 'a retry through the old runtime selects from the live one');
});

test('queued requests carry over: a removed server retires, its waiters go to a new server at once', async () => {
  const old = new BackendRuntime(makeBackend({ servers: [{ name: 'a', port: 9001, maxconn: 1 }], timeouts: { queue: 60_000 } }), {
    logger: captureLogger().logger,
  });
  const held = old.tryAcquire(ctx())!;
  const waiting = [1, 2].map(() => old.acquire(ctx()).then((s) => s.server.config.name));
  assert.equal(old.queueLength, 2);
  let live: BackendRuntime | undefined;
  live = next({ servers: [{ name: 'z', port: 9009 }], timeouts: { queue: 60_000 } }, old, () => live);
  assert.equal(live.queueLength, 2, 'the queue is the same');
  assert.equal(held.server.retired, true, 'the removed server retired');
  live.serveQueue();
  assert.deepEqual(await Promise.all(waiting), ['z', 'z']);
  held.release();
});

test('a removed backend turns its waiters away at once with NO_SERVER; retries through it find nothing', async () => {
  const old = new BackendRuntime(makeBackend({ servers: [{ name: 'a', port: 9001, maxconn: 1 }], timeouts: { queue: 60_000 } }), {
    logger: captureLogger().logger,
  });
  old.tryAcquire(ctx());
  const waiter = old.acquire(ctx());
  old.remove();
  await assert.rejects(waiter, (e: unknown) => e instanceof HandoffError && e.code === 'HANDOFF_ERR_NO_SERVER');
  assert.equal(old.tryAcquire(ctx()), undefined);
  await assert.rejects(old.acquire(ctx()), (e: unknown) => e instanceof HandoffError && e.code === 'HANDOFF_ERR_NO_SERVER');
});
