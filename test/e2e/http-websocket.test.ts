// WebSocket (HTTP Upgrade) through handoff: after the server's 101 the connection is a
// tunnel of raw bytes both ways. A `ws` client exchanges 10,000 messages with the echo
// server; the tunnel closes cleanly from either side, and after timeouts.tunnel of silence.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import WebSocket from 'ws';
import { startEcho } from '../helpers/echo.js';
import type { RunningHandoff } from '../helpers/handoff.js';
import { stopAll } from '../helpers/processes.js';
import { waitUntil } from '../helpers/wait.js';
import { RawClient } from './support/raw-client.js';
import { startProxy } from './support/proxy.js';

const TUNNEL_MS = 800;

function open(url: string, opts: WebSocket.ClientOptions = {}): Promise<{ ws: WebSocket; upgrade: import('node:http').IncomingMessage }> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(url, { handshakeTimeout: 5000, ...opts });
    ws.once('upgrade', (upgrade) => ws.once('open', () => resolve({ ws, upgrade })));
    ws.once('error', reject);
  });
}

function closed(ws: WebSocket, timeoutMs = 5000): Promise<{ code: number; ms: number }> {
  const t0 = Date.now();
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`websocket still open after ${timeoutMs} ms`)), timeoutMs);
    ws.once('close', (code) => {
      clearTimeout(timer);
      resolve({ code, ms: Date.now() - t0 });
    });
  });
}

describe('WebSocket through handoff', () => {
  let port: number;
  let h: RunningHandoff;
  const sockets: WebSocket[] = [];

  before(async () => {
    const echo = await startEcho('echo');
    const started = await startProxy(
      1,
      ([port]) => `
workers: 1
log: { access: off }
frontends:
  web:
    bind: 127.0.0.1:${port}
    default_backend: echo
    routes:
      - { host: short.test, backend: short }
backends:
  echo: { servers: [ { name: e1, address: ${echo.address} } ] }
  short:
    timeouts: { tunnel: ${TUNNEL_MS}ms }
    servers: [ { name: e1, address: ${echo.address} } ]
`,
    );
    h = started.h;
    port = started.ports[0]!;
  });
  after(async () => {
    for (const ws of sockets) ws.terminate();
    await stopAll();
  });

  it('exchanges 10,000 messages (text and binary, in order) with the echo server', async () => {
    const { ws, upgrade } = await open(`ws://127.0.0.1:${port}/chat`);
    sockets.push(ws);
    assert.equal(upgrade.statusCode, 101);
    assert.equal(upgrade.headers['x-server'], 'echo');
    const total = 10_000;
    const window = 100; // messages in flight at most: bounded, and fast
    let sent = 0;
    let received = 0;
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`only ${received} of ${total} echoes after 60 s`)), 60_000);
      const send = () => {
        while (sent < total && sent - received < window) {
          const i = sent++;
          if (i % 2) ws.send(Buffer.from(`binary ${i}`));
          else ws.send(`text ${i}`);
        }
      };
      ws.on('message', (data, isBinary) => {
        const i = received++;
        try {
          assert.equal(isBinary, i % 2 === 1, `message ${i} kind`);
          assert.equal(data.toString(), `${i % 2 ? 'binary' : 'text'} ${i}`);
        } catch (err) {
          clearTimeout(timer);
          reject(err as Error);
          return;
        }
        if (received === total) {
          clearTimeout(timer);
          resolve();
        } else send();
      });
      ws.on('error', reject);
      send();
    });
    assert.equal(received, total);
    ws.close(1000, 'done');
    const c = await closed(ws);
    assert.equal(c.code, 1000);
    // The tunnel is gone from the worker too.
    await waitUntil('the tunnel to end in the worker', async () => (await h.status()).totals.connections.tunnel === 0, 10_000, 100);
  });

  it('large binary messages both ways (1 MiB each)', async () => {
    const { ws } = await open(`ws://127.0.0.1:${port}/big`);
    sockets.push(ws);
    const payload = Buffer.alloc(1024 * 1024, 7);
    for (let i = 0; i < 5; i++) {
      const echoed = new Promise<Buffer>((resolve) => ws.once('message', (d) => resolve(d as Buffer)));
      payload[0] = i;
      ws.send(payload);
      assert.ok((await echoed).equals(payload));
    }
    ws.close();
    await closed(ws);
  });

  it("the raw upgrade: the 101 carries Connection: upgrade and the bytes after it are the tunnel's", async () => {
    const c = await RawClient.connect(port);
    try {
      c.send(
        'GET /raw HTTP/1.1\r\nHost: a\r\nConnection: Upgrade\r\nUpgrade: websocket\r\nSec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\r\n',
      );
      const r = await c.readResponse();
      assert.equal(r.status, 101);
      assert.equal(r.header('connection')?.toLowerCase(), 'upgrade');
      assert.equal(r.header('upgrade')?.toLowerCase(), 'websocket');
      assert.equal(r.header('sec-websocket-accept'), 's3pPLMBiTxaQ9kYGzzhZRbK+xOo=');
      // A masked text frame "hi"; the echo answers with the unmasked frame.
      const mask = [1, 2, 3, 4];
      c.send(Buffer.from([0x81, 0x82, ...mask, 'h'.charCodeAt(0) ^ mask[0]!, 'i'.charCodeAt(0) ^ mask[1]!]));
      await waitUntil('the echoed frame', () => c.unread.length >= 4, 5000);
      assert.deepEqual([...c.unread], [0x81, 0x02, 0x68, 0x69]);
    } finally {
      c.destroy();
    }
  });

  it('a refused upgrade (the server answers 400) stays plain HTTP', async () => {
    const c = await RawClient.connect(port);
    try {
      c.send('GET /raw HTTP/1.1\r\nHost: a\r\nConnection: Upgrade\r\nUpgrade: not-a-protocol\r\n\r\n');
      const r = await c.readResponse();
      assert.equal(r.status, 400);
      c.send('GET /after HTTP/1.1\r\nHost: a\r\n\r\n');
      const r2 = await c.readResponse();
      assert.equal(r2.status, 200);
    } finally {
      c.destroy();
    }
  });

  it('a tunnel silent for timeouts.tunnel is closed, in about that time', async () => {
    const { ws } = await open(`ws://127.0.0.1:${port}/idle`, { headers: { host: 'short.test' } });
    sockets.push(ws);
    ws.send('one message');
    await new Promise((r) => ws.once('message', r));
    const c = await closed(ws, 6000);
    assert.ok(c.ms >= TUNNEL_MS * 0.6 && c.ms < TUNNEL_MS + 3000, `closed after ${c.ms} ms of silence (timeout ${TUNNEL_MS})`);
    assert.equal(c.code, 1006, 'the tunnel is cut, not closed by either WebSocket peer');
  });

  it('a close from the client goes through the tunnel and comes back with its code', async () => {
    const { ws } = await open(`ws://127.0.0.1:${port}/leave`);
    sockets.push(ws);
    ws.close(4001, 'bye');
    const c = await closed(ws);
    assert.equal(c.code, 4001);
  });
});
