// storm against handoff itself: several reloads at 200 ms under keep-alive, fresh and
// WebSocket load; no client may notice, one LISTEN socket per address at every sample, the
// route added by the next config must serve every probe, nothing left over; exit 0. And
// afterwards nothing storm started is alive.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { stopAll } from '../helpers/processes.js';
import { fixture, running, stormJson, summary } from './storm-run.js';
import type { StormReport } from '../../src/storm/types.js';

after(() => stopAll());

test('a short storm against handoff: zero failures, one listener per address, the new route serves every probe, exit 0', async () => {
  const { code, report, stderr } = await stormJson([
    '-f',
    fixture('handoff.yaml'),
    '--config-next',
    fixture('handoff-next.yaml'),
    '--interval',
    '200ms',
    '--reloads',
    '6',
    '--keepalive',
    '2',
    '--fresh',
    '2',
    '--websocket',
    '2',
    '--rate',
    '50',
    '--probe',
    '20',
  ]);
  const why = summary(report, stderr);
  assert.ok(report, why);
  assert.equal(code, 0, why);
  assert.equal(report.verdict, 'ok', why);
  assert.deepEqual(report.problems, []);

  assert.equal(report.target.kind, 'handoff');
  assert.equal(report.reloads.requested, 7, 'six storm reloads and the config-next one');
  assert.equal(report.reloads.failed, 0, why);
  assert.ok(report.reloads.list.every((r) => r.generation !== undefined));

  assert.equal(report.requests.failed, 0, why);
  assert.deepEqual(report.failures.byKind, {});
  const byClient: StormReport['requests']['byClient'] = report.requests.byClient;
  for (const kind of ['keepalive', 'fresh', 'websocket'] as const) {
    const c = byClient[kind];
    assert.ok(c.sent > 5, `${kind} clients sent ${c.sent} requests`);
    assert.equal(c.ok, c.sent, `${kind}: ${why}`);
  }
  assert.ok(report.latency.afterReload.count > 0);

  assert.equal(report.listeners.addresses.length, 2, 'IPv4 and IPv6 binds');
  assert.ok(report.listeners.samples >= 5, `${report.listeners.samples} samples`);
  for (const s of report.samples) assert.deepEqual(s.listen, [1, 1], `sample at ${s.t} ms`);

  assert.ok(report.probe, 'the new-route phase ran');
  assert.equal(report.probe.sent, 20);
  assert.equal(report.probe.reachedNew, 20, why);
  assert.equal(report.probe.backend, 'b');

  assert.deepEqual(report.processes.leftovers, []);
  assert.deepEqual(report.processes.killed, [], 'handoff stopped on SIGTERM by itself');
  const seen = report.processes.seen;
  assert.ok(
    seen.some((p) => / start -f /.test(p.command)),
    'the master was tracked',
  );
  assert.ok(
    seen.some((p) => /worker\/main\.js --generation/.test(p.command)),
    'workers were tracked',
  );
  // storm's own clean-up: nothing it started outlives it
  for (const p of seen) assert.equal(running(p), false, `pid ${p.pid} (${p.command}) still running`);
});
