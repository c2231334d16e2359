import { test } from 'node:test';
import assert from 'node:assert/strict';
import { healthKey } from '../../src/backend/health-key.js';
import type { StateChange } from '../../src/backend/types.js';
import { address, makeRuntime } from './make-backend.js';

const check = (detail: string) => ({ kind: 'check', detail }) as const;

test('health survives a reload for servers whose name and address stay', () => {
  const { rt: old } = makeRuntime({
    servers: [
      { name: 'a', port: 9001 },
      { name: 'b', port: 9002 },
      { name: 'c', port: 9003 },
      { name: 'e', port: 9005 },
    ],
    health: { type: 'http' },
  });
  old.applyState('app/a@127.0.0.1:9001', 'up', check('status 200'));
  old.applyState(old.server('b')!, 'down', check('status 503'));
  old.applyState('app/c@127.0.0.1:9003', 'up', check('status 200'));
  old.applyState('app/e@127.0.0.1:9005', 'down', check('connect ECONNREFUSED'));
  assert.equal(old.applyState('app/nope@127.0.0.1:1', 'up', check('x')), false, 'unknown key ignored');
  const snapshot = JSON.parse(JSON.stringify(old.exportHealth())); // as it travels over IPC
  assert.equal(snapshot.servers['app/a@127.0.0.1:9001'].operational, 'up');
  const sinceA = snapshot.servers['app/a@127.0.0.1:9001'].since;

  // New config: b removed, c moved to another port, d added, a and e unchanged.
  const { rt: next } = makeRuntime({
    servers: [
      { name: 'a', port: 9001 },
      { name: 'c', port: 9013 },
      { name: 'd', port: 9004 },
      { name: 'e', port: 9005 },
    ],
    health: { type: 'http' },
  });
  const changes: StateChange[] = [];
  next.onStateChange((c) => changes.push(c));
  next.importHealth(snapshot);
  assert.equal(next.server('a')!.operational, 'up');
  assert.equal(next.server('a')!.since, sinceA, 'the state keeps its age');
  assert.equal(next.server('e')!.operational, 'down');
  assert.equal(next.server('c')!.operational, 'starting', 'a new address is a new server');
  assert.equal(next.server('d')!.operational, 'starting');
  assert.deepEqual(
    changes.map((c) => [c.server, c.to.operational, c.cause.kind]),
    [
      ['a', 'up', 'snapshot'],
      ['e', 'down', 'snapshot'],
    ],
  );
  assert.equal(next.server('c')!.key, healthKey('app', { name: 'c', address: address(9013) }));
  assert.equal(next.currentState('app/a@127.0.0.1:9001'), 'up');
  assert.equal(next.currentState('app/b@127.0.0.1:9002'), undefined);
});

test('without active checks a server known down stays down after a reload', () => {
  const { rt: old } = makeRuntime({ servers: ['a', 'b'] });
  old.applyState(old.server('a')!, 'down', { kind: 'passive', detail: '3 consecutive connect failures' });
  const { rt: next } = makeRuntime({ servers: ['a', 'b'] });
  next.importHealth(old.exportHealth());
  assert.equal(next.server('a')!.operational, 'down');
  assert.equal(next.server('b')!.operational, 'up');
  // A server of another runtime is not ours.
  assert.equal(next.applyState(old.server('b')!, 'down', check('x')), false);
  assert.equal(next.server('b')!.operational, 'up');
  const stats = next.stats();
  assert.equal(stats.totals.serversUp, 1);
  assert.equal(stats.servers[0]!.operational, 'down');
});
