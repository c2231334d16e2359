// Live apply: a reload that changes routes, servers or rules reaches the running workers in
// place. No new process, no moved, closed or paused connection; a request that started
// before the commit finishes with the config it started with; the next one uses the new one.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import WebSocket from 'ws';
import { controlRequest } from '../../src/protocol/control-client.js';
import { startEcho } from '../helpers/echo.js';
import { startHandoff, workerPids } from '../helpers/handoff.js';
import { KeepAliveClient, request, servedBy } from '../helpers/http-client.js';
import { freePort } from '../helpers/net.js';
import { workersOf } from '../helpers/proc.js';
import { stopAll } from '../helpers/processes.js';
import { delay, waitUntil } from '../helpers/wait.js';

after(() => stopAll());

const twoBackends = (port: number, a: string, b: string, backend: string, workers = 2) => `workers: ${workers}
drain: { timeout: 5s }
log: { access: off }
frontends:
  web:
    bind: 127.0.0.1:${port}
    routes: [ { path: /, backend: ${backend} } ]
    headers: { response: { set: { X-Generation: "\${generation}" } } }
backends:
  a: { servers: [ { name: a, address: ${a} } ] }
  b: { servers: [ { name: b, address: ${b} } ] }
`;

test('a keep-alive connection sees the new route on its very next request; a slow request in flight finishes on its old backend', async () => {
  const [a, b] = await Promise.all([startEcho('a'), startEcho('b')]);
  const port = await freePort();
  const h = await startHandoff(twoBackends(port, a.address, b.address, 'a', 1));
  const pids = workerPids(await h.status());
  const fast = new KeepAliveClient(port);
  const slow = new KeepAliveClient(port);
  const first = await fast.request('/');
  assert.equal(servedBy(first), 'a');
  assert.equal(first.headers['x-generation'], '1');
  assert.equal(servedBy(await slow.request('/')), 'a');
  // A slow request starts under generation 1 ...
  const inFlight = slow.request('/?delay=1500');
  await waitUntil('the slow request reached the backend', async () => ((await h.status()).backends.a?.servers.a?.active ?? 0) > 0);
  // ... the route changes live while it runs ...
  const r = await h.reload(twoBackends(port, a.address, b.address, 'b', 1));
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stdout, /reloaded \(live\): generation 2 in force/);
  // ... the next request of another connection goes to the new backend at once ...
  const next = await fast.request('/');
  assert.equal(servedBy(next), 'b', 'the very next request uses the new route');
  assert.equal(next.headers['x-generation'], '2', '${generation} is the config generation');
  // ... and the slow one completes with the config it started with.
  const done = await inFlight;
  assert.equal(done.status, 200);
  assert.equal(servedBy(done), 'a', 'the request in flight finishes on its old backend');
  assert.equal(done.headers['x-generation'], '1', 'with its old rules');
  assert.equal(servedBy(await slow.request('/')), 'b', 'its connection moves on to the new config');
  assert.equal(fast.isClosed || slow.isClosed, false, 'no connection was closed: the same two TCP connections all along');
  const s = await h.status();
  assert.deepEqual(workerPids(s), pids, 'the same worker processes');
  assert.deepEqual(
    s.generations.map((g) => [g.number, g.state, g.configGeneration, g.workers.map((w) => w.configGeneration)]),
    [[1, 'active', 2, [2]]],
  );
  assert.equal(s.reloads.at(-1)?.kind, 'live');
  assert.equal(s.totals.migratedOut + s.totals.migratedIn, 0, 'nothing migrated');
  fast.close();
  slow.close();
  await h.stop();
});

test('an unchanged config is a no-op that says so; --restart and a new workers count start new processes', async () => {
  const [a, b] = await Promise.all([startEcho('a'), startEcho('b')]);
  const port = await freePort();
  const h = await startHandoff(twoBackends(port, a.address, b.address, 'a', 1));
  const pids = workerPids(await h.status());
  const same = await h.reload();
  assert.equal(same.code, 0, same.stderr);
  assert.match(same.stdout, /unchanged: generation 1/);
  assert.deepEqual(workerPids(await h.status()), pids);

  const client = new KeepAliveClient(port);
  assert.equal(servedBy(await client.request('/')), 'a');
  // --restart: a new process generation; the idle keep-alive connection migrates to it.
  const restart = await h.reload(twoBackends(port, a.address, b.address, 'b', 1), { restart: true });
  assert.equal(restart.code, 0, restart.stderr);
  assert.match(restart.stdout, /reloaded \(process\): generation 2/);
  assert.equal(servedBy(await client.request('/')), 'b', 'the same TCP connection, migrated to the new processes');
  await waitUntil('generation 1 exited', () => workersOf(h.proc.pid).every((w) => w.generation === 2));
  // Another workers count needs new processes: the master picks the process kind itself.
  const more = await h.reload(twoBackends(port, a.address, b.address, 'b', 2));
  assert.equal(more.code, 0, more.stderr);
  assert.match(more.stdout, /reloaded \(process\): generation 3/);
  await waitUntil(
    'two workers of generation 3',
    () => workersOf(h.proc.pid).filter((w) => w.generation === 3).length === 2 && workersOf(h.proc.pid).length === 2,
  );
  const kinds = (await h.status()).reloads.map((x) => x.kind);
  assert.deepEqual(kinds, ['unchanged', 'process', 'process']);
  client.close();
  await h.stop();
});

test('100 live reloads at 10 a second under load: worker pids never change, nothing fails, the newest config serves', async () => {
  const [a, b] = await Promise.all([startEcho('a'), startEcho('b')]);
  const port = await freePort();
  const h = await startHandoff(twoBackends(port, a.address, b.address, 'a'));
  const pids = workerPids(await h.status()).sort();
  assert.equal(pids.length, 2);
  let running = true;
  let served = 0;
  const failures: string[] = [];
  const load = (async () => {
    const c = new KeepAliveClient(port);
    for (let n = 0; running && n < 100_000 && !c.isClosed; n++) {
      try {
        const r = await c.request('/');
        if (r.status !== 200) failures.push(`status ${r.status}`);
        served++;
      } catch (err) {
        failures.push((err as Error).message);
      }
    }
    c.close();
  })();
  let last = 'a';
  for (let i = 1; i <= 100; i++) {
    const t0 = Date.now();
    last = i % 2 === 1 ? 'b' : 'a';
    const r = await controlRequest(h.control, {
      type: 'apply',
      config: `control: ./handoff.sock\n${twoBackends(port, a.address, b.address, last)}`,
    });
    assert.ok(r.ok && r.type === 'reload' && r.kind === 'live', `reload ${i}: ${JSON.stringify(r)}`);
    await delay(Math.max(0, 100 - (Date.now() - t0)));
  }
  running = false;
  await load;
  assert.deepEqual(failures, [], 'no failed request');
  assert.ok(served > 100, `load ran all along (${served} requests)`);
  const s = await h.status();
  assert.deepEqual(workerPids(s).sort(), pids, 'the same two worker processes all along');
  assert.equal(s.generations.length, 1);
  assert.equal(s.generations[0]!.configGeneration, 101);
  assert.ok(s.generations[0]!.workers.every((w) => w.configGeneration === 101));
  for (let i = 0; i < 10; i++) assert.equal(servedBy(await request(port, '/')), last, 'the newest config serves');
  await h.stop();
});

test('a worker that crashes after live applies is replaced with the config in force, not the one its generation started with', async () => {
  const [a, b] = await Promise.all([startEcho('a'), startEcho('b')]);
  const port = await freePort();
  const h = await startHandoff(twoBackends(port, a.address, b.address, 'a'));
  for (const backend of ['b', 'a', 'b']) assert.equal((await h.reload(twoBackends(port, a.address, b.address, backend))).code, 0);
  const [victim, survivor] = workerPids(await h.status());
  process.kill(victim!, 'SIGKILL');
  await waitUntil('a replacement worker is ready', async () => {
    const s = await h.status();
    const ws = s.generations[0]!.workers.filter((w) => w.state === 'ready');
    return ws.length === 2 && !ws.some((w) => w.pid === victim) ? ws : undefined;
  });
  const s = await h.status();
  assert.deepEqual(
    s.generations.map((g) => [g.number, g.configGeneration]),
    [[1, 4]],
  );
  assert.deepEqual(
    s.generations[0]!.workers.map((w) => w.configGeneration),
    [4, 4],
    'both workers run config generation 4',
  );
  assert.ok(workerPids(s).includes(survivor!));
  for (let i = 0; i < 6; i++) assert.equal(servedBy(await request(port, '/')), 'b', 'every worker serves the newest config');
  // And the replacement takes part in the next live apply.
  assert.equal((await h.reload(twoBackends(port, a.address, b.address, 'a'))).code, 0);
  for (let i = 0; i < 6; i++) assert.equal(servedBy(await request(port, '/')), 'a');
  await h.stop();
});

test('a WebSocket through 100 live reloads: same worker, no migration, every byte intact', async () => {
  const [web, other] = await Promise.all([startEcho('ws-echo'), startEcho('other')]);
  const port = await freePort();
  const h = await startHandoff(twoBackends(port, web.address, other.address, 'a', 1));
  const [pid] = workerPids(await h.status());
  const ws = new WebSocket(`ws://127.0.0.1:${port}/stream`);
  await new Promise<void>((resolve, reject) => {
    ws.once('open', () => resolve());
    ws.once('error', reject);
  });
  let closed = false;
  ws.on('close', () => (closed = true));
  const sent = createHash('sha256');
  const received = createHash('sha256');
  let waiting: (() => void) | undefined;
  let pending = 0;
  ws.on('message', (d: Buffer) => {
    received.update(d);
    pending--;
    if (pending === 0) waiting?.();
  });
  for (let i = 1; i <= 100; i++) {
    // Bytes in flight while the apply runs.
    for (let k = 0; k < 5; k++) {
      const payload = randomBytes(1 + ((i * 7 + k) % 4000));
      sent.update(payload);
      pending++;
      ws.send(payload);
    }
    const r = await controlRequest(h.control, {
      type: 'apply',
      config: `control: ./handoff.sock\n${twoBackends(port, web.address, other.address, i % 2 === 1 ? 'b' : 'a', 1)}`,
    });
    assert.ok(r.ok && r.type === 'reload' && r.kind === 'live', JSON.stringify(r));
    if (pending > 0) await new Promise<void>((resolve) => (waiting = resolve));
  }
  assert.equal(closed, false, 'the WebSocket never closed');
  assert.equal(received.digest('hex'), sent.digest('hex'), 'every byte echoed once, in order');
  const s = await h.status();
  assert.deepEqual(workerPids(s), [pid], 'the same worker process');
  assert.equal(s.totals.migratedOut + s.totals.migratedIn, 0, 'no migration');
  assert.equal(s.totals.connections.tunnel, 1, 'the tunnel kept its server connection');
  ws.close();
  await h.stop();
});

test('a worker that cannot prepare aborts the live apply everywhere; a stopped worker does too, by the bound; the old config keeps serving', async () => {
  const [a, b] = await Promise.all([startEcho('a'), startEcho('b')]);
  const port = await freePort();
  // Worker 0 cannot prepare config generation 2 (fault injection): worker 1 prepares it, then aborts.
  const h = await startHandoff(twoBackends(port, a.address, b.address, 'a'), { env: { HANDOFF_FAULT_PREPARE_GENERATION: '2' } });
  const pids = workerPids(await h.status());
  const r = await h.reload(twoBackends(port, a.address, b.address, 'b'));
  assert.equal(r.code, 1);
  assert.match(r.stderr, /live apply of generation 2 aborted: worker \d+: cannot compile/);
  for (let i = 0; i < 6; i++) assert.equal(servedBy(await request(port, '/')), 'a', 'every worker still runs the old config');
  let s = await h.status();
  assert.deepEqual(
    s.generations.map((g) => g.configGeneration),
    [1],
  );
  assert.equal(s.reloads.at(-1)?.outcome, 'failed');
  assert.equal(s.reloads.at(-1)?.kind, 'live');

  // A worker that does not answer at all (SIGSTOP): the apply aborts by its bound and names it.
  const stopped = pids[1]!;
  process.kill(stopped, 'SIGSTOP');
  try {
    const r2 = await h.reload(twoBackends(port, a.address, b.address, 'b').replace('drain: { timeout: 5s }', 'drain: { timeout: 6s }'));
    assert.equal(r2.code, 1);
    assert.match(r2.stderr, new RegExp(`worker ${stopped} did not answer within \\d+ms`));
  } finally {
    process.kill(stopped, 'SIGCONT');
  }
  for (let i = 0; i < 6; i++) assert.equal(servedBy(await request(port, '/')), 'a', 'still the old config everywhere');
  // The next apply works in both workers.
  const ok = await h.reload(twoBackends(port, a.address, b.address, 'b'));
  assert.equal(ok.code, 0, ok.stderr);
  for (let i = 0; i < 6; i++) assert.equal(servedBy(await request(port, '/')), 'b');
  s = await h.status();
  assert.deepEqual(workerPids(s), pids, 'no process was replaced');
  assert.ok(s.generations[0]!.workers.every((w) => w.configGeneration === s.generations[0]!.configGeneration));
  await h.stop();
});

test('binds added and removed live: the new address serves, the removed one is closed, no process changes', async () => {
  const [a, b] = await Promise.all([startEcho('a'), startEcho('b')]);
  const [port, extra] = [await freePort(), await freePort()];
  const base = twoBackends(port, a.address, b.address, 'a');
  const h = await startHandoff(base);
  const pids = workerPids(await h.status());
  const withExtra = base.replace('backends:\n', `  api:\n    bind: 127.0.0.1:${extra}\n    default_backend: b\nbackends:\n`);
  const r = await h.reload(withExtra);
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stdout, /\(live\)/);
  for (let i = 0; i < 4; i++) assert.equal(servedBy(await request(extra, '/')), 'b', 'the added bind serves in every worker');
  const kept = new KeepAliveClient(extra);
  assert.equal(servedBy(await kept.request('/')), 'b');
  const back = await h.reload(base);
  assert.equal(back.code, 0, back.stderr);
  await assert.rejects(request(extra, '/', { timeoutMs: 2000 }), 'the removed bind no longer accepts');
  // A connection accepted on the removed bind finishes its next request, then closes.
  const last = await kept.request('/');
  assert.equal(last.status, 200);
  assert.equal(last.headers.connection, 'close');
  assert.equal(servedBy(await request(port, '/')), 'a');
  const s = await h.status();
  assert.deepEqual(workerPids(s), pids);
  assert.deepEqual(
    s.listeners.map((l) => l.address),
    [`127.0.0.1:${port}`],
  );
  kept.close();
  await h.stop();
});

test('a removed server: its queued requests go to another server of the backend, or get the 503 page at once; none hangs', async () => {
  const [s1, s2] = await Promise.all([startEcho('s1'), startEcho('s2')]);
  const port = await freePort();
  const cfg = (servers: string, queue = '30s') => `workers: 1
log: { access: off }
timeouts: { queue: ${queue} }
frontends:
  web: { bind: 127.0.0.1:${port}, default_backend: app }
backends:
  app:
    servers:
${servers}`;
  const one = `      - { name: s1, address: ${s1.address}, maxconn: 1 }\n`;
  const two = `      - { name: s2, address: ${s2.address} }\n`;
  const h = await startHandoff(cfg(one));
  // s1 is busy with one slow request; three more wait in the queue.
  let busyDone = false;
  const busy = request(port, '/?delay=8000', { timeoutMs: 30_000 }).finally(() => (busyDone = true));
  await waitUntil('s1 busy', async () => ((await h.status()).backends.app?.servers.s1?.active ?? 0) === 1);
  const queued = [1, 2, 3].map(() => request(port, '/', { timeoutMs: 30_000 }));
  await waitUntil('three queued', async () => (await h.status()).backends.app?.queue === 3);
  // s1 leaves the config, s2 joins: the queue moves to s2 now.
  const apply = (yaml: string) => controlRequest(h.control, { type: 'apply', config: `control: ./handoff.sock\n${yaml}` });
  const r = await apply(cfg(two));
  assert.ok(r.ok && r.type === 'reload' && r.kind === 'live', JSON.stringify(r));
  const answers = await Promise.all(queued);
  assert.deepEqual(
    answers.map((x) => [x.status, servedBy(x)]),
    [
      [200, 's2'],
      [200, 's2'],
      [200, 's2'],
    ],
    'queued requests served by the other server',
  );
  assert.equal(busyDone, false, 'while the removed server still serves its request in flight');
  const done = await busy;
  assert.equal(done.status, 200, 'the in-flight request on the removed server finishes');
  assert.equal(servedBy(done), 's1');

  // Now the only server of the backend goes away while requests queue: 503 at once.
  assert.ok((await apply(cfg(one))).ok);
  let busy2Done = false;
  const busy2 = request(port, '/?delay=8000', { timeoutMs: 30_000 }).finally(() => (busy2Done = true));
  await waitUntil('s1 busy again', async () => ((await h.status()).backends.app?.servers.s1?.active ?? 0) === 1);
  const queued2 = [1, 2].map(() => request(port, '/', { timeoutMs: 30_000 }));
  await waitUntil('two queued', async () => (await h.status()).backends.app?.queue === 2);
  const r2 = await apply(cfg(`      - { name: s9, address: 127.0.0.1:9, weight: 0 }\n`));
  assert.ok(r2.ok, JSON.stringify(r2));
  const answers2 = await Promise.all(queued2);
  assert.deepEqual(
    answers2.map((x) => x.status),
    [503, 503],
    'no server left: the 503 page',
  );
  assert.equal(busy2Done, false, 'at once, not when a slot frees or at timeouts.queue');
  assert.equal((await busy2).status, 200);
  await h.stop();
});

test('handoff apply: a pushed config with errors names file:line:col and changes nothing; a valid one is written atomically and applied', async () => {
  const [a, b] = await Promise.all([startEcho('a'), startEcho('b')]);
  const port = await freePort();
  const h = await startHandoff(twoBackends(port, a.address, b.address, 'a'));
  const { chmodSync, readFileSync, readdirSync, statSync } = await import('node:fs');
  chmodSync(h.configFile, 0o640);
  const before = readFileSync(h.configFile, 'utf8');
  const { handoffRun } = await import('../helpers/processes.js');
  const { writeFileSync } = await import('node:fs');
  const { join } = await import('node:path');
  const bad = join(h.dir, 'pushed-bad.yaml');
  writeFileSync(bad, `control: ./handoff.sock\n${twoBackends(port, a.address, b.address, 'nope')}`);
  const r = await handoffRun(['apply', '-f', bad, '-s', h.control]);
  assert.equal(r.code, 1);
  // Errors name the master's config file (the document will live there), line and column.
  assert.match(r.stderr, new RegExp(`${h.configFile.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}:8:\\d+: .*nope`));
  assert.equal(readFileSync(h.configFile, 'utf8'), before, 'the file on disk is unchanged');
  assert.equal(servedBy(await request(port, '/')), 'a');

  const good = `control: ./handoff.sock\n${twoBackends(port, a.address, b.address, 'b')}`;
  const { spawnSync } = await import('node:child_process');
  const { entry } = await import('../helpers/paths.js');
  const viaStdin = spawnSync(process.execPath, [entry, 'apply', '-f', '-', '-s', h.control], {
    input: good,
    encoding: 'utf8',
    timeout: 60_000,
  });
  assert.equal(viaStdin.status, 0, viaStdin.stderr);
  assert.match(viaStdin.stdout, /applied \(live\): generation 2/);
  assert.equal(readFileSync(h.configFile, 'utf8'), good, "written over the master's config file");
  assert.equal(statSync(h.configFile).mode & 0o777, 0o640, 'with the same mode');
  assert.deepEqual(
    readdirSync(h.dir).filter((f) => f.endsWith('.tmp')),
    [],
    'no temporary file left',
  );
  assert.equal(servedBy(await request(port, '/')), 'b');
  // A restart resumes it: the file is what runs.
  const again = await h.reload();
  assert.match(again.stdout, /unchanged/);
  await h.stop();
});
