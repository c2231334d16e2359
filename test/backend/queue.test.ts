import { test } from 'node:test';
import assert from 'node:assert/strict';
import { HandoffError } from '../../src/lib/errors.js';
import type { Slot } from '../../src/backend/types.js';
import { WaitQueue } from '../../src/backend/queue.js';
import { ctx, makeRuntime } from './make-backend.js';

const admin = { kind: 'admin', detail: 'test' } as const;

/** Resolves with the error a promise rejects with (fails if it resolves). */
async function rejection(p: Promise<unknown>): Promise<HandoffError> {
  try {
    await p;
  } catch (err) {
    assert.ok(err instanceof HandoffError, `a HandoffError: ${String(err)}`);
    return err;
  }
  assert.fail('expected a rejection');
}

/** True once p has settled (checked after a macrotask turn). */
async function settled(p: Promise<unknown>): Promise<boolean> {
  let done = false;
  p.then(
    () => (done = true),
    () => (done = true),
  );
  await new Promise((r) => setImmediate(r));
  return done;
}

test('maxconn 1: waiters are served in arrival order as slots are released', { timeout: 10_000 }, async () => {
  const { rt } = makeRuntime({ servers: [{ name: 'a', maxconn: 1 }] });
  const first = rt.tryAcquire(ctx())!;
  assert.ok(first);
  assert.equal(first.queuedMs, 0);
  assert.equal(rt.tryAcquire(ctx()), undefined, 'the fast path never queues');
  assert.equal(rt.hasUsable(), true);
  const order: number[] = [];
  const waiters = [1, 2, 3].map((n) =>
    rt.acquire(ctx()).then((slot) => {
      order.push(n);
      return slot;
    }),
  );
  assert.equal(rt.queueLength, 3);
  assert.equal(await settled(waiters[0]!), false, 'waits while the slot is held');
  await new Promise((r) => setTimeout(r, 20));
  first.release();
  first.release(); // idempotent: frees one slot only
  const s1 = await waiters[0]!;
  assert.equal(await settled(waiters[1]!), false);
  assert.ok(s1.queuedMs >= 15, `queuedMs ${s1.queuedMs}`);
  s1.release();
  const s2 = await waiters[1]!;
  s2.release();
  const s3 = await waiters[2]!;
  assert.deepEqual(order, [1, 2, 3]);
  assert.equal(rt.server('a')!.active, 1);
  s3.release();
  assert.equal(rt.server('a')!.active, 0);
  assert.equal(rt.queueLength, 0);
  assert.equal(rt.stats().queue.queued, 3);
});

test('a waiter past timeouts.queue rejects with QUEUE_TIMEOUT in about that time', { timeout: 10_000 }, async () => {
  const { rt } = makeRuntime({ servers: [{ name: 'a', maxconn: 1 }], timeouts: { queue: 300 } });
  const held = rt.tryAcquire(ctx())!;
  const started = Date.now();
  const err = await rejection(rt.acquire(ctx()));
  const elapsed = Date.now() - started;
  assert.equal(err.code, 'HANDOFF_ERR_QUEUE_TIMEOUT');
  assert.equal(err.source, 'server');
  assert.ok(elapsed >= 250 && elapsed < 3000, `rejected after ${elapsed}ms`);
  assert.equal(rt.queueLength, 0);
  assert.equal(rt.stats().queue.timeouts, 1);
  held.release();
});

test('maxqueue 1 turns the third request away at once with QUEUE_FULL', { timeout: 10_000 }, async () => {
  const { rt } = makeRuntime({ servers: [{ name: 'a', maxconn: 1 }], maxqueue: 1, timeouts: { queue: 5000 } });
  const held = rt.tryAcquire(ctx())!;
  const second = rt.acquire(ctx());
  const err = await rejection(rt.acquire(ctx()));
  assert.equal(err.code, 'HANDOFF_ERR_QUEUE_FULL');
  assert.equal(err.source, 'server');
  assert.equal(await settled(second), false, 'the second still waits');
  held.release();
  (await second).release();
  assert.equal(rt.stats().queue.full, 1);
});

test('an aborted signal removes the waiter', { timeout: 10_000 }, async () => {
  const { rt } = makeRuntime({ servers: [{ name: 'a', maxconn: 1 }] });
  const held = rt.tryAcquire(ctx())!;
  const ac = new AbortController();
  const waiting = rt.acquire(ctx(), { signal: ac.signal });
  const behind = rt.acquire(ctx());
  assert.equal(rt.queueLength, 2);
  ac.abort();
  const err = await rejection(waiting);
  assert.equal(err.code, 'HANDOFF_ERR_CLIENT_ABORT');
  assert.equal(err.source, 'client');
  assert.equal(rt.queueLength, 1);
  held.release();
  const slot = await behind;
  assert.equal(rt.server('a')!.active, 1, 'the aborted waiter took no slot');
  slot.release();
  // Already aborted: rejected at once, nothing queued.
  const err2 = await rejection(rt.acquire(ctx(), { signal: AbortSignal.abort() }));
  assert.equal(err2.code, 'HANDOFF_ERR_CLIENT_ABORT');
  assert.equal(rt.queueLength, 0);
});

test('close() rejects every waiter with NO_SERVER', { timeout: 10_000 }, async () => {
  const { rt } = makeRuntime({ servers: [{ name: 'a', maxconn: 1 }] });
  const held = rt.tryAcquire(ctx())!;
  const waiters = [rt.acquire(ctx()), rt.acquire(ctx())];
  rt.close();
  for (const w of waiters) assert.equal((await rejection(w)).code, 'HANDOFF_ERR_NO_SERVER');
  assert.equal(rt.queueLength, 0);
  assert.equal((await rejection(rt.acquire(ctx()))).code, 'HANDOFF_ERR_NO_SERVER');
  held.release();
});

test('no usable server: NO_SERVER at once; all excluded: NO_SERVER at once', { timeout: 10_000 }, async () => {
  const { rt } = makeRuntime({ servers: ['a', 'b'] });
  const tried = new Set<Slot['server']>([rt.server('a')!, rt.server('b')!]);
  const e1 = await rejection(rt.acquire(ctx(), { exclude: tried }));
  assert.equal(e1.code, 'HANDOFF_ERR_NO_SERVER');
  assert.equal(e1.source, 'server');
  rt.server('a')!.setState({ operational: 'down' }, admin);
  rt.server('b')!.setState({ admin: 'maint' }, admin);
  assert.equal(rt.hasUsable(), false);
  assert.equal((await rejection(rt.acquire(ctx()))).code, 'HANDOFF_ERR_NO_SERVER');
  assert.equal(rt.stats().totals.noServer, 2);
});

test('retries: exclude skips the failed server', { timeout: 10_000 }, async () => {
  const { rt } = makeRuntime({ servers: ['a', 'b', 'c'] });
  const tried = new Set<Slot['server']>();
  const names: string[] = [];
  for (let i = 0; i <= rt.config.retries; i++) {
    const slot = rt.tryAcquire(ctx(), tried) ?? (await rt.acquire(ctx(), { exclude: tried }));
    names.push(slot.server.config.name);
    slot.connectFailed('ECONNREFUSED');
    tried.add(slot.server);
    slot.release();
  }
  assert.deepEqual([...names].sort(), ['a', 'b', 'c']);
});

test('a waiter is served when a server comes up, and turned away when none is left', { timeout: 10_000 }, async () => {
  const { rt } = makeRuntime({ servers: [{ name: 'a', maxconn: 1 }, 'b'] });
  const b = rt.server('b')!;
  b.setState({ operational: 'down' }, admin);
  const held = rt.tryAcquire(ctx())!;
  const waiting = rt.acquire(ctx());
  assert.equal(await settled(waiting), false);
  b.setState({ operational: 'up' }, admin);
  const slot = await waiting;
  assert.equal(slot.server, b);
  slot.release();

  b.setState({ operational: 'down' }, admin);
  const doomed = rt.acquire(ctx());
  assert.equal(await settled(doomed), false);
  rt.server('a')!.setState({ admin: 'maint' }, admin);
  assert.equal((await rejection(doomed)).code, 'HANDOFF_ERR_NO_SERVER');
  held.release();
});

test('WaitQueue: every waiter is bounded; serve visits oldest first', { timeout: 10_000 }, async () => {
  const q = new WaitQueue<number, string>({ backend: 'q', timeoutMs: 5000 });
  const ps = [1, 2, 3].map((n) => q.wait(n));
  const seen: number[] = [];
  q.serve((w) => {
    seen.push(w.ticket);
    if (w.ticket === 2) w.grant('two');
    return true;
  });
  assert.deepEqual(seen, [1, 2, 3]);
  assert.equal(await ps[1], 'two');
  assert.equal(q.length, 2);
  q.serve((w) => {
    w.fail(new Error(`no ${w.ticket}`));
    return false; // stop after the first
  });
  await assert.rejects(ps[0]!, /no 1/);
  assert.equal(q.length, 1);
  q.rejectAll(new Error('bye'));
  await assert.rejects(ps[2]!, /bye/);
  // timeoutMs 0: no waiting at all.
  const zero = new WaitQueue<number, string>({ backend: 'q', timeoutMs: 0 });
  assert.equal((await rejection(zero.wait(1))).code, 'HANDOFF_ERR_QUEUE_TIMEOUT');
});
