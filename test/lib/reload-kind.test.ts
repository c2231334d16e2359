// Which kind of reload a config change needs.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { chooseReloadKind } from '../../src/master/reload-kind.js';
import type { Config } from '../../src/config/types.js';

const base = { source: '/etc/handoff.yaml', hash: 'aaa', workers: 2, log: { target: 'stdout' } } as unknown as Config;
const running = { runningVersion: '1.0.0', diskVersion: '1.0.0', restart: false };

test('the same file and hash: unchanged; a restart asked: process whatever the change', () => {
  assert.equal(chooseReloadKind(base, { ...base }, running).kind, 'unchanged');
  assert.equal(chooseReloadKind(base, { ...base }, { ...running, restart: true }).kind, 'process');
});

test('routes, servers, rules (another hash): live; another file with the same bytes: live', () => {
  assert.equal(chooseReloadKind(base, { ...base, hash: 'bbb' }, running).kind, 'live');
  assert.equal(chooseReloadKind(base, { ...base, source: '/etc/other.yaml' }, running).kind, 'live');
});

test('what a running worker cannot change in itself needs new processes', () => {
  assert.deepEqual(chooseReloadKind(base, { ...base, hash: 'b', workers: 3 }, running), { kind: 'process', reason: 'workers 2 → 3' });
  assert.equal(chooseReloadKind(base, { ...base, hash: 'b', log: { target: 'off' } } as Config, running).kind, 'process');
  const upgraded = chooseReloadKind(base, { ...base }, { ...running, diskVersion: '1.1.0' });
  assert.deepEqual(upgraded, { kind: 'process', reason: 'handoff 1.1.0 on disk (running 1.0.0)' });
});

test('log.format alone is applied live; another log buffer needs new processes', () => {
  assert.equal(
    chooseReloadKind(base, { ...base, hash: 'b', log: { target: 'stdout', format: 'combined' } } as Config, running).kind,
    'live',
  );
  assert.equal(chooseReloadKind(base, { ...base, hash: 'b', log: { target: 'stdout', buffer: 4096 } } as Config, running).kind, 'process');
});
