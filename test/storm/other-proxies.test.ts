// docs/storm.md's HAProxy and nginx examples, run for real when those proxies are
// installed: storm drives them through the same phases as handoff. What they do to
// keep-alive clients differs by version (see the doc), so this checks what the examples
// promise: every reload done, one listening socket, the new route served, nothing left.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { stopAll } from '../helpers/processes.js';
import { fixture, running, stormJson, summary } from './storm-run.js';

after(() => stopAll());

// HAProxy and nginx reload on a signal with no word of when they are done: the probes wait
// long enough for a reload to finish on a loaded machine (the test files run two at a time).
const common = [
  '--frontend',
  '127.0.0.1:${port.web}',
  '--route',
  'a.storm.test=a',
  '--probe-host',
  'new.storm.test',
  '--probe-after',
  '3s',
  '--interval',
  '200ms',
  '--reloads',
  '5',
  '--rate',
  '50',
  '--probe',
  '10',
  '--drain-deadline',
  '5s',
];

async function check(args: string[]): Promise<void> {
  const { code, report, stderr } = await stormJson(args);
  const why = summary(report, stderr);
  assert.ok(report, why);
  assert.ok(code === 0 || code === 1, why);
  assert.equal(report.reloads.failed, 0, why);
  assert.equal(report.listeners.perAddress[0]?.max, 1, why);
  assert.ok(report.requests.ok > 0, why);
  assert.equal(report.probe?.reachedNew, 10, why);
  assert.deepEqual(report.processes.leftovers, [], why);
  for (const p of report.processes.seen) assert.equal(running(p), false, `pid ${p.pid} still running`);
}

test('HAProxy in master-worker mode, reloaded by SIGUSR2', {
  skip: existsSync('/usr/sbin/haproxy') ? false : 'haproxy is not installed',
}, async () => {
  await check([
    '--config',
    fixture('haproxy.cfg'),
    '--config-next',
    fixture('haproxy-next.cfg'),
    '--start',
    '/usr/sbin/haproxy -W -db -f {config} -p {pidfile}',
    '--reload-signal',
    'USR2',
    '--pid-file',
    '{pidfile}',
    ...common,
  ]);
});

test('nginx, reloaded by SIGHUP', { skip: existsSync('/usr/sbin/nginx') ? false : 'nginx is not installed' }, async () => {
  await check([
    '--config',
    fixture('nginx.conf'),
    '--config-next',
    fixture('nginx-next.conf'),
    '--start',
    "/usr/sbin/nginx -p {dir} -c {config} -e {dir}/nginx-error.log -g 'daemon off;'",
    '--reload-signal',
    'HUP',
    '--pid-file',
    '${storm.dir}/nginx.pid',
    ...common,
  ]);
});
