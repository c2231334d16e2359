// Worker and master deaths, tunnels across a classic drain, and a full backend during
// reloads.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import net from 'node:net';
import WebSocket from 'ws';
import { controlRequest } from '../../src/protocol/control-client.js';
import { startEcho } from '../helpers/echo.js';
import { oneBackendConfig, startHandoff } from '../helpers/handoff.js';
import { KeepAliveClient, request, RequestFailure, servedBy, type Response } from '../helpers/http-client.js';
import { canConnect, freePort } from '../helpers/net.js';
import { listenInodes, workersOf } from '../helpers/proc.js';
import { alive, stopAll } from '../helpers/processes.js';
import { delay, waitUntil } from '../helpers/wait.js';

after(() => stopAll());

test('SIGKILL of an active worker: it is replaced and the listener keeps serving', async () => {
  const a = await startEcho('a');
  const port = await freePort();
  const h = await startHandoff(oneBackendConfig({ port, server: a.address, workers: 2 }));
  const [victim, other] = workersOf(h.proc.pid);
  process.kill(victim!.pid, 'SIGKILL');
  // The other worker (and the kernel's accept queue) keep serving meanwhile.
  for (let i = 0; i < 20; i++) assert.equal((await request(port, '/')).status, 200);
  await waitUntil('a replacement worker', () => {
    const w = workersOf(h.proc.pid);
    return w.length === 2 && w.some((x) => x.pid !== victim!.pid && x.pid !== other!.pid);
  });
  await waitUntil('the replacement is ready', async () => {
    const s = await h.status();
    const g = s.generations.find((x) => x.state === 'active')!;
    return g.crashes === 1 && g.workers.length === 2 && g.workers.every((w) => w.state === 'ready');
  });
  for (let i = 0; i < 20; i++) assert.equal((await request(port, '/')).status, 200);
  assert.match(h.proc.output(), /worker died; replacing it/);
  await h.stop();
});

test('SIGKILL of the master: workers finish in-flight requests, exit by the deadline, the port is free', async () => {
  const a = await startEcho('a');
  const port = await freePort();
  const h = await startHandoff(oneBackendConfig({ port, server: a.address, workers: 2, top: 'drain: { timeout: 3s }' }));
  const workers = workersOf(h.proc.pid);
  assert.equal(workers.length, 2);
  const idle = new KeepAliveClient(port);
  assert.equal((await idle.request('/')).status, 200);
  // A request in flight when the master dies still gets its response.
  const slow = request(port, '/?delay=700');
  await delay(200);
  process.kill(h.proc.pid, 'SIGKILL');
  const t0 = Date.now();
  const res = await slow;
  assert.equal(res.status, 200, 'the in-flight request completed');
  await waitUntil('every worker exited', () => workers.every((w) => !alive(w.pid)), 3000 + 3000);
  assert.ok(Date.now() - t0 < 3000 + 2000, 'by the drain deadline');
  assert.deepEqual(listenInodes(port), [], 'no LISTEN socket left');
  assert.equal(await canConnect(port), false);
  // The idle keep-alive connection was closed, not left hanging.
  await waitUntil('idle connection closed', () => idle.isClosed);
  const again = net.createServer();
  await new Promise<void>((resolve, reject) => {
    again.once('error', reject);
    again.listen(port, '127.0.0.1', resolve);
  });
  again.close();
});

test('a WebSocket across a classic drain (migrate: false) stays open until drain.timeout, then closes; the old worker exits', async () => {
  const a = await startEcho('a');
  const port = await freePort();
  const cfg = oneBackendConfig({ port, server: a.address, workers: 1, top: 'drain: { timeout: 1500ms, migrate: false }' });
  const h = await startHandoff(cfg);
  const [oldWorker] = workersOf(h.proc.pid);
  const ws = new WebSocket(`ws://127.0.0.1:${port}/chat`);
  await new Promise<void>((resolve, reject) => {
    ws.once('open', () => resolve());
    ws.once('error', reject);
  });
  const echo = (msg: string) =>
    new Promise<string>((resolve, reject) => {
      ws.once('message', (d) => resolve(d.toString()));
      ws.once('error', reject);
      ws.send(msg);
    });
  assert.equal(await echo('before'), 'before');
  const closed = new Promise<number>((resolve) => ws.once('close', () => resolve(Date.now())));
  const r = await h.reload(undefined, { restart: true });
  assert.equal(r.code, 0, r.stderr);
  const switched = Date.now();
  assert.equal(await echo('during the drain'), 'during the drain', 'the tunnel keeps working while its worker drains');
  // New connections go to the new generation meanwhile.
  assert.equal((await request(port, '/')).status, 200);
  const closedAt = await closed;
  assert.ok(closedAt - switched >= 1000, `closed at the drain deadline, not before (${closedAt - switched} ms)`);
  await waitUntil('old worker exited', () => !alive(oldWorker!.pid), 5000);
  await h.stop();
});

test('a backend at maxconn during reloads: the queue is bounded and visible; nothing hangs', async () => {
  const slow = await startEcho('slow');
  const port = await freePort();
  const h = await startHandoff(`workers: 1
drain: { timeout: 5s }
log: { access: off }
timeouts: { queue: 1500ms }
frontends:
  web: { bind: 127.0.0.1:${port}, default_backend: slow }
backends:
  slow:
    maxqueue: 4
    servers: [ { name: s, address: ${slow.address}, maxconn: 1 } ]
`);
  const results: (Response | RequestFailure)[] = [];
  const inflight: Promise<void>[] = [];
  let sawQueue = 0;
  const started = Date.now();
  for (let round = 0; round < 4; round++) {
    for (let i = 0; i < 6; i++) {
      inflight.push(
        request(port, '/?delay=200', { timeoutMs: 10_000 }).then(
          (r) => void results.push(r),
          (e: RequestFailure) => void results.push(e),
        ),
      );
    }
    const s = await h.status();
    sawQueue = Math.max(sawQueue, s.backends.slow?.queue ?? 0);
    const r = await controlRequest(h.control, { type: 'reload', restart: true });
    assert.ok(r.ok);
  }
  await Promise.all(inflight);
  assert.ok(Date.now() - started < 20_000, 'every request answered in bounded time');
  assert.equal(results.length, 24);
  const failures = results.filter((r) => r instanceof RequestFailure);
  assert.deepEqual(failures, [], 'no connection-level failure: every request got an HTTP answer');
  const statuses = (results as Response[]).map((r) => r.status);
  assert.ok(
    statuses.every((s) => s === 200 || s === 503),
    `only 200 or 503: ${statuses.join(',')}`,
  );
  assert.ok(statuses.includes(200));
  const q503 = (results as Response[]).filter((r) => r.status === 503);
  for (const r of q503) assert.match(r.body.toString(), /503/);
  assert.ok(sawQueue > 0 && sawQueue <= 4, `the queue was visible and bounded in status (max seen ${sawQueue})`);
  void servedBy;
  await h.stop();
});
