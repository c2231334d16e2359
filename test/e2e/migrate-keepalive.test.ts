// Connection migration of keep-alive HTTP connections: one connection through 100
// reloads, the new routes applying to its very next request; pipelined requests caught by
// a drain; and the classic drain when migration is off.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { controlRequest } from '../../src/protocol/control-client.js';
import { startEcho } from '../helpers/echo.js';
import { oneBackendConfig, startHandoff } from '../helpers/handoff.js';
import { KeepAliveClient, servedBy } from '../helpers/http-client.js';
import { freePort } from '../helpers/net.js';
import { workersOf } from '../helpers/proc.js';
import { stopAll } from '../helpers/processes.js';
import { waitUntil } from '../helpers/wait.js';

after(() => stopAll());

test('one keep-alive connection through 100 reloads: no error, the next response after each reload from the newly routed backend', async () => {
  const [a, b] = await Promise.all([startEcho('a'), startEcho('b')]);
  const port = await freePort();
  const cfg = (backend: string) => `workers: 1
drain: { timeout: 5s }
log: { access: off }
frontends:
  web:
    bind: 127.0.0.1:${port}
    routes: [ { path: /, backend: ${backend} } ]
backends:
  a: { servers: [ { name: a, address: ${a.address} } ] }
  b: { servers: [ { name: b, address: ${b.address} } ] }
`;
  const h = await startHandoff(cfg('a'));
  const client = new KeepAliveClient(port);
  let requests = 0;
  let current = 'a';
  assert.equal(servedBy(await client.request('/')), 'a');
  for (let i = 1; i <= 100; i++) {
    const next = i % 2 === 1 ? 'b' : 'a';
    let reloading = true;
    const reload = h.reload(cfg(next), { restart: true }).finally(() => (reloading = false));
    // Requests continue while the reload runs (bounded: the test stays short); each is
    // served by the old or the new route.
    for (let n = 0; reloading && n < 50; n++) {
      const r = await client.request('/');
      requests++;
      assert.equal(r.status, 200);
      assert.ok([current, next].includes(servedBy(r)!), `served by ${servedBy(r)}`);
    }
    const res = await reload;
    assert.equal(res.code, 0, res.stderr);
    const r = await client.request('/');
    requests++;
    assert.equal(servedBy(r), next, `reload ${i}: the very next response comes from the new backend`);
    current = next;
  }
  assert.equal(client.isClosed, false, 'the same TCP connection all along');
  client.close();
  const s = await h.status();
  const active = s.generations.find((g) => g.state === 'active')!.number;
  await waitUntil('only the newest generation alive', () => workersOf(h.proc.pid).every((w) => w.generation === active), 10_000);
  const reloads = s.reloads.filter((r) => r.drained);
  assert.ok(
    reloads.some((r) => r.drained!.migrated > 0),
    'migrations are counted per reload',
  );
  console.log(`# ${requests} requests on one connection through 100 reloads`);
  await h.stop();
});

test('a pipelined pair of requests arriving while the drain starts: both answered, in order', async () => {
  const a = await startEcho('a');
  const port = await freePort();
  const h = await startHandoff(oneBackendConfig({ port, server: a.address, workers: 1, top: 'drain: { timeout: 5s }' }));
  for (let round = 0; round < 10; round++) {
    const client = new KeepAliveClient(port);
    await client.connected;
    // The first request is slow, so the second waits in the old worker's input buffer
    // when the drain starts: it must travel with the connection and be answered after
    // the first, in order.
    const reload = controlRequest(h.control, { type: 'reload', restart: true });
    client.write(`GET /first?delay=150 HTTP/1.1\r\nHost: x\r\n\r\nGET /second HTTP/1.1\r\nHost: x\r\n\r\n`);
    const first = await client.next();
    const second = await client.next();
    assert.equal(first.status, 200);
    assert.equal(JSON.parse(first.body.toString()).url, '/first?delay=150');
    assert.equal(second.status, 200);
    assert.equal(JSON.parse(second.body.toString()).url, '/second');
    assert.ok((await reload).ok);
    // And the connection goes on working in the new generation.
    assert.equal((await client.request('/third')).status, 200);
    assert.equal(client.isClosed, false);
    client.close();
  }
  await h.stop();
});

test('drain.migrate: false: the classic drain — Connection: close on the response in flight, idle connections closed', async () => {
  const a = await startEcho('a');
  const port = await freePort();
  const h = await startHandoff(oneBackendConfig({ port, server: a.address, workers: 1, top: 'drain: { timeout: 5s, migrate: false }' }));
  const [old] = workersOf(h.proc.pid);
  const busy = new KeepAliveClient(port);
  const idle = new KeepAliveClient(port);
  assert.equal((await busy.request('/')).status, 200);
  assert.equal((await idle.request('/')).status, 200);
  // Slow enough to still be in flight when the drain starts, even on a loaded machine.
  const inFlight = busy.request('/?delay=3000');
  await new Promise((r) => setTimeout(r, 100));
  const r = await h.reload(undefined, { restart: true });
  assert.equal(r.code, 0);
  const res = await inFlight;
  assert.equal(res.status, 200, 'the request in flight completes');
  assert.equal(res.headers.connection, 'close', 'with Connection: close');
  await waitUntil('busy connection closed after its response', () => busy.isClosed);
  await waitUntil('idle connection closed at once', () => idle.isClosed);
  await waitUntil('old worker exited', () => !workersOf(h.proc.pid).some((w) => w.pid === old!.pid));
  const s = await h.status();
  const drained = s.reloads.at(-1)?.drained;
  assert.deepEqual(drained && { migrated: drained.migrated, closedIdle: drained.closedIdle }, { migrated: 0, closedIdle: 2 });
  await h.stop();
});
