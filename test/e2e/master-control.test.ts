// The master's interfaces: signals (HUP, TERM, QUIT), the control socket and what status
// reports, and server health carried across reloads.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { statSync } from 'node:fs';
import { controlRequest } from '../../src/protocol/control-client.js';
import { startEcho } from '../helpers/echo.js';
import { oneBackendConfig, startHandoff } from '../helpers/handoff.js';
import { KeepAliveClient, request, servedBy } from '../helpers/http-client.js';
import { freePort } from '../helpers/net.js';
import { listenInodes, workersOf } from '../helpers/proc.js';
import { alive, handoffRun, stopAll } from '../helpers/processes.js';
import { waitUntil } from '../helpers/wait.js';

after(() => stopAll());

test('control socket 0600; status shows generations, workers, listeners with their kernel inode, reloads; SIGHUP reloads', async () => {
  const a = await startEcho('a');
  const [p1, p2] = [await freePort(), await freePort()];
  const h = await startHandoff(`workers: 2
log: { access: off }
frontends:
  web: { bind: ["127.0.0.1:${p1}", "127.0.0.1:${p2}"], default_backend: a }
backends:
  a: { servers: [ { name: a, address: ${a.address} } ] }
`);
  assert.equal(statSync(h.control).mode & 0o777, 0o600, 'control socket mode 0600');
  const c = new KeepAliveClient(p1);
  assert.equal((await c.request('/')).status, 200);
  const s = await h.status();
  assert.equal(s.master.pid, h.proc.pid);
  assert.deepEqual(
    s.generations.map((g) => [g.number, g.state, g.workers.length]),
    [[1, 'active', 2]],
  );
  assert.deepEqual(
    s.listeners.map((l) => [l.address, l.inode]).sort(),
    [
      [`127.0.0.1:${p1}`, listenInodes(p1)[0]],
      [`127.0.0.1:${p2}`, listenInodes(p2)[0]],
    ].sort(),
    'each listener with the inode of the one LISTEN socket the kernel has',
  );
  const idle = s.generations[0]!.workers.reduce((n, w) => n + (w.connections?.idle ?? 0), 0);
  assert.equal(idle, 1, 'the keep-alive connection shows as idle');
  assert.equal(s.totals.requests, 1);

  // The human-readable status too.
  const text = await handoffRun(['status', '-s', h.control]);
  assert.equal(text.code, 0);
  assert.match(text.stdout, /#1\s+active/);
  assert.match(text.stdout, new RegExp(`127\\.0\\.0\\.1:${p1}\\s+frontend web\\s+socket inode ${listenInodes(p1)[0]}`));

  // SIGHUP: a reload like any other. The file did not change: nothing to do.
  process.kill(h.proc.pid, 'SIGHUP');
  await waitUntil('the SIGHUP reload answered', async () => (await h.status()).reloads.some((x) => x.outcome !== 'running'));
  const after = await h.status();
  assert.equal(after.reloads.length, 1);
  assert.equal(after.reloads[0]!.outcome, 'ok');
  assert.equal(after.reloads[0]!.kind, 'unchanged');
  assert.deepEqual(
    after.generations.map((g) => [g.number, g.state, g.configGeneration]),
    [[1, 'active', 1]],
  );
  assert.equal((await c.request('/')).status, 200, 'the keep-alive connection still serves');
  c.close();
  await h.stop();
});

test('SIGTERM: graceful stop — in-flight requests finish, the master exits 0, no worker left', async () => {
  const a = await startEcho('a');
  const port = await freePort();
  const h = await startHandoff(oneBackendConfig({ port, server: a.address, workers: 2, top: 'drain: { timeout: 5s }' }));
  const workers = workersOf(h.proc.pid);
  // Slow enough to be seen in flight by a status poll, even on a loaded machine.
  const slow = request(port, '/?delay=3000', { timeoutMs: 20_000 });
  await waitUntil('request in flight', async () => (await h.status()).totals.connections.waiting === 1);
  process.kill(h.proc.pid, 'SIGTERM');
  assert.equal((await slow).status, 200);
  assert.equal(await h.proc.exited, 0);
  assert.ok(workers.every((w) => !alive(w.pid)));
  assert.deepEqual(listenInodes(port), []);
});

test('SIGQUIT and `handoff stop --now`: immediate stop', async () => {
  const a = await startEcho('a');
  const port = await freePort();
  const cfg = oneBackendConfig({ port, server: a.address, workers: 1, top: 'drain: { timeout: 30s }' });
  for (const how of ['SIGQUIT', 'stop --now'] as const) {
    const h = await startHandoff(cfg);
    const workers = workersOf(h.proc.pid);
    // A long request would hold a graceful stop for 30 s; an immediate stop does not wait.
    const slow = request(port, '/?delay=20000', { timeoutMs: 25_000 }).catch((e: Error) => e);
    await waitUntil('request in flight', async () => (await h.status()).totals.connections.waiting === 1);
    const t0 = Date.now();
    if (how === 'SIGQUIT') process.kill(h.proc.pid, 'SIGQUIT');
    else assert.equal((await handoffRun(['stop', '--now', '-s', h.control])).code, 0);
    await h.proc.exited;
    assert.ok(Date.now() - t0 < 5000, `${how} stopped at once`);
    assert.ok(workers.every((w) => !alive(w.pid)));
    assert.ok((await slow) instanceof Error, 'the in-flight request was cut');
  }
});

test('health survives reloads: a server known down stays down in the new generation, a known-up one serves at once', async () => {
  const [good, bad] = await Promise.all([startEcho('good'), startEcho('bad')]);
  const port = await freePort();
  const cfg = `workers: 1
log: { access: off }
frontends:
  web: { bind: 127.0.0.1:${port}, default_backend: app }
backends:
  app:
    health: { type: http, path: /healthz, interval: 5s, fall: 1, rise: 3 }
    servers:
      - { name: good, address: ${good.address} }
      - { name: bad, address: ${bad.address} }
`;
  // `bad` answers its health check with 503 from the start.
  const toggle = await request(bad.port, '/admin/health?status=503', { method: 'POST' });
  assert.equal(toggle.status, 200);
  const h = await startHandoff(cfg);
  const serversUp = async () =>
    Object.entries((await h.status()).backends.app!.servers)
      .map(([n, s]) => `${n}:${s.operational}`)
      .sort();
  assert.deepEqual(await serversUp(), ['bad:down', 'good:up']);
  // Make `bad` healthy again: with rise 3 and a 5 s interval, its checks need 15 s to bring
  // it back, far beyond this test. A reload must not reset it to up (or to starting).
  await request(bad.port, '/admin/health?status=200', { method: 'POST' });
  for (let i = 0; i < 3; i++) {
    const r = await h.reload(undefined, { restart: true });
    assert.equal(r.code, 0, r.stderr);
    assert.deepEqual(await serversUp(), ['bad:down', 'good:up'], `after reload ${i + 1}`);
    const served = new Set<string>();
    for (let j = 0; j < 10; j++) served.add(servedBy(await request(port, '/'))!);
    assert.deepEqual([...served], ['good'], 'the known-up server serves at once; the down one gets nothing');
  }
  await h.stop();
});

test('SIGTERM in the middle of a reload storm: the master stops, no worker is left', async () => {
  const a = await startEcho('a');
  const port = await freePort();
  for (let round = 0; round < 5; round++) {
    const h = await startHandoff(oneBackendConfig({ port, server: a.address, workers: 2, top: 'drain: { timeout: 5s }' }));
    let storming = true;
    const storm = (async () => {
      for (let i = 0; i < 200 && storming; i++) {
        try {
          await controlRequest(h.control, { type: 'reload', restart: true }, 10_000);
        } catch {
          return; // the master went away
        }
      }
    })();
    // Stop at a different point of a reload each round.
    await new Promise((r) => setTimeout(r, 150 + round * 70));
    const seen = new Set(workersOf(h.proc.pid).map((w) => w.pid));
    process.kill(h.proc.pid, 'SIGTERM');
    assert.equal(await h.proc.exited, 0, `round ${round}: the master exits`);
    storming = false;
    await storm;
    for (const pid of seen) await waitUntil(`worker ${pid} gone`, () => !alive(pid), 7000);
    // Also those a reload in flight started after the sample.
    await waitUntil('no worker of this master left', () => workersOf(h.proc.pid).length === 0, 7000);
  }
});
