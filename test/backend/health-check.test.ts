import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import net from 'node:net';
import { HealthChecker } from '../../src/backend/health-check.js';
import { probe } from '../../src/backend/health-probe.js';
import type { OperationalState, StateCause, StateChange } from '../../src/backend/types.js';
import { waitUntil } from '../helpers/wait.js';
import { address, makeBackend, makeRuntime } from './make-backend.js';

const closers: (() => Promise<void>)[] = [];
after(async () => {
  for (const c of closers) await c();
});

interface TestHttp {
  port: number;
  requests: { method?: string; url?: string; headers: http.IncomingHttpHeaders }[];
  status: number;
  close(): Promise<void>;
}

async function startHttp(port = 0): Promise<TestHttp> {
  const t: TestHttp = { port: 0, requests: [], status: 200, close: async () => {} };
  const server = http.createServer((req, res) => {
    t.requests.push({ method: req.method, url: req.url, headers: req.headers });
    res.writeHead(t.status, { 'content-type': 'text/plain' });
    res.end('ok\n');
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, '127.0.0.1', () => resolve());
  });
  t.port = (server.address() as net.AddressInfo).port;
  let closed = false;
  t.close = () =>
    new Promise<void>((resolve) => {
      if (closed) return resolve();
      closed = true;
      server.closeAllConnections();
      server.close(() => resolve());
    });
  closers.push(t.close);
  return t;
}

/** A raw TCP server; `onSocket` decides what it does with each connection. */
async function startTcp(onSocket: (s: net.Socket) => void, port = 0): Promise<{ port: number; close(): Promise<void> }> {
  const sockets = new Set<net.Socket>();
  const server = net.createServer((s) => {
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
    s.on('error', () => {});
    onSocket(s);
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, '127.0.0.1', () => resolve());
  });
  let closed = false;
  const close = () =>
    new Promise<void>((resolve) => {
      if (closed) return resolve();
      closed = true;
      for (const s of sockets) s.destroy();
      server.close(() => resolve());
    });
  closers.push(close);
  return { port: (server.address() as net.AddressInfo).port, close };
}

function detailOf(c: StateChange): string {
  return 'detail' in c.cause ? c.cause.detail : '';
}

test('http check: up, down after fall failures with the cause, up again after rise', { timeout: 30_000 }, async () => {
  const srv = await startHttp();
  const { rt, lines } = makeRuntime({
    servers: [{ name: 'web', port: srv.port }],
    health: { type: 'http', interval: 50, timeout: 1000, rise: 2, fall: 3, method: 'GET', path: '/healthz', host: 'check.example' },
  });
  const changes: StateChange[] = [];
  rt.onStateChange((c) => changes.push(c));
  const web = rt.server('web')!;
  assert.equal(web.operational, 'starting');
  const checker = rt.startHealthChecks();
  closers.push(async () => rt.close());

  await waitUntil('web up', () => web.operational === 'up', 10_000);
  assert.deepEqual(changes[0]!.cause, { kind: 'check', detail: 'status 200' });
  assert.equal(srv.requests.length, 1, 'a starting server goes up on its first good check');
  const req = srv.requests[0]!;
  assert.equal(req.method, 'GET');
  assert.equal(req.url, '/healthz');
  assert.equal(req.headers.host, 'check.example');
  assert.equal(req.headers['user-agent'], 'handoff-check');
  assert.equal(req.headers.connection, 'close');

  // Kill the server: down after `fall` failed checks, with the cause.
  await srv.close();
  await waitUntil('web down', () => web.operational === 'down', 10_000);
  const downChange = changes.at(-1)!;
  assert.deepEqual(downChange.from.operational, 'up');
  assert.equal(downChange.cause.kind, 'check');
  assert.equal(detailOf(downChange), 'connect ECONNREFUSED');
  assert.ok(
    lines.some((l) => /server=web .*from=up\/ready to=down\/ready cause=check detail="connect ECONNREFUSED"/.test(l)),
    lines.join('\n'),
  );

  // The same port again: up after `rise` good checks.
  const again = await startHttp(srv.port);
  await waitUntil('web up again', () => web.operational === 'up', 10_000);
  assert.equal(again.requests.length, 2, 'exactly rise=2 checks brought it up');
  assert.equal(changes.length, 3);

  // A bad status is a failure too.
  again.status = 503;
  await waitUntil('web down on 503', () => web.operational === 'down', 10_000);
  assert.equal(detailOf(changes.at(-1)!), 'status 503');
  checker.stop();
  assert.equal(checker.active, false);
  rt.close();
});

test('tcp check: down when the listener goes, up when it is back', { timeout: 30_000 }, async () => {
  const tcp = await startTcp((s) => s.end());
  const { rt } = makeRuntime({
    servers: [{ name: 't', port: tcp.port }],
    health: { type: 'tcp', interval: 50, timeout: 500, rise: 2, fall: 2 },
  });
  const t = rt.server('t')!;
  const changes: StateChange[] = [];
  rt.onStateChange((c) => changes.push(c));
  rt.startHealthChecks();
  closers.push(async () => rt.close());
  await waitUntil('t up', () => t.operational === 'up', 10_000);
  assert.equal(detailOf(changes[0]!), 'connected');
  await tcp.close();
  await waitUntil('t down', () => t.operational === 'down', 10_000);
  assert.equal(detailOf(changes.at(-1)!), 'connect ECONNREFUSED');
  await startTcp((s) => s.end(), tcp.port);
  await waitUntil('t up again', () => t.operational === 'up', 10_000);
  rt.close();
});

test('probe details: timeout, bad status line, closed, status range', { timeout: 30_000 }, async () => {
  const hc = makeBackend({ servers: ['x'], health: { type: 'http', interval: 1000, timeout: 200 } }).health!;
  const silent = await startTcp(() => {}); // accepts, never answers
  const started = Date.now();
  const r1 = await probe(address(silent.port), hc, { connectTimeout: 5000 });
  assert.deepEqual(r1, { ok: false, detail: 'timeout after 200ms' });
  const took = Date.now() - started;
  assert.ok(took >= 150 && took < 3000, `took ${took}ms`);

  const garbage = await startTcp((s) => s.end('garbage\r\n'));
  assert.deepEqual(await probe(address(garbage.port), hc, { connectTimeout: 5000 }), { ok: false, detail: 'bad status line' });

  const hangup = await startTcp((s) => s.end());
  assert.deepEqual(await probe(address(hangup.port), hc, { connectTimeout: 5000 }), { ok: false, detail: 'closed before status line' });

  const redirect = await startTcp((s) => s.end('HTTP/1.1 302 Found\r\nLocation: /x\r\n\r\n'));
  assert.deepEqual(await probe(address(redirect.port), hc, { connectTimeout: 5000 }), { ok: true, detail: 'status 302' });
  const strict = { ...hc, expect: { min: 200, max: 299 } };
  assert.deepEqual(await probe(address(redirect.port), strict, { connectTimeout: 5000 }), { ok: false, detail: 'status 302' });

  const ac = new AbortController();
  const pending = probe(address(silent.port), { ...hc, timeout: 10_000 }, { connectTimeout: 5000, signal: ac.signal });
  ac.abort();
  assert.deepEqual(await pending, { ok: false, detail: 'aborted' });
});

test('a forwarding checker reports transitions only, and stop() ends the checks', { timeout: 30_000 }, async () => {
  const srv = await startHttp();
  const backend = makeBackend({
    servers: [{ name: 'a', port: srv.port }],
    health: { type: 'http', interval: 50, timeout: 1000, rise: 2, fall: 2 },
  });
  const reports: [string, OperationalState, StateCause][] = [];
  const checker = new HealthChecker(backend, (key, op, cause) => reports.push([key, op, cause]), { jitter: false }).start();
  closers.push(async () => checker.stop());
  await waitUntil('first report', () => reports.length >= 1, 10_000);
  await waitUntil('a few more checks', () => srv.requests.length >= 5, 10_000);
  assert.deepEqual(reports, [[`app/a@127.0.0.1:${srv.port}`, 'up', { kind: 'check', detail: 'status 200' }]]);
  assert.equal(checker.state(`app/a@127.0.0.1:${srv.port}`), 'up');
  checker.stop();
  const count = srv.requests.length;
  await new Promise((r) => setTimeout(r, 300)); // six intervals: no check may start
  assert.ok(srv.requests.length <= count + 1, `${srv.requests.length - count} checks after stop`);
});

test('a checker started from a snapshot needs rise checks for a known-down server', { timeout: 30_000 }, async () => {
  const srv = await startHttp();
  const backend = makeBackend({
    servers: [{ name: 'a', port: srv.port }],
    health: { type: 'http', interval: 50, timeout: 1000, rise: 3, fall: 2 },
  });
  const key = `app/a@127.0.0.1:${srv.port}`;
  const reports: OperationalState[] = [];
  const checker = new HealthChecker(backend, (_k, op) => reports.push(op), {
    initial: { servers: { [key]: { operational: 'down', since: 0 } } },
  }).start();
  closers.push(async () => checker.stop());
  await waitUntil('up', () => reports.length >= 1, 10_000);
  assert.deepEqual(reports, ['up']);
  assert.ok(srv.requests.length >= 3, `${srv.requests.length} checks`);
  checker.stop();
});

test('a backend without health checks starts no checker', () => {
  const { rt } = makeRuntime({ servers: ['a'] });
  const checker = rt.startHealthChecks();
  assert.equal(checker.active, false);
  rt.close();
});
