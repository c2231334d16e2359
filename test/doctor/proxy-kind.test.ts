import { test } from 'node:test';
import assert from 'node:assert/strict';
import { describeProxy, identifyProxy } from '../../src/doctor/proxy-kind.js';

test('haproxy, envoy and nginx from their command lines (nginx retitles its processes)', () => {
  assert.deepEqual(identifyProxy(['/usr/sbin/haproxy', '-f', '/etc/haproxy/haproxy.cfg', '-db', '-sf', '101']), {
    kind: 'haproxy',
    role: 'unknown',
  });
  assert.deepEqual(identifyProxy(['haproxy-2.8', '-W', '-f', 'x.cfg']), { kind: 'haproxy', role: 'unknown' });
  assert.deepEqual(identifyProxy(['/usr/sbin/haproxy-systemd-wrapper', '-f', 'x.cfg']), { kind: 'haproxy', role: 'master' });
  assert.deepEqual(identifyProxy(['nginx: master process /usr/sbin/nginx -g daemon off;']), { kind: 'nginx', role: 'master' });
  assert.deepEqual(identifyProxy(['nginx: worker process']), { kind: 'nginx', role: 'worker' });
  assert.deepEqual(identifyProxy(['nginx: worker process is shutting down']), { kind: 'nginx', role: 'worker', shuttingDown: true });
  assert.deepEqual(identifyProxy(['nginx: cache manager process']), { kind: 'nginx', role: 'helper' });
  assert.deepEqual(identifyProxy(['/usr/sbin/nginx', '-g', 'daemon off;']), { kind: 'nginx', role: 'unknown' });
  assert.deepEqual(identifyProxy(['/usr/local/bin/envoy', '-c', 'envoy.yaml', '--restart-epoch', '3']), {
    kind: 'envoy',
    role: 'single',
    generation: 3,
  });
  assert.deepEqual(identifyProxy(['envoy', '--restart-epoch=0']), { kind: 'envoy', role: 'single', generation: 0 });
});

test('handoff master and workers (the worker command line is the master/worker contract)', () => {
  assert.deepEqual(identifyProxy(['node', '/opt/handoff/bin/handoff.js', 'start', '-f', 'handoff.yaml']), {
    kind: 'handoff',
    role: 'master',
  });
  assert.deepEqual(identifyProxy(['/usr/bin/node', '--enable-source-maps', '/srv/app/dist/src/cli/entry.js', 'start']), {
    kind: 'handoff',
    role: 'master',
  });
  assert.deepEqual(identifyProxy(['node', '/usr/local/bin/handoff', 'start']), { kind: 'handoff', role: 'master' });
  assert.deepEqual(identifyProxy(['handoff', 'start']), { kind: 'handoff', role: 'master' });
  assert.deepEqual(identifyProxy(['node', '/srv/app/dist/src/worker/main.js', '--generation', '7', '--master', '4242']), {
    kind: 'handoff',
    role: 'worker',
    generation: 7,
    masterPid: 4242,
  });
  assert.deepEqual(identifyProxy(['node', '/tmp/out/src/worker/main.js', '--generation=2', '--master=9']), {
    kind: 'handoff',
    role: 'worker',
    generation: 2,
    masterPid: 9,
  });
  // other handoff commands and other programs are not proxies
  assert.equal(identifyProxy(['node', '/srv/app/dist/src/cli/entry.js', 'doctor', '--port', '80']), null);
  assert.equal(identifyProxy(['node', '/srv/app/dist/src/cli/entry.js', 'echo', '--port', '0']), null);
  assert.equal(identifyProxy(['vim', '/srv/app/dist/src/cli/entry.js', 'start']), null);
  assert.equal(identifyProxy(['python3', '-m', 'http.server']), null);
  assert.equal(identifyProxy([]), null);
});

test('describeProxy for the KIND column', () => {
  assert.equal(describeProxy(null), '-');
  assert.equal(describeProxy({ kind: 'haproxy', role: 'unknown' }), 'haproxy');
  assert.equal(describeProxy({ kind: 'handoff', role: 'worker', generation: 3, masterPid: 1 }), 'handoff worker gen 3');
  assert.equal(describeProxy({ kind: 'envoy', role: 'single', generation: 2 }), 'envoy epoch 2');
  assert.equal(describeProxy({ kind: 'nginx', role: 'worker', shuttingDown: true }), 'nginx worker (shutting down)');
});
