// Readiness and liveness on the stats listener: /ready answers 200 while the master serves
// and 503 from the moment a stop begins (a load balancer in front stops sending), while a
// request in flight still gets its response; /live answers 200 while the master runs.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { freePort } from '../helpers/net.js';
import { startHandoff } from '../helpers/handoff.js';
import { request } from '../helpers/http-client.js';
import { stopAll } from '../helpers/processes.js';
import { waitUntil } from '../helpers/wait.js';
import { startHoldingBackend } from '../helpers/holding-backend.js';

after(() => stopAll());

async function get(port: number, path: string): Promise<number> {
  const res = await fetch(`http://127.0.0.1:${port}${path}`);
  await res.arrayBuffer();
  return res.status;
}

test('/ready turns 503 as soon as a stop begins while the request in flight gets its 200; /live stays 200', async () => {
  const backend = await startHoldingBackend();
  const port = await freePort();
  const statsPort = await freePort();
  const h = await startHandoff(`workers: 1
log: { access: off }
stats: { bind: 127.0.0.1:${statsPort} }
frontends:
  web: { bind: 127.0.0.1:${port}, default_backend: a }
backends:
  a: { servers: [ { name: a, address: ${backend.address} } ] }
`);
  try {
    assert.equal(await get(statsPort, '/ready'), 200);
    assert.equal(await get(statsPort, '/live'), 200);
    assert.equal((await request(port, '/')).status, 200);

    const slow = request(port, '/slow', { timeoutMs: 60_000 });
    await waitUntil('the slow request to reach the backend', () => backend.arrived() === 1);
    h.proc.child.kill('SIGTERM');
    await waitUntil('/ready to answer 503', async () => (await get(statsPort, '/ready')) === 503);
    assert.equal(await get(statsPort, '/live'), 200, 'the master still runs');
    const metrics = await (await fetch(`http://127.0.0.1:${statsPort}/metrics`)).text();
    assert.match(metrics, /^handoff_ready 0$/m);

    backend.release();
    const r = await slow;
    assert.equal(r.status, 200);
    assert.equal(r.body.toString(), 'slow done\n');
    assert.equal(await h.proc.exited, 0);
  } finally {
    backend.release();
    await h.stop();
    await backend.close();
  }
});
