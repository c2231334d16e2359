import { test } from 'node:test';
import assert from 'node:assert/strict';
import { DEFAULT_RELOADS, StormUsageError, stormOptions } from '../../src/storm/options.js';
import { loopbackAddress } from '../../src/storm/loopback.js';

test('defaults for handoff: 10 reloads a second apart, 2+2+1 clients, 5 s timeout, 30 probes', () => {
  const o = stormOptions({ file: 'h.yaml' });
  assert.deepEqual(o.target, { kind: 'handoff', template: 'h.yaml' });
  assert.equal(o.reloads, DEFAULT_RELOADS);
  assert.equal(o.intervalMs, 1000);
  assert.deepEqual([o.keepalive, o.fresh, o.websocket, o.timeoutMs, o.probe, o.rate], [2, 2, 1, 5000, 30, 0]);
});

test('a command target: reload by signal, routes, backends, durations', () => {
  const o = stormOptions({
    start: 'nginx',
    'reload-signal': 'hup',
    'pid-file': '{dir}/n.pid',
    frontend: ['127.0.0.1:${port.web}'],
    route: ['a.test=a+a2'],
    backend: ['x=127.0.0.1:9000'],
    duration: '5s',
    interval: '100ms',
  });
  assert.equal(o.target.kind, 'command');
  assert.deepEqual(o.target.kind === 'command' && o.target.reload, { signal: 'SIGHUP', pidFile: '{dir}/n.pid' });
  assert.deepEqual(o.routes, [{ host: 'a.test', backends: ['a', 'a2'] }]);
  assert.deepEqual(o.backends, { x: '127.0.0.1:9000' });
  assert.equal(o.durationMs, 5000);
  assert.ok(o.reloads > 1000, '--duration alone: reloads until the time is up');
});

test('usage errors say what is wrong', () => {
  const bad: [Record<string, unknown>, RegExp][] = [
    [{}, /-f CONFIG .* --start CMD/],
    [{ file: 'h', start: 'x' }, /--start/],
    [{ start: 'x', frontend: ['127.0.0.1:1'] }, /--reload CMD/],
    [{ start: 'x', reload: 'y' }, /--frontend/],
    [{ start: 'x', 'reload-signal': 'HUP', frontend: ['127.0.0.1:1'] }, /--pid-file/],
    [{ start: 'x', 'reload-signal': 'NOPE', 'pid-file': 'p', frontend: ['127.0.0.1:1'] }, /unknown signal/],
    [{ file: 'h', interval: '5' }, /--interval/],
    [{ file: 'h', keepalive: '-1' }, /--keepalive/],
    [{ file: 'h', keepalive: '0', fresh: '0', websocket: '0' }, /no clients/],
    [{ file: 'h', route: ['nohost'] }, /--route/],
  ];
  for (const [values, re] of bad)
    assert.throws(
      () => stormOptions(values),
      (err: Error) => err instanceof StormUsageError && re.test(err.message),
      JSON.stringify(values),
    );
});

test('only loopback addresses', () => {
  assert.equal(loopbackAddress('127.0.0.9:80', 'x').key, '127.0.0.9:80');
  assert.equal(loopbackAddress('[::1]:80', 'x').key, '[::1]:80');
  assert.throws(() => loopbackAddress('10.0.0.1:80', '--frontend'), /--frontend: 10\.0\.0\.1:80 is not a loopback address/);
  assert.throws(() => loopbackAddress('0.0.0.0:80', '--frontend'), /wildcard/);
});
