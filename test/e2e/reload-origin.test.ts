// docs/origin.md as a test: clients send requests continuously while handoff is reloaded every
// 200 ms for 50 reloads; then a new host and backend are added and reloaded once, and 50
// fresh requests to the new host all reach the new backend. Zero failed requests of any
// kind, exactly one LISTEN socket per address at every sample, and no worker of an old
// generation alive after drain.timeout plus grace.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { controlRequest } from '../../src/protocol/control-client.js';
import { startEcho } from '../helpers/echo.js';
import { startHandoff } from '../helpers/handoff.js';
import { request, servedBy } from '../helpers/http-client.js';
import { freePort } from '../helpers/net.js';
import { listenInodes, workersOf } from '../helpers/proc.js';
import { stopAll } from '../helpers/processes.js';
import { delay, waitUntil } from '../helpers/wait.js';
import { freshLoop, keepAliveLoop } from './support/load.js';

after(() => stopAll());

const RELOADS = 50;
const INTERVAL_MS = 200;
const DRAIN_MS = 2000;
const GRACE_MS = 2000; // src/master/generation.ts KILL_GRACE_MS

test('ORIGIN: 50 reloads under load, then a new host serves 100% at once', async () => {
  const [a1, a2, fresh] = await Promise.all([startEcho('a1'), startEcho('a2'), startEcho('new-1')]);
  const port = await freePort();
  const base = (extra = '') => `workers: 2
drain: { timeout: ${DRAIN_MS}ms }
log: { access: off }
frontends:
  web:
    bind: 127.0.0.1:${port}
    routes:
      - { host: app.test, backend: app }${extra}
backends:
  app:
    servers:
      - { name: a1, address: ${a1.address} }
      - { name: a2, address: ${a2.address} }
`;
  const h = await startHandoff(base());
  const inode = listenInodes(port);
  assert.equal(inode.length, 1, 'one LISTEN socket for the address');

  // Load: one keep-alive client and one fresh-connection client, all the time.
  const keepAlive = keepAliveLoop({ port, host: 'app.test' });
  const freshL = freshLoop({ port, host: 'app.test' });
  const samples: number[] = [];
  let sampling = true;
  const sampler = (async () => {
    while (sampling) {
      samples.push(listenInodes(port).length);
      await delay(20);
    }
  })();

  const durations: number[] = [];
  for (let i = 0; i < RELOADS; i++) {
    const t0 = Date.now();
    const res = await controlRequest(h.control, { type: 'reload', restart: true });
    assert.ok(res.ok, `reload ${i + 1}: ${JSON.stringify(res)}`);
    durations.push(Date.now() - t0);
    await delay(Math.max(0, INTERVAL_MS - (Date.now() - t0)));
  }

  // The new-route phase: add a host and a backend, reload once, probe it.
  const next = base(`\n      - { host: new.test, backend: added }`).replace(
    'backends:\n',
    `backends:\n  added:\n    servers:\n      - { name: new-1, address: ${fresh.address} }\n`,
  );
  const r = await h.reload(next);
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stdout, /reloaded \(live\)/, 'a new route is applied live, in the running workers');
  const probes = await Promise.all(Array.from({ length: 50 }, () => request(port, '/', { host: 'new.test' })));
  const probeServers = probes.map((p) => `${p.status} ${servedBy(p)}`);
  assert.deepEqual(probeServers, Array(50).fill('200 new-1'), 'every probe of the new host reaches the new backend');

  await keepAlive.stop();
  await freshL.stop();
  sampling = false;
  await sampler;

  const failures = [...keepAlive.stats.failures, ...freshL.stats.failures];
  assert.deepEqual(failures, [], `no failed request (keep-alive ${keepAlive.stats.sent} sent, fresh ${freshL.stats.sent} sent)`);
  assert.ok(
    keepAlive.stats.ok > RELOADS && freshL.stats.ok > RELOADS,
    `load ran all along: keep-alive ${keepAlive.stats.ok}, fresh ${freshL.stats.ok}`,
  );
  assert.ok(samples.length > 100, `sampled ${samples.length} times`);
  assert.deepEqual([...new Set(samples)], [1], 'exactly one LISTEN socket at every sample');
  assert.deepEqual(listenInodes(port), inode, 'the same kernel socket all along');

  // No worker of an old generation outlives drain.timeout + grace.
  const status = await h.status();
  const active = status.generations.find((g) => g.state === 'active')!;
  const activeGen = active.number;
  assert.equal(activeGen, RELOADS + 1, 'one process generation per --restart reload');
  assert.equal(active.configGeneration, RELOADS + 2, 'the new route: one more config generation, same processes');
  await waitUntil('old generations gone', () => workersOf(h.proc.pid).every((w) => w.generation === activeGen), DRAIN_MS + GRACE_MS + 3000);
  assert.equal(workersOf(h.proc.pid).length, 2, 'only the two workers of the newest generation');
  const p50 = durations.sort((x, y) => x - y)[Math.floor(durations.length / 2)];
  console.log(
    `# reloads: ${RELOADS}, duration p50 ${p50} ms; keep-alive ok ${keepAlive.stats.ok} (reconnects ${keepAlive.stats.reconnects}), fresh ok ${freshL.stats.ok}`,
  );
  await h.stop();
});
