// The master at its file-descriptor limit. Everything is real: the master's limit is lowered
// with prlimit(1) on the running process, and its descriptors are taken by connections this
// test holds to its stats listener; a worker is killed with SIGKILL. The master must outlive
// every failure to start a worker, retry, show it in status, and recover once the
// descriptors are back. Floods of connections to the stats listener and the control socket
// must not take its descriptors in the first place.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import net from 'node:net';
import { renderStatus } from '../../src/cli/status.js';
import { CONTROL_MAXCONN } from '../../src/master/control-server.js';
import { STATS_MAXCONN } from '../../src/observe/stats-server.js';
import type { StatusReport } from '../../src/protocol/control.js';
import { startEcho } from '../helpers/echo.js';
import { startHandoff, type RunningHandoff } from '../helpers/handoff.js';
import { request } from '../helpers/http-client.js';
import { freePort } from '../helpers/net.js';
import { workersOf } from '../helpers/proc.js';
import { alive, handoffRun, stopAll } from '../helpers/processes.js';
import { waitUntil } from '../helpers/wait.js';

after(() => stopAll());

function openFds(pid: number): number[] {
  return readdirSync(`/proc/${pid}/fd`)
    .map(Number)
    .sort((a, b) => a - b);
}

/** The soft limit under which exactly `free` descriptor numbers are unused (new fds take the lowest free number). */
function limitLeaving(pid: number, free: number): number {
  const used = new Set(openFds(pid));
  let n = 0;
  for (let left = free; ; n++) {
    if (!used.has(n) && left-- === 0) return n;
  }
}

function hardLimit(pid: number): string {
  const line = readFileSync(`/proc/${pid}/limits`, 'utf8')
    .split('\n')
    .find((l) => l.startsWith('Max open files'))!;
  return line.split(/\s+/)[4]!;
}

/** Lower (or raise) the soft RLIMIT_NOFILE of the running process `pid`; the hard limit stays. */
function setSoftNofile(pid: number, soft: number | string): void {
  execFileSync('prlimit', ['--pid', String(pid), `--nofile=${soft}:${hardLimit(pid)}`]);
}

function connectAll(port: number, n: number): Promise<net.Socket[]> {
  return Promise.all(
    Array.from(
      { length: n },
      () =>
        new Promise<net.Socket>((resolve, reject) => {
          const s = net.connect({ port, host: '127.0.0.1' });
          s.once('connect', () => resolve(s));
          s.once('error', reject);
        }),
    ),
  );
}

/** `n` connections to a TCP port or a UNIX socket path, opened at once; errors (the peer closing) are ignored. Resolves once each connected or failed. */
async function flood(target: number | string, n: number): Promise<{ sockets: net.Socket[]; closed: () => number }> {
  let closed = 0;
  const sockets = Array.from({ length: n }, () => {
    const s = typeof target === 'number' ? net.connect({ port: target, host: '127.0.0.1' }) : net.connect(target);
    s.on('error', () => {});
    s.once('close', () => closed++);
    return s;
  });
  await Promise.all(
    sockets.map(
      (s) =>
        new Promise<void>((resolve) => {
          s.once('connect', () => resolve());
          s.once('close', () => resolve());
        }),
    ),
  );
  return { sockets, closed: () => closed };
}

/** GET /status.json over a connection the master already accepted (it costs the master no new descriptor). */
function statusOver(socket: net.Socket): Promise<StatusReport> {
  return new Promise((resolve, reject) => {
    const req = http.get({ createConnection: () => socket, path: '/status.json', headers: { host: 'stats' } }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (c: string) => (body += c));
      res.on('end', () =>
        res.statusCode === 200 ? resolve(JSON.parse(body) as StatusReport) : reject(new Error(`status ${res.statusCode}: ${body}`)),
      );
    });
    req.on('error', reject);
  });
}

async function startWithStats(workers: number): Promise<{ h: RunningHandoff; port: number; statsPort: number }> {
  const a = await startEcho('a');
  const [port, statsPort] = [await freePort(), await freePort()];
  const h = await startHandoff(`workers: ${workers}
log: { access: off }
stats: { bind: 127.0.0.1:${statsPort} }
frontends:
  web: { bind: 127.0.0.1:${port}, default_backend: a }
backends:
  a: { servers: [ { name: a, address: ${a.address} } ] }
`);
  return { h, port, statsPort };
}

test('a worker that cannot be replaced (EMFILE): the master lives, retries, shows it, and recovers once descriptors are free', async () => {
  const { h, port, statsPort } = await startWithStats(2);
  const master = h.proc.pid;
  // The test's connections hold descriptors of the master.
  const base = openFds(master).length;
  const held = await connectAll(statsPort, 8);
  await waitUntil('the master accepted the connections', () => openFds(master).length >= base + held.length);
  // Two numbers left free; the killed worker's IPC socket makes three: a fork needs four
  // (the IPC socket pair and libuv's exec-error pipe).
  setSoftNofile(master, limitLeaving(master, 2));
  const [victim] = workersOf(master);
  process.kill(victim!.pid, 'SIGKILL');

  await h.proc.waitFor(/could not start a replacement worker; retrying .*error="spawn EMFILE"/, 15_000);
  assert.ok(alive(master), 'the master is alive');
  assert.equal((await request(port, '/')).status, 200, 'the other worker serves');

  const starved = await statusOver(held[0]!);
  const g = starved.generations.find((x) => x.state === 'active')!;
  assert.equal(g.workersWanted, 2);
  assert.equal(g.workers.length, 1);
  assert.ok(g.respawn && g.respawn.failures >= 1, JSON.stringify(g));
  assert.match(g.respawn.lastError ?? '', /spawn EMFILE/);
  assert.ok(g.respawn.nextAttemptAt !== undefined, 'a next attempt is scheduled');
  assert.match(renderStatus(starved), /workers 1 of 2 {2}\d+ failed starts?, last: spawn EMFILE .* next attempt in \d+s/);

  // A reload that needs new processes (another workers count) cannot start its generation:
  // it fails, and generation 1 keeps serving.
  writeFileSync(h.configFile, readFileSync(h.configFile, 'utf8').replace('workers: 2', 'workers: 3'));
  process.kill(master, 'SIGHUP');
  await h.proc.waitFor(/reload failed .*did not start/, 15_000);
  assert.ok(alive(master), 'the master outlived the failed reload');
  assert.equal((await request(port, '/')).status, 200);

  // Free the descriptors: the next attempt starts the replacement.
  for (const s of held) s.destroy();
  await waitUntil(
    'a replacement worker is ready',
    async () => {
      const s = await h.status();
      const active = s.generations.find((x) => x.state === 'active');
      return active?.number === 1 && active.workers.length === 2 && active.workers.every((w) => w.state === 'ready');
    },
    30_000,
    200,
  );
  assert.match(h.proc.output(), /replacement worker ready/);
  assert.equal((await request(port, '/')).status, 200);
  setSoftNofile(master, hardLimit(master));
  assert.equal(await h.stop(), 0);
});

test("a flood of connections to the stats listener cannot take the master's descriptors: status and reload still work", async () => {
  const { h, port, statsPort } = await startWithStats(1);
  const master = h.proc.pid;
  // Room for the stats listener's bound and some, not for a flood.
  setSoftNofile(master, limitLeaving(master, STATS_MAXCONN + 24));
  const base = openFds(master).length;
  const f = await flood(statsPort, STATS_MAXCONN * 4);
  try {
    await waitUntil('the flood reached the master', () => openFds(master).length >= base + STATS_MAXCONN);
    const s = await h.status();
    assert.equal(s.master.pid, master);
    const r = await h.reload();
    assert.equal(r.code, 0, r.stderr);
    assert.equal((await request(port, '/')).status, 200);
    assert.ok(openFds(master).length < STATS_MAXCONN + 40, `the master holds ${openFds(master).length} descriptors`);
  } finally {
    for (const s of f.sockets) s.destroy();
  }
  setSoftNofile(master, hardLimit(master));
  assert.equal(await h.stop(), 0);
});

test('control clients that connect and send nothing are closed by the master', async () => {
  const { h } = await startWithStats(1);
  const master = h.proc.pid;
  const base = openFds(master).length;
  const idle = await flood(h.control, CONTROL_MAXCONN);
  await waitUntil('every idle control client was closed', () => idle.closed() === CONTROL_MAXCONN, 20_000, 100);
  assert.ok(openFds(master).length <= base + 1, 'their descriptors are released');
  const r = await handoffRun(['status', '-s', h.control]);
  assert.equal(r.code, 0, r.stderr);
  assert.equal(await h.stop(), 0);
});
