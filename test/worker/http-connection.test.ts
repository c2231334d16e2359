// The HTTP engine driven in-process: a real HttpConnection (and its Exchanges) over a real
// loopback socket pair, its frontend compiled by a real WorkerRuntime, real servers on
// loopback. No worker process: the test watches the connection's phases directly.
import assert from 'node:assert/strict';
import net from 'node:net';
import os from 'node:os';
import { after, before, describe, test } from 'node:test';
import { loadConfigText } from '../../src/config/load.js';
import { HandoffError } from '../../src/lib/errors.js';
import { createLogger } from '../../src/observe/logger.js';
import type { HttpConnectionPhase } from '../../src/worker/http-connection.js';
import { TICK_MS } from '../../src/worker/deadlines.js';
import { HTTP_CONNECTION_TRANSITIONS, HttpConnection } from '../../src/worker/http-connection.js';
import type { HttpFrontend } from '../../src/worker/http-frontend.js';
import { Migrator } from '../../src/worker/migrate.js';
import { WorkerRuntime } from '../../src/worker/runtime.js';
import { ok, type RawBackend, startRawBackend } from '../e2e/support/raw-backend.js';
import { RawClient } from '../e2e/support/raw-client.js';
import { freePort } from '../helpers/net.js';
import { waitUntil } from '../helpers/wait.js';

/** An HttpConnection that records every phase it enters. */
class RecordedConnection extends HttpConnection {
  declare phases: HttpConnectionPhase[] | undefined;
  override transition(to: HttpConnectionPhase): void {
    super.transition(to);
    if (this.phases === undefined) this.phases = [];
    this.phases.push(to);
  }
}

describe('HttpConnection in-process', () => {
  let backend: RawBackend;
  let runtime: WorkerRuntime;
  let server: net.Server;
  let port: number;
  const conns: RecordedConnection[] = [];
  const clients: RawClient[] = [];

  before(async () => {
    backend = await startRawBackend((req) => (req.target === '/upgrade' ? undefined : ok(`hello ${req.target}`)));
    const refused = await freePort(); // nothing listens there: connections are refused
    const text = `
log: { access: off }
frontends:
  web:
    bind: 127.0.0.1:${await freePort()}
    routes:
      - { path: /retry, backend: flaky }
      - { path: /hints, backend: hints }
      - { path: /, backend: app }
  q:
    bind: 127.0.0.1:${await freePort()}
    timeouts: { client: 1s }
    default_backend: held
backends:
  held:
    timeouts: { queue: 3s }
    servers: [ { name: one, address: ${backend.address}, maxconn: 1 } ]
  app:
    servers: [ { name: a, address: ${backend.address} } ]
  hints:
    timeouts: { server: 3s }
    servers: [ { name: h, address: ${backend.address} } ]
  flaky:
    passive: { fall: 0 }
    servers:
      - { name: refused, address: 127.0.0.1:${refused} }
      - { name: live, address: ${backend.address} }
`;
    const loaded = await loadConfigText(text, '<test>', os.tmpdir());
    assert.ok(loaded.ok, loaded.ok ? '' : JSON.stringify(loaded.errors));
    const log = createLogger('test', {}, () => {});
    runtime = new WorkerRuntime({ config: loaded.config, generation: 1, log });
    const fe = runtime.ctx.live.frontends.get('web') as HttpFrontend;
    // As runtime.ts makes its listeners: a client's FIN does not end our side by itself.
    server = net.createServer({ allowHalfOpen: true, pauseOnConnect: true }, (socket) => conns.push(new RecordedConnection(socket, fe)));
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    port = (server.address() as net.AddressInfo).port;
  });

  after(async () => {
    for (const c of clients) c.socket.destroy();
    runtime.ctx.connections.killAll();
    for (const b of runtime.ctx.live.version.backends.values()) b.close();
    runtime.ctx.pool.closeAll();
    await new Promise((r) => server.close(r));
    await backend.close();
  });

  async function connect() {
    const before = conns.length;
    const c = await RawClient.connect(port);
    clients.push(c);
    await waitUntil('the connection is accepted', () => conns.length > before);
    return { c, conn: conns[conns.length - 1]! };
  }

  test('one keep-alive request: idle → reading → waiting → writing → idle', async () => {
    const { c, conn } = await connect();
    assert.equal(conn.phase, 'idle');
    c.send('GET /one HTTP/1.1\r\nHost: x\r\n\r\n');
    const r = await c.readResponse();
    assert.equal(r.status, 200);
    assert.equal(r.body.toString(), 'hello /one');
    await waitUntil('idle again', () => conn.phase === 'idle');
    assert.deepEqual(conn.phases, ['reading', 'waiting', 'writing', 'idle']);
    assert.equal(conn.state, 'idle');
  });

  test('pipelined requests are answered in order, each its own exchange', async () => {
    const { c, conn } = await connect();
    c.send('GET /p1 HTTP/1.1\r\nHost: x\r\n\r\nGET /p2 HTTP/1.1\r\nHost: x\r\n\r\n');
    const r1 = await c.readResponse();
    const r2 = await c.readResponse();
    assert.equal(r1.body.toString(), 'hello /p1');
    assert.equal(r2.body.toString(), 'hello /p2');
    await waitUntil('idle again', () => conn.phase === 'idle');
    // The second head was already buffered: writing → reading (not via idle).
    assert.deepEqual(conn.phases, ['reading', 'waiting', 'writing', 'reading', 'waiting', 'writing', 'idle']);
  });

  test('Connection: close: the response says so and the connection closes after it', async () => {
    const { c, conn } = await connect();
    c.send('GET /bye HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n');
    const r = await c.readResponse();
    assert.equal(r.header('connection'), 'close');
    await waitUntil('closed', () => conn.phase === 'closed');
    assert.deepEqual(conn.phases, ['reading', 'waiting', 'writing', 'closing', 'closed']);
  });

  test('a refused server is retried on the next one, within one exchange', async () => {
    const before = runtime.ctx.counters.retries;
    const { c, conn } = await connect();
    c.send('GET /retry HTTP/1.1\r\nHost: x\r\n\r\n');
    const r = await c.readResponse();
    assert.equal(r.status, 200);
    assert.equal(r.body.toString(), 'hello /retry');
    assert.equal(runtime.ctx.counters.retries, before + 1);
    await waitUntil('idle again', () => conn.phase === 'idle');
    assert.deepEqual(conn.phases, ['reading', 'waiting', 'writing', 'idle']);
  });

  test('a malformed head is answered 400 without an exchange reaching a server, then closed', async () => {
    const { c, conn } = await connect();
    const seen = backend.requests.length;
    c.send('GET / HTTP/1.1\r\nBad Header\r\n\r\n');
    const r = await c.readResponse();
    assert.equal(r.status, 400);
    await waitUntil('closed', () => conn.phase === 'closed');
    assert.deepEqual(conn.phases, ['reading', 'waiting', 'writing', 'closing', 'closed']);
    assert.equal(backend.requests.length, seen);
  });

  test('an illegal transition is asserted, and the table has no way out of closed', async () => {
    const { conn } = await connect();
    assert.equal(conn.phase, 'idle');
    assert.throws(
      () => conn.transition('writing'),
      (err: unknown) => err instanceof HandoffError && err.code === 'HANDOFF_ERR_INTERNAL' && /idle → writing/.test(err.message),
    );
    assert.equal(conn.phase, 'idle', 'a refused transition changes nothing');
    assert.deepEqual(HTTP_CONNECTION_TRANSITIONS.closed, []);
    assert.deepEqual(HTTP_CONNECTION_TRANSITIONS.upgraded, []);
    for (const [from, tos] of Object.entries(HTTP_CONNECTION_TRANSITIONS))
      for (const to of tos) assert.ok(to in HTTP_CONNECTION_TRANSITIONS, `${from} → ${to}`);
  });

  test('a 101 hands the socket to a TunnelSession: the connection ends upgraded', async () => {
    backend.handler = (req) => {
      if (req.target !== '/upgrade') return ok();
      req.conn.socket.write('HTTP/1.1 101 Switching Protocols\r\nConnection: upgrade\r\nUpgrade: echo\r\n\r\n');
      req.conn.socket.on('data', (d) => req.conn.socket.write(d)); // echo after the upgrade
      return undefined;
    };
    const { c, conn } = await connect();
    c.send('GET /upgrade HTTP/1.1\r\nHost: x\r\nConnection: upgrade\r\nUpgrade: echo\r\n\r\n');
    const r = await c.readResponse();
    assert.equal(r.status, 101);
    assert.equal(conn.phase, 'upgraded');
    assert.deepEqual(conn.phases, ['reading', 'waiting', 'upgraded']);
    assert.equal(runtime.ctx.connections.countByState().tunnel, 1);
    c.send('ping');
    await waitUntil('the tunnel echoes', () => c.unread.toString('latin1').includes('ping'));
  });

  test('a server connection paused by a backlogged 1xx goes back to the pool reading again', async () => {
    // Interim responses are forwarded as they come; one whose write finds the client's
    // output full pauses the server side until the client's 'drain'. When the final,
    // body-less response is in the same read, the exchange ends at once: the server
    // connection must not go to the pool paused, or the next request on it never sees
    // its response (504 after timeouts.server).
    const hint = 'HTTP/1.1 103 Early Hints\r\nLink: </style.css>; rel=preload\r\n\r\n';
    backend.handler = (req) => {
      if (req.target === '/hints/1') {
        const n = Math.ceil((64 * 1024) / hint.length);
        req.conn.socket.write(`${hint.repeat(n)}HTTP/1.1 204 No Content\r\n\r\n`);
        return undefined;
      }
      return ok(`hello ${req.target}`);
    };
    const { c, conn } = await connect();
    // A client whose output is full: its socket is corked, so what handoff writes queues in
    // the stream (a real socket's own back-pressure) until the test uncorks it.
    assert.equal(conn.socket.writableHighWaterMark, 64 * 1024);
    conn.socket.cork();
    c.send('GET /hints/1 HTTP/1.1\r\nHost: x\r\n\r\n');
    await waitUntil('the first exchange is over', () => conn.phase === 'idle' && (conn.phases ?? []).includes('writing'));
    conn.socket.uncork();
    let r = await c.readResponse();
    while (r.status === 103) r = await c.readResponse();
    assert.equal(r.status, 204);
    c.send('GET /hints/2 HTTP/1.1\r\nHost: x\r\n\r\n');
    const r2 = await c.readResponse({ timeoutMs: 10_000 });
    assert.equal(r2.status, 200, 'the pooled server connection answers the next request');
    assert.equal(r2.body.toString(), 'hello /hints/2');
  });

  test('pipelined requests followed by a half-close are all answered, then the connection closes', async () => {
    backend.handler = (req) => ok(`hello ${req.target}`);
    const { c, conn } = await connect();
    // Requests, then FIN in the same breath (`printf ... | nc -N`): the client gave up
    // nothing, it has no more to send. Every complete request gets its response (I3).
    c.socket.end('GET /h1 HTTP/1.1\r\nHost: x\r\n\r\nGET /h2 HTTP/1.1\r\nHost: x\r\n\r\nGET /h3 HTTP/1.1\r\nHost: x\r\n\r\n');
    const bodies: string[] = [];
    for (let i = 0; i < 3; i++) bodies.push((await c.readResponse()).body.toString());
    assert.deepEqual(bodies, ['hello /h1', 'hello /h2', 'hello /h3']);
    await c.waitClosed();
    await waitUntil('closed', () => conn.phase === 'closed');
  });

  test('a half-close in the middle of a pipelined head is answered 400 at once', async () => {
    backend.handler = (req) => ok(`hello ${req.target}`);
    const { c, conn } = await connect();
    c.socket.end('GET /i1 HTTP/1.1\r\nHost: x\r\n\r\nGET /i2 HTTP/1.1\r\nHo');
    const r1 = await c.readResponse();
    assert.equal(r1.body.toString(), 'hello /i1');
    const r2 = await c.readResponse({ timeoutMs: 5000 });
    assert.equal(r2.status, 400);
    await c.waitClosed();
    await waitUntil('closed', () => conn.phase === 'closed');
  });

  test('a client gone while its idle connection waits to migrate: the connection ends, nothing is handed over', async () => {
    backend.handler = (req) => ok(`hello ${req.target}`);
    const sent: unknown[] = [];
    const ctx = runtime.ctx as { migrator: Migrator | undefined };
    ctx.migrator = new Migrator((message, _handle, done) => {
      sent.push(message);
      done(null);
    }, process.pid);
    try {
      const { c, conn } = await connect();
      // The client has not read its last response yet (held in the stream: corked), so
      // the migration waits for it to flush before it passes the socket on.
      conn.socket.cork();
      c.send('GET /m1 HTTP/1.1\r\nHost: x\r\n\r\n');
      await waitUntil(
        'the response is queued and the connection idle',
        () => conn.phase === 'idle' && (conn.phases ?? []).includes('writing'),
      );
      assert.ok(conn.socket.writableLength > 0);
      conn.leave('migrate', false);
      assert.equal(conn.phase, 'migrating');
      // Meanwhile the client resets: Node destroys the socket on the write error.
      conn.socket.destroy(Object.assign(new Error('write EPIPE'), { code: 'EPIPE' }));
      await waitUntil('the connection is closed', () => conn.phase === 'closed');
      await new Promise((r) => setTimeout(r, 20)); // past the migration's next poll
      assert.equal(conn.phase, 'closed');
      assert.deepEqual(sent, [], 'no dead socket is handed to the master');
      assert.ok(!(runtime.ctx.connections as unknown as { live: Set<unknown> }).live.has(conn), 'unregistered');
    } finally {
      ctx.migrator = undefined;
    }
  });

  test('the keep-alive deadline passing while an idle connection waits to migrate is no illegal transition', async () => {
    backend.handler = (req) => ok(`hello ${req.target}`);
    const ctx = runtime.ctx as { migrator: Migrator | undefined };
    const sent: unknown[] = [];
    ctx.migrator = new Migrator((message, _handle, done) => {
      sent.push(message);
      done(null);
    }, process.pid);
    try {
      const { c, conn } = await connect();
      conn.socket.cork(); // the client has not read its last response: the migration waits
      c.send('GET /k1 HTTP/1.1\r\nHost: x\r\n\r\n');
      await waitUntil(
        'the response is queued and the connection idle',
        () => conn.phase === 'idle' && (conn.phases ?? []).includes('writing'),
      );
      conn.leave('migrate', false);
      assert.equal(conn.phase, 'migrating');
      // The keep-alive wait it had left runs out during the migration's wait (up to 2 s).
      conn.setDeadline('keep-alive', 0);
      const sweeper = (runtime.ctx.live.frontends.get('web') as HttpFrontend).sweeper;
      const due = conn.deadline;
      await waitUntil('a sweep has passed the deadline', () => sweeper.now >= due + 2 * TICK_MS);
      // The client reads after all: the migration goes on, or the connection closes; either way it ends.
      conn.socket.uncork();
      await waitUntil('the connection is over here', () => conn.phase === 'closed');
      const r = await c.readResponse();
      assert.equal(r.body.toString(), 'hello /k1');
    } finally {
      ctx.migrator = undefined;
    }
  });

  test('a complete request waiting in the queue gets the 503 at timeouts.queue, not a reset at timeouts.client', async () => {
    // The client sent all it had to: waiting for a slot is not client inactivity (I7: past
    // timeouts.queue the 503 page, never a reset).
    let release: (() => void) | undefined;
    backend.handler = (req) => (req.target === '/hold' ? new Promise((r) => (release = () => r(ok('held')))) : ok(`hello ${req.target}`));
    const q = runtime.ctx.live.frontends.get('q') as HttpFrontend;
    const qServer = net.createServer({ allowHalfOpen: true, pauseOnConnect: true }, (socket) => new HttpConnection(socket, q));
    await new Promise<void>((r) => qServer.listen(0, '127.0.0.1', r));
    const qPort = (qServer.address() as net.AddressInfo).port;
    const holder = await RawClient.connect(qPort);
    const waiter = await RawClient.connect(qPort);
    clients.push(holder, waiter);
    try {
      holder.send('GET /hold HTTP/1.1\r\nHost: x\r\n\r\n');
      await waitUntil('the slot is held', () => release !== undefined);
      waiter.send('GET /queued HTTP/1.1\r\nHost: x\r\n\r\n');
      const r = await waiter.readResponse({ timeoutMs: 10_000 });
      assert.equal(r.status, 503);
      release!();
      assert.equal((await holder.readResponse()).body.toString(), 'held');
    } finally {
      await new Promise((r) => qServer.close(r));
    }
  });
});
