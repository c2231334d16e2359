// The clients count what they see: a reset or EOF under a request is that request's
// failure (never retried away), a close between requests is not, an answer from a backend
// the routing does not allow is a wrong-backend failure. Against a raw loopback server
// that misbehaves on purpose.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import net from 'node:net';
import { socketAddress } from '../../src/config/address.js';
import { runKeepAliveClient } from '../../src/storm/keepalive-client.js';
import { runFreshClient } from '../../src/storm/fresh-client.js';
import { LoadTally } from '../../src/storm/load-tally.js';
import { RouteHistory } from '../../src/storm/route-history.js';
import { loadTarget } from '../../src/storm/routing.js';
import type { LoadContext } from '../../src/storm/load-context.js';
import { waitUntil } from '../helpers/wait.js';

type Behaviour = (n: number, socket: net.Socket) => void;

const servers: net.Server[] = [];
after(() => Promise.all(servers.map((s) => new Promise((r) => s.close(r)))));

const ok = (socket: net.Socket, server = 'a', extra = '') =>
  socket.write(`HTTP/1.1 200 OK\r\nX-Server: ${server}\r\nContent-Length: 2\r\n${extra}\r\nok`);

/** A server that calls behave(n) for the n-th request (from 1) it receives, over all connections. */
async function rawServer(behave: Behaviour): Promise<{ port: number; requests: () => number }> {
  let n = 0;
  const server = net.createServer((socket) => {
    let buf = '';
    socket.on('error', () => {});
    socket.on('data', (c) => {
      buf += c.toString('latin1');
      for (let end = buf.indexOf('\r\n\r\n'); end >= 0; end = buf.indexOf('\r\n\r\n')) {
        buf = buf.slice(end + 4);
        behave(++n, socket);
      }
    });
  });
  servers.push(server);
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return { port: (server.address() as net.AddressInfo).port, requests: () => n };
}

function context(routing: Map<string, ReadonlySet<string>>, rate: number): { ctx: LoadContext; tally: LoadTally; stop: () => void } {
  const t0 = performance.now();
  const tally = new LoadTally(new RouteHistory(routing));
  const stop = new AbortController();
  return { ctx: { now: () => performance.now() - t0, tally, timeoutMs: 2000, rate, signal: stop.signal }, tally, stop: () => stop.abort() };
}

test('keep-alive: a reset and an EOF under requests are two failures, each request sent once', async () => {
  const srv = await rawServer((n, socket) => {
    if (n === 2) socket.resetAndDestroy();
    else if (n === 4) socket.end();
    else ok(socket);
  });
  const target = loadTarget(socketAddress('127.0.0.1', srv.port), 'a.test', '/storm');
  const { ctx, tally, stop } = context(new Map([[target.key, new Set(['a'])]]), 200);
  const client = runKeepAliveClient(ctx, 0, [target]);
  await waitUntil('8 requests', () => srv.requests() >= 8, 10_000);
  stop();
  await client;
  assert.deepEqual(Object.fromEntries(tally.byKind), { reset: 1, eof: 1 });
  assert.equal(tally.failed, 2);
  assert.equal(tally.sent, srv.requests(), 'no request was retried behind our back');
  assert.equal(tally.totals().keepalive.closedIdle, 0);
});

test('keep-alive: a close between requests is not a failure; Connection: close is honoured', async () => {
  const srv = await rawServer((n, socket) => {
    if (n % 3 === 0) ok(socket, 'a', 'Connection: close\r\n');
    else ok(socket);
    if (n % 3 === 0) socket.end();
    else if (n % 3 === 1) setTimeout(() => socket.end(), 10); // idle close, long before the next request (rate 20/s)
  });
  const target = loadTarget(socketAddress('127.0.0.1', srv.port), 'a.test', '/storm');
  const { ctx, tally, stop } = context(new Map([[target.key, new Set(['a'])]]), 20);
  const client = runKeepAliveClient(ctx, 0, [target]);
  await waitUntil('6 requests', () => srv.requests() >= 6, 10_000);
  stop();
  await client;
  assert.equal(tally.failed, 0, JSON.stringify(Object.fromEntries(tally.byKind)));
  assert.ok(tally.totals().keepalive.closedIdle >= 1);
});

test('fresh: 503 and an answer from a backend the routing does not allow are failures by kind', async () => {
  const srv = await rawServer((n, socket) => {
    if (n === 1) socket.write('HTTP/1.1 503 Service Unavailable\r\nContent-Length: 0\r\nConnection: close\r\n\r\n');
    else ok(socket, n === 2 ? 'intruder' : 'a', 'Connection: close\r\n');
    socket.end();
  });
  const target = loadTarget(socketAddress('127.0.0.1', srv.port), 'a.test', '/storm');
  const { ctx, tally, stop } = context(new Map([[target.key, new Set(['a'])]]), 100);
  const client = runFreshClient(ctx, 0, [target]);
  await waitUntil('4 requests', () => srv.requests() >= 4, 10_000);
  stop();
  await client;
  assert.deepEqual(Object.fromEntries(tally.byKind), { 'http-503': 1, 'wrong-backend': 1 });
  assert.equal(tally.examples.find((e) => e.key === 'wrong-backend')?.detail, 'answered by intruder, the config in force routes it to a');
});

test('fresh: nothing listening is "refused"', async () => {
  const srv = await rawServer(() => {});
  const port = srv.port;
  await new Promise((r) => servers.pop()!.close(r));
  const target = loadTarget(socketAddress('127.0.0.1', port), 'a.test', '/storm');
  const { ctx, tally, stop } = context(new Map([[target.key, new Set(['a'])]]), 100);
  const client = runFreshClient(ctx, 0, [target]);
  await waitUntil('a refused connection', () => tally.failed >= 2, 10_000);
  stop();
  await client;
  assert.deepEqual([...tally.byKind.keys()], ['refused']);
});
