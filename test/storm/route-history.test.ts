import { test } from 'node:test';
import assert from 'node:assert/strict';
import { RouteHistory } from '../../src/storm/route-history.js';

const sorted = (s: ReadonlySet<string> | null) => (s === null ? null : [...s].sort());

test('around a switch either config may answer; after the reload returned only the new one', () => {
  const h = new RouteHistory(new Map([['k', new Set(['a'])]]));
  assert.deepEqual(sorted(h.allowed('k', 0, 10)), ['a']);
  const sw = h.switchTo(new Map([['k', new Set(['b'])]]), 100);
  sw.done(150);
  assert.deepEqual(sorted(h.allowed('k', 50, 90)), ['a'], 'answered before the reload was asked for');
  assert.deepEqual(sorted(h.allowed('k', 90, 120)), ['a', 'b'], 'in flight during the reload');
  assert.deepEqual(sorted(h.allowed('k', 160, 170)), ['b'], 'sent after the reload returned');
});

test('a failed switch never counts; null means not checked', () => {
  const h = new RouteHistory(
    new Map<string, ReadonlySet<string> | null>([
      ['k', new Set(['a'])],
      ['free', null],
    ]),
  );
  h.switchTo(new Map([['k', new Set(['b'])]]), 100).failed();
  assert.deepEqual(sorted(h.allowed('k', 200, 300)), ['a']);
  assert.equal(h.allowed('free', 0, 1), null);
});
