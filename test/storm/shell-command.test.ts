import { test } from 'node:test';
import assert from 'node:assert/strict';
import { isSimpleCommand } from '../../src/storm/shell-command.js';

test('simple commands are exec-ed by the shell (no idle sh above the proxy); compound ones are not', () => {
  for (const c of ['haproxy -W -db -f /tmp/c.cfg', `nginx -c /tmp/n.conf -g 'daemon off;'`, 'python3 "a b.py" --x=$HOME'])
    assert.equal(isSimpleCommand(c), true, c);
  for (const c of [
    'haproxy -f c -sf $(cat p)',
    'a; b',
    'a && b',
    'a | b',
    'a > log',
    'a &',
    'exec a',
    'if true; then a; fi',
    "a 'unclosed",
  ])
    assert.equal(isSimpleCommand(c), false, c);
});
