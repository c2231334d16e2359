// storm against docs/origin.md's HAProxy in miniature (fixtures/reuseport-proxy.py): every reload
// starts a new process that binds the port next to the old ones with SO_REUSEPORT, and no
// old one ever stops. storm must see the listener split, the leftover processes and the
// probes of the new route answered 503 by old processes, and exit 1; and it must still
// stop every one of those daemons when it is done.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { stopAll } from '../helpers/processes.js';
import { skipWithoutPython } from '../doctor/python.js';
import { brokenProxyArgs, running, stormJson, summary } from './storm-run.js';

after(() => stopAll());

test('a proxy that piles up SO_REUSEPORT processes: split, leftovers and 503 probes reported, exit 1', {
  skip: skipWithoutPython,
}, async () => {
  const { code, report, stderr } = await stormJson(
    brokenProxyArgs(['--interval', '200ms', '--reloads', '5', '--keepalive', '2', '--fresh', '2', '--rate', '50', '--probe', '30']),
  );
  const why = summary(report, stderr);
  assert.ok(report, why);
  assert.equal(code, 1, why);
  assert.equal(report.verdict, 'problem');
  assert.equal(report.reloads.failed, 0, why);

  // the listener split: six processes end up listening on one address
  const [listener] = report.listeners.perAddress;
  assert.ok(listener, why);
  assert.ok(listener.max >= 2, why);
  assert.ok(report.samples.some((s) => s.listen[0]! > 1));
  assert.ok(
    report.problems.some((p) => /LISTEN sockets/.test(p) && /SO_REUSEPORT/.test(p)),
    why,
  );

  // every process before the config-next one is left over (none is parent of the newest)
  const daemons = report.processes.seen.filter((p) => p.command.includes('reuseport-proxy.py'));
  assert.ok(report.processes.leftovers.length >= 5, why);
  assert.ok(report.processes.leftovers.every((l) => daemons.some((d) => d.pid === l.pid)));
  assert.ok(
    report.problems.some((p) => /still alive/.test(p)),
    why,
  );

  // the new route: only the newest process knows the host; the others answer 503
  assert.ok(report.probe, why);
  assert.equal(report.probe.sent, 30);
  assert.ok(report.probe.status503 > 0, why);
  assert.ok(report.probe.reachedNew < 30, why);
  assert.equal(report.probe.reachedNew + report.probe.status503, 30, why);
  assert.ok(
    report.problems.some((p) => /probes of the new route/.test(p)),
    why,
  );

  // storm stopped them all (they re-parented to init: found by their marker and listening socket)
  assert.ok(daemons.length >= 7, `${daemons.length} daemons seen`);
  for (const p of daemons) assert.equal(running(p), false, `pid ${p.pid} still running`);
});
