import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { StateChange } from '../../src/backend/types.js';
import { waitUntil } from '../helpers/wait.js';
import { ctx, makeRuntime } from './make-backend.js';

test('3 connect failures mark a server down (cause passive); the cooldown brings it back', { timeout: 10_000 }, async () => {
  const { rt, lines } = makeRuntime({ servers: ['a', 'b'], passive: { fall: 3, cooldown: 200 } });
  const changes: StateChange[] = [];
  rt.onStateChange((c) => changes.push(c));
  const a = rt.server('a')!;
  for (let i = 0; i < 3; i++) {
    assert.equal(a.operational, 'up', `still up after ${i} failures`);
    const slot = rt.tryAcquire(ctx(), new Set([rt.server('b')!]))!;
    assert.equal(slot.server, a);
    slot.connectFailed('connect ECONNREFUSED');
    slot.release();
  }
  assert.equal(a.operational, 'down');
  assert.equal(changes.length, 1);
  assert.equal(changes[0]!.cause.kind, 'passive');
  assert.match((changes[0]!.cause as { detail: string }).detail, /3 consecutive connect failures, last: connect ECONNREFUSED/);
  assert.ok(
    lines.some((l) => /server=a .*to=down\/ready cause=passive/.test(l)),
    lines.join('\n'),
  );
  assert.equal(rt.stats().servers[0]!.connectFailures, 3);
  // Traffic goes to b meanwhile.
  assert.equal(rt.tryAcquire(ctx())!.server.config.name, 'b');
  await waitUntil('a back up after the cooldown', () => a.operational === 'up', 5000);
  assert.deepEqual(changes[1]!.cause, { kind: 'passive', detail: 'cooldown elapsed' });
  rt.close();
});

test('a success resets the count; fall 0 disables passive health', () => {
  const { rt } = makeRuntime({ servers: ['a'], passive: { fall: 3, cooldown: 100 } });
  const a = rt.server('a')!;
  const fail = () => {
    const s = rt.tryAcquire(ctx())!;
    s.connectFailed('x');
    s.release();
  };
  fail();
  fail();
  const ok = rt.tryAcquire(ctx())!;
  ok.connectSucceeded();
  ok.release();
  fail();
  fail();
  assert.equal(a.operational, 'up');
  assert.equal(a.passiveFailures, 2);

  const { rt: off } = makeRuntime({ servers: ['a'], passive: { fall: 0, cooldown: 100 } });
  for (let i = 0; i < 10; i++) {
    const s = off.tryAcquire(ctx())!;
    s.connectFailed('x');
    s.release();
  }
  assert.equal(off.server('a')!.operational, 'up');
  rt.close();
});

test('with active checks a passive down waits for the checks, not a cooldown', { timeout: 10_000 }, async () => {
  const { rt } = makeRuntime({ servers: ['a'], health: { type: 'tcp' }, passive: { fall: 1, cooldown: 50 } });
  const a = rt.server('a')!;
  rt.applyState(a, 'up', { kind: 'check', detail: 'connected' });
  const s = rt.tryAcquire(ctx())!;
  s.connectFailed('x');
  s.release();
  assert.equal(a.operational, 'down');
  // Several cooldowns pass: still down (only a check may bring it back).
  await new Promise((r) => setTimeout(r, 250));
  assert.equal(a.operational, 'down');
  rt.close();
});
