// TCP mode through a real master and worker: bytes both ways, half-close in each
// direction, and a connection failure retried on the next server.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import net from 'node:net';
import { startEcho, type EchoBackend } from '../helpers/echo.js';
import { startHandoff, type RunningHandoff } from '../helpers/handoff.js';
import { freePort } from '../helpers/net.js';
import { stopAll } from '../helpers/processes.js';
import { waitUntil } from '../helpers/wait.js';

const sha256 = (b: Buffer) => createHash('sha256').update(b).digest('hex');

interface Exchange {
  readonly received: Buffer;
  /** The peer ended its side with a FIN (rather than a reset). */
  readonly ended: boolean;
}

/** Connect (half-open allowed), let `send` write, collect until the proxy closes the connection. */
function exchange(port: number, send: (socket: net.Socket) => Promise<void> | void, timeoutMs = 20_000): Promise<Exchange> {
  return new Promise((resolve, reject) => {
    const socket = net.connect({ port, host: '127.0.0.1', allowHalfOpen: true });
    const chunks: Buffer[] = [];
    let ended = false;
    const timer = setTimeout(() => {
      socket.destroy();
      reject(new Error(`the proxy did not close within ${timeoutMs} ms; got ${Buffer.concat(chunks).length} bytes`));
    }, timeoutMs);
    socket.on('data', (c: Buffer) => chunks.push(c));
    socket.on('end', () => (ended = true));
    socket.on('error', (err) => {
      clearTimeout(timer);
      reject(err);
    });
    socket.on('close', () => {
      clearTimeout(timer);
      resolve({ received: Buffer.concat(chunks), ended });
    });
    socket.once('connect', () => void Promise.resolve(send(socket)).catch(reject));
  });
}

/**
 * A server that speaks first and half-closes first: it sends `greeting`, ends its side, and
 * keeps reading what the client sends until the client ends too.
 */
function startEndsFirstServer(
  greeting: Buffer,
): Promise<{ server: net.Server; port: number; received: Promise<{ bytes: Buffer; ended: boolean }> }> {
  return new Promise((resolve) => {
    let deliver!: (v: { bytes: Buffer; ended: boolean }) => void;
    const received = new Promise<{ bytes: Buffer; ended: boolean }>((r) => (deliver = r));
    const server = net.createServer({ allowHalfOpen: true }, (socket) => {
      const chunks: Buffer[] = [];
      let ended = false;
      socket.on('data', (c: Buffer) => chunks.push(c));
      socket.on('end', () => (ended = true));
      socket.on('error', () => {});
      socket.on('close', () => deliver({ bytes: Buffer.concat(chunks), ended }));
      socket.end(greeting);
    });
    server.listen(0, '127.0.0.1', () => resolve({ server, port: (server.address() as net.AddressInfo).port, received }));
  });
}

describe('tcp frontend through the proxy', () => {
  let echo: EchoBackend;
  let lb: RunningHandoff;
  let port: number;
  let endsFirstPort: number;
  let retryPort: number;
  let endsFirst: Awaited<ReturnType<typeof startEndsFirstServer>>;
  const greeting = randomBytes(512 * 1024);

  before(async () => {
    [echo, endsFirst] = await Promise.all([startEcho('tcp-e1', { tcp: true }), startEndsFirstServer(greeting)]);
    const closedPort = await freePort();
    [port, endsFirstPort, retryPort] = [await freePort(), await freePort(), await freePort()];
    lb = await startHandoff(`workers: 1
log: { access: off }
frontends:
  echo:
    bind: 127.0.0.1:${port}
    mode: tcp
    default_backend: echo
  ends-first:
    bind: 127.0.0.1:${endsFirstPort}
    mode: tcp
    default_backend: ends-first
  retry:
    bind: 127.0.0.1:${retryPort}
    mode: tcp
    default_backend: retry
backends:
  echo:
    servers:
      - { name: e1, address: ${echo.address} }
  ends-first:
    servers:
      - { name: f1, address: 127.0.0.1:${endsFirst.port} }
  retry:
    balance: roundrobin
    retries: 2
    servers:
      - { name: dead, address: 127.0.0.1:${closedPort} }
      - { name: live, address: ${echo.address} }
`);
  });
  after(async () => {
    endsFirst?.server.close();
    await stopAll();
  });

  it('echoes every byte on several concurrent connections', async () => {
    const payloads = Array.from({ length: 8 }, (_, i) => randomBytes(64 * 1024 * (i + 1) + i));
    const results = await Promise.all(payloads.map((data) => exchange(port, (s) => void s.end(data))));
    for (const [i, r] of results.entries()) {
      assert.equal(r.received.length, payloads[i]!.length, `connection ${i}: every byte came back`);
      assert.equal(sha256(r.received), sha256(payloads[i]!), `connection ${i}: the same bytes, in order`);
      assert.equal(r.ended, true, `connection ${i}: the proxy ended with a FIN`);
    }
  });

  it('keeps a conversation going: each write is echoed before the next', async () => {
    let got = '';
    const parts = ['alpha ', 'beta ', 'gamma'];
    const r = await exchange(port, async (s) => {
      s.on('data', (c: Buffer) => (got += c.toString()));
      let expected = '';
      for (const p of parts) {
        s.write(p);
        expected += p;
        await waitUntil(`echo of ${JSON.stringify(expected)}`, () => got === expected, 10_000);
      }
      s.end();
    });
    assert.equal(r.received.toString(), parts.join(''));
  });

  it('client half-close: the client still receives every echoed byte, then the proxy ends', async () => {
    const data = randomBytes(2 * 1024 * 1024 + 3);
    let endedAt = -1;
    let bytesAtEnd = -1;
    const r = await exchange(port, (s) => {
      let n = 0;
      s.on('data', (c: Buffer) => (n += c.length));
      s.on('end', () => {
        endedAt = Date.now();
        bytesAtEnd = n;
      });
      // Write and end at once: almost all echoed bytes travel after the client's FIN.
      s.end(data);
    });
    assert.ok(endedAt > 0, 'the proxy ended its side');
    assert.equal(bytesAtEnd, data.length, 'the end came after every echoed byte');
    assert.equal(sha256(r.received), sha256(data));
  });

  it('server half-close: the client gets the whole greeting and an end, and can still send', async () => {
    const late = randomBytes(256 * 1024);
    let greetingDone = false;
    const r = await exchange(endsFirstPort, (s) => {
      s.on('end', () => {
        greetingDone = true;
        // Our write side is still open: the server keeps reading until we end.
        s.end(late);
      });
    });
    assert.equal(greetingDone, true);
    assert.equal(r.ended, true);
    assert.equal(sha256(r.received), sha256(greeting), 'the whole greeting arrived before the end');
    const atServer = await endsFirst.received;
    assert.equal(atServer.ended, true, 'the client end reached the server as an end');
    assert.equal(sha256(atServer.bytes), sha256(late), 'bytes sent after the server ended reached it');
  });

  it('retries a refused connection on the next server, and status shows the failure', async () => {
    // Roundrobin alternates, so among 4 connections at least one goes to the dead server
    // first (passive fall 3 may mark it down afterwards: the rest go to the live one).
    for (let i = 0; i < 4; i++) {
      const data = Buffer.from(`hello ${i} through a retry`);
      const r = await exchange(retryPort, (s) => void s.end(data));
      assert.equal(r.received.toString(), data.toString(), `connection ${i} reached the live server`);
    }
    const status = await lb.status();
    const servers = status.backends.retry?.servers;
    assert.ok(servers, 'status lists the retry backend');
    assert.ok(servers.dead!.connectFailures >= 1, `connect failures on dead: ${JSON.stringify(servers.dead)}`);
    assert.equal(servers.live!.connectFailures, 0);
    assert.ok(status.totals.retries >= 1, `retries counted: ${status.totals.retries}`);
  });
});
