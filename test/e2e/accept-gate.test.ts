// File descriptors under pressure. A frontend's maxconn must cap what a worker holds: past
// it the worker stops accepting and the excess clients wait in the kernel's accept queue,
// then are served as earlier ones leave (nothing refused, nothing hangs). And a worker out
// of file descriptors must not blame the servers: a connect failing with EMFILE is a 503
// for that request, never a passive health failure, and service comes back once fds free.
import { after, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import net from 'node:net';
import { startHandoff, workerPids } from '../helpers/handoff.js';
import { request } from '../helpers/http-client.js';
import { freePort } from '../helpers/net.js';
import { entry } from '../helpers/paths.js';
import { handoffRun, spawnTracked, stopAll } from '../helpers/processes.js';
import { waitUntil } from '../helpers/wait.js';
import type { StatusReport } from '../../src/protocol/control.js';
import { ok, startRawBackend, type RawBackend } from './support/raw-backend.js';
import { RawClient } from './support/raw-client.js';

function fdCount(pid: number): number {
  return readdirSync(`/proc/${pid}/fd`).length;
}

function connectionsOf(s: StatusReport, pid: number): number {
  const w = s.generations.flatMap((g) => g.workers).find((x) => x.pid === pid);
  return w?.connections ? Object.values(w.connections).reduce((a, b) => a + b, 0) : -1;
}

describe('file descriptors: maxconn and local shortages', () => {
  const backends: RawBackend[] = [];
  const clients: net.Socket[] = [];
  after(async () => {
    for (const c of clients) c.destroy();
    for (const b of backends) await b.close();
    await stopAll();
  });

  it('at maxconn a worker stops accepting: its fds stay bounded, the excess waits in the kernel and is served later', async (t) => {
    const backend = await startRawBackend(() => ok('served'));
    backends.push(backend);
    const port = await freePort();
    const MAXCONN = 20;
    const FLOOD = 200;
    const lb = await startHandoff(`workers: 1
log: { access: off }
frontends:
  web: { bind: 127.0.0.1:${port}, default_backend: a, maxconn: ${MAXCONN} }
backends:
  a: { servers: [ { name: a, address: ${backend.address} } ] }
`);
    const [worker] = workerPids(await lb.status());
    assert.ok(worker);
    // One request first, so that the worker's pooled server connection is counted in the base.
    assert.equal((await request(port, '/warm')).status, 200);
    const base = fdCount(worker);
    // FLOOD idle connections: the kernel completes every handshake (backlog 511).
    const flood: net.Socket[] = [];
    for (let i = 0; i < FLOOD; i++) {
      const s = net.connect({ port, host: '127.0.0.1' });
      s.on('error', () => {});
      flood.push(s);
      clients.push(s);
    }
    await Promise.all(flood.map((s) => new Promise((r) => (s.readyState === 'open' ? r(null) : s.once('connect', r)))));
    await waitUntil('the worker holding maxconn connections', async () => connectionsOf(await lb.status(), worker) === MAXCONN);
    const held = fdCount(worker);
    t.diagnostic(`worker fds: ${base} before, ${held} with ${FLOOD} clients at maxconn ${MAXCONN}`);
    assert.ok(held <= base + MAXCONN + 4, `worker holds ${held} fds (base ${base}, maxconn ${MAXCONN})`);
    // Every client now asks; the first MAXCONN are answered and close, the others are
    // accepted as they do: every one is served.
    const answers = await Promise.all(
      flood.map(
        (s) =>
          new Promise<string>((resolve) => {
            let got = '';
            s.on('data', (c: Buffer) => (got += c.toString('latin1')));
            s.on('close', () => resolve(got));
            s.write('GET /flood HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n');
          }),
      ),
    );
    const served = answers.filter((a) => a.startsWith('HTTP/1.1 200')).length;
    assert.equal(served, FLOOD, `every client was served (${served} of ${FLOOD})`);
    // Client connections plus, now, up to one pooled server connection per concurrent request.
    assert.ok(fdCount(worker) <= base + 2 * MAXCONN + 4, `worker holds ${fdCount(worker)} fds after the flood`);
    await lb.stop();
  });

  it('EMFILE on server connects: a 503, the server stays up, service recovers once fds free', async (t) => {
    // Every response closes its connection: each request needs a new server connection.
    const backend = await startRawBackend(() => ok('fresh', 'Connection: close\r\n'));
    backends.push(backend);
    const port = await freePort();
    const dir = mkdtempSync(join(tmpdir(), 'handoff-test-'));
    const control = join(dir, 'handoff.sock');
    writeFileSync(
      join(dir, 'handoff.yaml'),
      `control: ./handoff.sock
workers: 1
log: { access: off }
timeouts: { http-request: 5m }
frontends:
  web: { bind: 127.0.0.1:${port}, default_backend: a }
backends:
  a: { passive: { fall: 2 }, servers: [ { name: a, address: ${backend.address} } ] }
`,
    );
    const LIMIT = 64;
    const master = spawnTracked('prlimit', [
      `--nofile=${LIMIT}:${LIMIT}`,
      process.execPath,
      entry,
      'start',
      '-f',
      join(dir, 'handoff.yaml'),
    ]);
    void master.exited.then(() => rmSync(dir, { recursive: true, force: true }));
    await master.waitFor(/handoff started/, 20_000);
    const status = async (): Promise<StatusReport> =>
      JSON.parse((await handoffRun(['status', '--json', '-s', control])).stdout) as StatusReport;
    const [worker] = workerPids(await status());
    assert.ok(worker);
    assert.equal((await request(port, '/before')).status, 200);
    // Idle clients until the worker has no fd left: libuv then accepts and closes the
    // newcomers (its EMFILE trick), which is how the test knows.
    const idle: RawClient[] = [];
    let refused: RawClient | undefined;
    for (let i = 0; i < LIMIT + 16 && !refused; i++) {
      const before = fdCount(worker);
      const c = await RawClient.connect(port);
      clients.push(c.socket);
      await waitUntil('the worker to accept it (or to close it)', () => fdCount(worker) !== before || c.closed, 2000).catch(
        () => undefined,
      );
      if (c.closed) refused = c;
      else idle.push(c);
    }
    assert.ok(refused, 'the worker ran out of fds');
    const alive = idle.filter((c) => !c.closed);
    t.diagnostic(`worker fds ${fdCount(worker)} (ulimit -n ${LIMIT}); ${alive.length} idle clients`);
    assert.ok(alive.length >= 3, `${alive.length} accepted clients`);
    for (let i = 0; i < 3; i++) {
      alive[i]!.send('GET /starved HTTP/1.1\r\nHost: a\r\n\r\n');
      const r = await alive[i]!.readResponse();
      assert.equal(r.status, 503, 'a local shortage is a 503');
    }
    const servers = (await status()).backends.a?.servers;
    t.diagnostic(`server a after EMFILE: ${JSON.stringify(servers?.a)}`);
    assert.equal(servers?.a?.operational, 'up', 'the server is not blamed for the worker being out of fds');
    assert.match(master.output(), /out of file descriptors/);
    // Free fds: close most idle clients; the next request is served.
    for (const c of alive.slice(3)) c.socket.destroy();
    await waitUntil('fds freed', () => fdCount(worker) < LIMIT - 8);
    alive[0]!.send('GET /after HTTP/1.1\r\nHost: a\r\n\r\n');
    assert.equal((await alive[0]!.readResponse()).status, 200);
    for (const c of alive) c.socket.destroy();
    await master.stop('SIGTERM', 30_000);
  });
});
