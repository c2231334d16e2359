import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ServerRuntime } from '../../src/backend/server-runtime.js';
import type { StateChange } from '../../src/backend/types.js';
import { captureLogger, makeRuntime, makeServer } from './make-backend.js';

test('initial state: up without active checks, starting with them', () => {
  assert.equal(makeRuntime({ servers: ['a'] }).rt.server('a')!.operational, 'up');
  const { rt } = makeRuntime({ servers: ['a'], health: { type: 'tcp' } });
  const a = rt.server('a')!;
  assert.equal(a.operational, 'starting');
  assert.equal(a.usable(), false, 'a starting server takes no traffic');
  assert.equal(rt.tryAcquire({ clientAddress: '', uri: '' }), undefined);
  assert.equal(rt.hasUsable(), false);
});

test('usable and available: up, ready, weight > 0, below maxconn', () => {
  const { logger } = captureLogger();
  const s = new ServerRuntime(makeServer({ name: 'a', maxconn: 2 }, 0), 'app', { initial: 'up', logger });
  const cause = { kind: 'admin', detail: 't' } as const;
  assert.ok(s.usable() && s.available());
  s.takeSlot();
  s.takeSlot();
  assert.ok(s.usable() && !s.available(), 'at maxconn: usable, not available');
  s.releaseSlot();
  assert.ok(s.available());
  s.setState({ admin: 'drain' }, cause);
  assert.ok(!s.usable() && !s.available(), 'drain takes no new traffic');
  assert.equal(s.active, 1, 'existing slots continue');
  s.setState({ admin: 'ready', operational: 'down' }, cause);
  assert.ok(!s.usable());
  const zero = new ServerRuntime(makeServer({ name: 'z', weight: 0 }, 0), 'app', { initial: 'up', logger });
  assert.ok(!zero.usable() && !zero.available());
  assert.equal(s.counters.requests, 2);
});

test('setState emits one StateChange and logs one line with from, to and cause', () => {
  const { logger, lines } = captureLogger();
  const s = new ServerRuntime(makeServer({ name: 'a1', port: 9001 }, 0), 'app', { initial: 'starting', logger });
  const changes: StateChange[] = [];
  const off = s.onStateChange((c) => changes.push(c));
  assert.equal(s.setState({ operational: 'down' }, { kind: 'check', detail: 'connect ECONNREFUSED' }), true);
  assert.equal(s.setState({ operational: 'down' }, { kind: 'check', detail: 'again' }), false, 'no change, no event');
  assert.equal(changes.length, 1);
  const c = changes[0]!;
  assert.equal(c.backend, 'app');
  assert.equal(c.server, 'a1');
  assert.equal(c.address, '127.0.0.1:9001');
  assert.deepEqual(c.from, { operational: 'starting', admin: 'ready' });
  assert.deepEqual(c.to, { operational: 'down', admin: 'ready' });
  assert.deepEqual(c.cause, { kind: 'check', detail: 'connect ECONNREFUSED' });
  assert.equal(lines.length, 1);
  assert.match(
    lines[0]!,
    /warn +backend server state changed backend=app server=a1 address=127\.0\.0\.1:9001 from=starting\/ready to=down\/ready cause=check detail="connect ECONNREFUSED"/,
  );
  s.setState({ admin: 'maint' }, { kind: 'admin', detail: 'operator' });
  assert.equal(changes.length, 2);
  assert.match(lines[1]!, /info .* from=down\/ready to=down\/maint cause=admin detail=operator/);
  off();
  s.setState({ admin: 'ready' }, { kind: 'admin', detail: 'operator' });
  assert.equal(changes.length, 2, 'unsubscribed');
  assert.equal(s.counters.stateChanges, 3);
});
