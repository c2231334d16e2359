// Which certificate answers a server name: exact names first, then a wildcard that covers
// exactly one label, else the default (the first certificate); names compare without case
// and without a trailing dot; among certificates that claim the same name, the first wins.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { CertificateSelector, nameCovers } from '../../src/tls/sni-match.js';

const selector = new CertificateSelector(
  [
    { names: ['default.test'], value: 'default' },
    { names: ['a.test', '*.w.test'], value: 'a' },
    { names: ['x.w.test'], value: 'x' },
    { names: ['a.test', '*.w.test'], value: 'later' },
  ],
  'default',
);

test('exact names, then a one-label wildcard, else the default', () => {
  assert.equal(selector.select('a.test'), 'a');
  assert.equal(selector.select('A.TEST.'), 'a');
  assert.equal(selector.select('x.w.test'), 'x'); // exact beats wildcard
  assert.equal(selector.select('y.w.test'), 'a');
  assert.equal(selector.select('deep.y.w.test'), 'default');
  assert.equal(selector.select('w.test'), 'default');
  assert.equal(selector.select('unknown.test'), 'default');
  assert.equal(selector.select(''), 'default');
  assert.equal(selector.select(undefined), 'default');
});

test('nameCovers', () => {
  assert.equal(nameCovers('*.w.test', 'a.w.test'), true);
  assert.equal(nameCovers('*.w.test', 'a.b.w.test'), false);
  assert.equal(nameCovers('*.w.test', 'w.test'), false);
  assert.equal(nameCovers('A.test', 'a.TEST.'), true);
});
