// The maxconn queue through the real proxy, TCP frontends: a connection that finds the
// only server at maxconn waits (its bytes stay unread) until the slot is free; past
// timeouts.queue, or beyond maxqueue, the proxy closes it. TCP has no error page: closing
// is the answer. Every wait here has a bound.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import net from 'node:net';
import { startEcho, type EchoBackend } from '../helpers/echo.js';
import { startHandoff, type RunningHandoff } from '../helpers/handoff.js';
import { freePort } from '../helpers/net.js';
import { stopAll } from '../helpers/processes.js';
import { waitUntil } from '../helpers/wait.js';

/** A client connection that records what it receives and when the proxy closes it. */
class Client {
  readonly socket: net.Socket;
  received = '';
  closedAt: number | undefined;
  readonly openedAt = Date.now();
  readonly closed: Promise<void>;

  constructor(port: number) {
    this.socket = net.connect({ port, host: '127.0.0.1' });
    this.socket.on('data', (c: Buffer) => (this.received += c.toString()));
    // A close with unread bytes in the proxy's socket may arrive as a reset: both are a close.
    this.socket.on('error', () => {});
    this.closed = new Promise((resolve) =>
      this.socket.on('close', () => {
        this.closedAt = Date.now();
        resolve();
      }),
    );
  }

  /** Write and wait for the echo (the connection holds a slot once its bytes come back). */
  async roundTrip(text: string): Promise<void> {
    const want = this.received + text;
    this.socket.write(text);
    await waitUntil(`echo of ${JSON.stringify(text)}`, () => this.received === want, 10_000);
  }

  /** Resolves with how long the connection lived; rejects if it outlives `boundMs`. */
  async closedWithin(boundMs: number): Promise<number> {
    await waitUntil('the proxy closing the connection', () => this.closedAt !== undefined, boundMs);
    return this.closedAt! - this.openedAt;
  }
}

describe('maxconn queue through the proxy (tcp)', () => {
  let echo: EchoBackend;
  let lb: RunningHandoff;
  const ports = { wait: 0, short: 0, capped: 0 };
  const clients: Client[] = [];
  const client = (port: number) => {
    const c = new Client(port);
    clients.push(c);
    return c;
  };

  before(async () => {
    echo = await startEcho('queue-tcp', { tcp: true });
    [ports.wait, ports.short, ports.capped] = [await freePort(), await freePort(), await freePort()];
    lb = await startHandoff(`workers: 1
log: { access: off }
frontends:
  wait: { bind: 127.0.0.1:${ports.wait}, mode: tcp, default_backend: wait }
  short: { bind: 127.0.0.1:${ports.short}, mode: tcp, default_backend: short }
  capped: { bind: 127.0.0.1:${ports.capped}, mode: tcp, default_backend: capped }
backends:
  wait:
    timeouts: { queue: 10s }
    servers: [{ name: s1, address: ${echo.address}, maxconn: 1 }]
  short:
    timeouts: { queue: 300ms }
    servers: [{ name: s1, address: ${echo.address}, maxconn: 1 }]
  capped:
    maxqueue: 1
    timeouts: { queue: 10s }
    servers: [{ name: s1, address: ${echo.address}, maxconn: 1 }]
`);
  });
  after(async () => {
    for (const c of clients) c.socket.destroy();
    await stopAll();
  });

  const queueOf = async (backend: string) => (await lb.status()).backends[backend]?.queue;

  it('a second connection waits for the slot, then its bytes are echoed', async () => {
    const first = client(ports.wait);
    await first.roundTrip('first ');
    const second = client(ports.wait);
    second.socket.write('second waits');
    await waitUntil('the second connection in the queue', async () => (await queueOf('wait')) === 1, 10_000, 50);
    assert.equal(second.received, '', 'nothing reaches a queued connection');
    first.socket.end();
    await first.closedWithin(10_000);
    await waitUntil('the queued bytes echoed', () => second.received === 'second waits', 10_000);
    assert.equal(second.closedAt, undefined, 'the served connection stays open');
    await second.roundTrip(' and talks');
    second.socket.end();
    await second.closedWithin(10_000);
    assert.equal(await queueOf('wait'), 0);
  });

  it('past timeouts.queue (300ms) a waiting connection is closed', async () => {
    const holder = client(ports.short);
    await holder.roundTrip('holding ');
    const late = client(ports.short);
    const lived = await late.closedWithin(5000);
    assert.ok(lived >= 250 && lived < 3000, `closed after about timeouts.queue: ${lived} ms`);
    assert.equal(late.received, '', 'it never reached the server');
    await holder.roundTrip('still served');
    holder.socket.end();
    await holder.closedWithin(10_000);
  });

  it('beyond maxqueue a connection is closed at once while another waits', async () => {
    const holder = client(ports.capped);
    await holder.roundTrip('holding ');
    const waiter = client(ports.capped);
    waiter.socket.write('waiting');
    await waitUntil('one connection in the queue', async () => (await queueOf('capped')) === 1, 10_000, 50);
    const extra = client(ports.capped);
    const lived = await extra.closedWithin(5000);
    assert.ok(lived < 1500, `closed at once, not after a wait: ${lived} ms`);
    assert.equal(waiter.closedAt, undefined, 'the queued connection is still waiting');
    holder.socket.end();
    await waitUntil('the waiting connection served', () => waiter.received === 'waiting', 10_000);
    waiter.socket.end();
    await waiter.closedWithin(10_000);
  });
});
