// The WebSocket client checks every echo: one with other content is a ws-mismatch, and
// when the connection breaks every echo still owed is a failure (not silently dropped).
// Against a `ws` server on loopback that misbehaves on purpose.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import type { AddressInfo } from 'node:net';
import { WebSocketServer } from 'ws';
import { socketAddress } from '../../src/config/address.js';
import { LoadTally } from '../../src/storm/load-tally.js';
import { RouteHistory } from '../../src/storm/route-history.js';
import { loadTarget } from '../../src/storm/routing.js';
import { runWebSocketClient } from '../../src/storm/websocket-client.js';
import { waitUntil } from '../helpers/wait.js';

const servers: WebSocketServer[] = [];
after(() => Promise.all(servers.map((s) => new Promise((r) => s.close(r)))));

async function server(
  onMessage: (text: string, n: number, socket: import('ws').WebSocket) => void,
): Promise<{ port: number; messages: () => number }> {
  let n = 0;
  const wss = new WebSocketServer({ host: '127.0.0.1', port: 0 });
  servers.push(wss);
  wss.on('headers', (headers) => headers.push('X-Server: a'));
  wss.on('connection', (socket) => socket.on('message', (data) => onMessage(data.toString(), ++n, socket)));
  await new Promise<void>((r) => wss.once('listening', r));
  return { port: (wss.address() as AddressInfo).port, messages: () => n };
}

async function run(port: number, until: (tally: LoadTally) => boolean): Promise<LoadTally> {
  const target = loadTarget(socketAddress('127.0.0.1', port), 'a.test', '/storm');
  const tally = new LoadTally(new RouteHistory(new Map([[target.key, new Set(['a'])]])));
  const stop = new AbortController();
  const t0 = performance.now();
  const client = runWebSocketClient({ now: () => performance.now() - t0, tally, timeoutMs: 2000, rate: 0, signal: stop.signal }, 0, [
    target,
  ]);
  await waitUntil('the client to get far enough', () => until(tally), 10_000);
  stop.abort();
  await client;
  return tally;
}

test('echoes in order are ok; an echo with other content is a ws-mismatch and the connection is abandoned', async () => {
  const srv = await server((text, n, socket) => socket.send(n === 5 ? `${text}!` : text));
  const tally = await run(srv.port, (t) => t.ok >= 20);
  assert.equal(tally.byKind.get('ws-mismatch'), 1 + 2, 'the altered echo, and the two after it in flight');
  assert.equal(tally.failed, 3);
  assert.equal(tally.totals().websocket.sent, tally.totals().websocket.ok + 3);
});

test('a connection cut with echoes outstanding: each of them is a failure', async () => {
  const srv = await server((text, n, socket) => {
    if (n === 10) socket.terminate();
    else socket.send(text);
  });
  const tally = await run(srv.port, (t) => t.failed > 0 && t.ok > 15);
  const kinds = Object.fromEntries(tally.byKind);
  const failed = (kinds.eof ?? 0) + (kinds.reset ?? 0);
  assert.ok(failed >= 1 && failed <= 3, JSON.stringify(kinds));
  assert.equal(tally.failed, failed);
});
