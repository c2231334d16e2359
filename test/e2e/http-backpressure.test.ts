// Back-pressure in the HTTP engine, with peers that never read: a server streaming 1xx
// interim responses without end, a client pipelining requests without reading a response,
// a WebSocket tunnel whose client does not read. In each case what the peers manage to push
// through the proxy must be bounded (their sockets back up), and so must the worker's memory.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import net from 'node:net';
import { startHandoff, workerPids, type RunningHandoff } from '../helpers/handoff.js';
import { request } from '../helpers/http-client.js';
import { freePort, writable } from '../helpers/net.js';
import { stopAll } from '../helpers/processes.js';
import { delay } from '../helpers/wait.js';

const MiB = 1024 * 1024;
/** A pushing peer stops here; with back-pressure it is blocked long before (kernel buffers, ~10-20 MiB). */
const PUSH_CAP = 128 * MiB;
/** What a peer may push into a peer that does not read, through the proxy, at most. */
const PUSH_BOUND = 48 * MiB;
/** How much the worker's resident memory may grow while a peer does not read. */
const RSS_GROWTH = 100 * MiB;
/** Requests a non-reading pipelining client may get sent to the server (1 KiB responses: the kernel buffers between proxy and client hold a few thousand). */
const REQUEST_BOUND = 20_000;
/** A peer counts as blocked once its count has not moved for this long (the assertions are on counts). */
const QUIET_MS = 3000;

function vmRss(pid: number): number {
  const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  if (!m) throw new Error(`no VmRSS for pid ${pid}`);
  return Number(m[1]) * 1024;
}

/** Resolves once `count()` has not changed for QUIET_MS, or has reached `cap`; bounded by `maxMs`. */
async function untilBlocked(count: () => number, cap: number, maxMs = 60_000): Promise<number> {
  const end = Date.now() + maxMs;
  let last = -1;
  let since = Date.now();
  for (;;) {
    const n = count();
    if (n >= cap || Date.now() > end) return n;
    if (n !== last) {
      last = n;
      since = Date.now();
    } else if (Date.now() - since >= QUIET_MS) return n;
    await delay(50);
  }
}

/** Write `block` again and again, honouring back-pressure, until `cap` bytes or the socket closes. */
async function pushForever(socket: net.Socket, block: Buffer, progress: { sent: number }, cap = PUSH_CAP): Promise<void> {
  while (progress.sent < cap && !socket.destroyed) {
    progress.sent += block.length;
    if (!socket.write(block)) {
      await writable(socket);
    }
  }
}

function listen(server: net.Server): Promise<number> {
  return new Promise((resolve) => server.listen(0, '127.0.0.1', () => resolve((server.address() as net.AddressInfo).port)));
}

function connect(port: number): Promise<net.Socket> {
  return new Promise((resolve, reject) => {
    const s = net.connect({ port, host: '127.0.0.1' });
    s.once('connect', () => {
      s.off('error', reject);
      s.on('error', () => {});
      resolve(s);
    });
    s.once('error', reject);
  });
}

/** Blocks of 1 KiB 103 Early Hints responses (a realistic size; 25-byte 100s would only be slower). */
function earlyHints(): Buffer {
  const one = `HTTP/1.1 103 Early Hints\r\nLink: </${'a'.repeat(960)}.css>; rel=preload\r\n\r\n`;
  return Buffer.from(one.repeat(64), 'latin1');
}

describe('http back-pressure with peers that do not read', () => {
  let lb: RunningHandoff;
  let worker: number;
  const ports = { interim: 0, pipeline: 0, ws: 0 };
  const servers: net.Server[] = [];
  const sockets = new Set<net.Socket>();
  const interimPush = { sent: 0 };
  const wsPush = { sent: 0 };
  let pipelinedRequests = 0;

  before(async () => {
    // Answers every request with 1xx responses, without end.
    const interim = net.createServer((s) => {
      sockets.add(s);
      s.on('error', () => {});
      s.once('data', () => void pushForever(s, earlyHints(), interimPush));
    });
    // Answers each GET with a 1 KiB body (one write: nothing for the proxy to pause mid-response); counts the requests.
    const body = 'x'.repeat(1024);
    const response = Buffer.from(`HTTP/1.1 200 OK\r\nContent-Length: ${body.length}\r\n\r\n${body}`, 'latin1');
    const counting = net.createServer((s) => {
      sockets.add(s);
      s.on('error', () => {});
      let tail = '';
      s.on('data', (chunk: Buffer) => {
        const text = tail + chunk.toString('latin1');
        const heads = text.split('\r\n\r\n').length - 1;
        tail = text.slice(-3);
        pipelinedRequests += heads;
        for (let i = 0; i < heads; i++) s.write(response);
      });
    });
    // A WebSocket server that accepts the upgrade and then sends without end.
    const ws = net.createServer((s) => {
      sockets.add(s);
      s.on('error', () => {});
      s.once('data', () => {
        s.write('HTTP/1.1 101 Switching Protocols\r\nConnection: upgrade\r\nUpgrade: websocket\r\n\r\n');
        void pushForever(s, Buffer.alloc(64 * 1024, 0x41), wsPush);
      });
    });
    servers.push(interim, counting, ws);
    const [interimPort, countingPort, wsPort] = await Promise.all(servers.map(listen));
    [ports.interim, ports.pipeline, ports.ws] = [await freePort(), await freePort(), await freePort()];
    lb = await startHandoff(`workers: 1
log: { access: off }
limits: { pipeline: 16 }
frontends:
  interim: { bind: 127.0.0.1:${ports.interim}, default_backend: interim }
  pipeline: { bind: 127.0.0.1:${ports.pipeline}, default_backend: counting }
  ws: { bind: 127.0.0.1:${ports.ws}, default_backend: ws }
backends:
  interim: { servers: [{ name: i1, address: 127.0.0.1:${interimPort} }] }
  counting: { servers: [{ name: c1, address: 127.0.0.1:${countingPort} }] }
  ws: { servers: [{ name: w1, address: 127.0.0.1:${wsPort} }] }
`);
    const pids = workerPids(await lb.status());
    assert.equal(pids.length, 1);
    worker = pids[0]!;
  });
  after(async () => {
    for (const s of sockets) s.destroy();
    for (const s of servers) s.close();
    await stopAll();
  });

  it('a server sending 1xx without end to a client that does not read: the server is blocked, memory bounded', async (t) => {
    const rss0 = vmRss(worker);
    const client = await connect(ports.interim);
    sockets.add(client);
    client.pause(); // never reads
    client.write('GET /hints HTTP/1.1\r\nHost: a\r\n\r\n');
    const pushed = await untilBlocked(() => interimPush.sent, PUSH_CAP);
    const growth = vmRss(worker) - rss0;
    client.destroy();
    t.diagnostic(`server pushed ${(pushed / MiB).toFixed(1)} MiB of 103s; worker VmRSS grew ${(growth / MiB).toFixed(1)} MiB`);
    assert.ok(pushed < PUSH_BOUND, `the server pushed ${(pushed / MiB).toFixed(1)} MiB of interim responses`);
    assert.ok(growth < RSS_GROWTH, `worker VmRSS grew by ${(growth / MiB).toFixed(1)} MiB`);
  });

  it('a client pipelining without reading: what it can send and what reaches the server are bounded; others are served', async (t) => {
    const rss0 = vmRss(worker);
    const client = await connect(ports.pipeline);
    sockets.add(client);
    client.pause(); // never reads a response
    const written = { sent: 0 };
    const block = Buffer.from('GET /p HTTP/1.1\r\nHost: a\r\n\r\n'.repeat(2048), 'latin1');
    void pushForever(client, block, written, 64 * MiB);
    const sent = await untilBlocked(() => written.sent, 64 * MiB);
    const requests = await untilBlocked(() => pipelinedRequests, REQUEST_BOUND);
    const growth = vmRss(worker) - rss0;
    t.diagnostic(
      `client wrote ${(sent / MiB).toFixed(1)} MiB; the server got ${requests} requests; worker VmRSS grew ${(growth / MiB).toFixed(1)} MiB`,
    );
    assert.ok(sent < 16 * MiB, `the client could write ${(sent / MiB).toFixed(1)} MiB of requests`);
    assert.ok(requests < REQUEST_BOUND, `the server got ${requests} requests for a client that reads nothing`);
    assert.ok(growth < RSS_GROWTH, `worker VmRSS grew by ${(growth / MiB).toFixed(1)} MiB`);
    // While it sits there, blocked, other clients are served.
    for (let i = 0; i < 5; i++) {
      const r = await request(ports.pipeline, '/other', { timeoutMs: 10_000 });
      assert.equal(r.status, 200);
    }
    client.destroy();
  });

  it('a WebSocket tunnel whose client does not read: the server is blocked, memory bounded', async (t) => {
    const rss0 = vmRss(worker);
    const client = await connect(ports.ws);
    sockets.add(client);
    client.pause();
    client.write(
      'GET /ws HTTP/1.1\r\nHost: a\r\nConnection: upgrade\r\nUpgrade: websocket\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n',
    );
    const pushed = await untilBlocked(() => wsPush.sent, PUSH_CAP);
    const growth = vmRss(worker) - rss0;
    client.destroy();
    t.diagnostic(`server pushed ${(pushed / MiB).toFixed(1)} MiB into the tunnel; worker VmRSS grew ${(growth / MiB).toFixed(1)} MiB`);
    assert.ok(pushed > 0);
    assert.ok(pushed < PUSH_BOUND, `the server pushed ${(pushed / MiB).toFixed(1)} MiB`);
    assert.ok(growth < RSS_GROWTH, `worker VmRSS grew by ${(growth / MiB).toFixed(1)} MiB`);
  });
});
