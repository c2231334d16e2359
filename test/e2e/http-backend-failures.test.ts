// What a client sees when a server fails: refused connections retried on the next server,
// resets and closes before or during a response, a slow server (504 at timeouts.server),
// a malformed response (502). Every case is bounded: a failure must never become a hang.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startEcho } from '../helpers/echo.js';
import { workerPids, type RunningHandoff } from '../helpers/handoff.js';
import { stopAll } from '../helpers/processes.js';
import { waitUntil } from '../helpers/wait.js';
import { ok, startRawBackend, type RawBackend } from './support/raw-backend.js';
import { RawClient } from './support/raw-client.js';
import { startProxy } from './support/proxy.js';

const PAGE_502 = 'bad gateway page\n';
const PAGE_503 = 'no server page\n';
const PAGE_504 = 'gateway timeout page\n';

describe('backend failures through handoff', () => {
  let port: number;
  let raw: RawBackend;
  /** Resets every connection as soon as a request arrives on it. */
  let resetter: RawBackend;
  let h: RunningHandoff;
  let workers: number[];
  const clients: RawClient[] = [];
  const connect = async () => {
    const c = await RawClient.connect(port);
    clients.push(c);
    return c;
  };
  /** One request on a new connection; the response, and how long it took. */
  const exchange = async (req: string, timeoutMs = 8000) => {
    const c = await connect();
    const t0 = Date.now();
    c.send(req);
    const r = await c.readResponse({ timeoutMs });
    return { r, ms: Date.now() - t0, c };
  };

  before(async () => {
    const dir = mkdtempSync(join(tmpdir(), 'hte-pages-'));
    writeFileSync(join(dir, '502.txt'), PAGE_502);
    writeFileSync(join(dir, '503.txt'), PAGE_503);
    writeFileSync(join(dir, '504.txt'), PAGE_504);
    raw = await startRawBackend();
    resetter = await startRawBackend((req) => {
      req.conn.socket.resetAndDestroy();
      return undefined;
    });
    const echo = await startEcho('live');
    // Nothing listens on a port that was free a moment ago: connections are refused.
    const started = await startProxy(
      2,
      ([port, closed]) => `
workers: 1
log: { access: off }
timeouts: { server: 10s }
errors: { 502: ${join(dir, '502.txt')}, 503: ${join(dir, '503.txt')}, 504: ${join(dir, '504.txt')} }
frontends:
  web:
    bind: 127.0.0.1:${port}
    routes:
      - { host: flaky.test, backend: flaky }
      - { host: dead.test, backend: dead }
      - { host: slow.test, backend: slow }
      - { host: raw.test, backend: raw }
      - { host: echo.test, backend: echo }
      - { host: resetty.test, backend: resetty }
      - { host: reset-only.test, backend: reset-only }
backends:
  flaky:
    passive: { fall: 0 }
    servers:
      - { name: refused, address: 127.0.0.1:${closed} }
      - { name: live, address: ${echo.address} }
  dead:
    passive: { fall: 0 }
    servers: [ { name: refused, address: 127.0.0.1:${closed} } ]
  slow:
    timeouts: { server: 600ms }
    servers: [ { name: live, address: ${echo.address} } ]
  raw:
    passive: { fall: 0 }
    servers: [ { name: r1, address: ${raw.address} } ]
  echo:
    servers: [ { name: live, address: ${echo.address} } ]
  resetty:
    passive: { fall: 0 }
    servers:
      - { name: resets, address: ${resetter.address} }
      - { name: live, address: ${echo.address} }
  reset-only:
    passive: { fall: 0 }
    servers: [ { name: resets, address: ${resetter.address} } ]
`,
    );
    h = started.h;
    port = started.ports[0]!;
    workers = workerPids(await h.status());
  });
  after(async () => {
    for (const c of clients) c.destroy();
    await raw?.close();
    await resetter?.close();
    await stopAll();
  });

  it('refused: a request whose server refuses the connection is retried on the next one (GET and POST)', async () => {
    const before = (await h.status()).totals.retries;
    const c = await connect();
    for (let i = 0; i < 6; i++) {
      const post = i % 2 === 1;
      c.send(
        post
          ? `POST /r${i} HTTP/1.1\r\nHost: flaky.test\r\nContent-Length: 4\r\n\r\nbody`
          : `GET /r${i} HTTP/1.1\r\nHost: flaky.test\r\n\r\n`,
      );
      const r = await c.readResponse();
      assert.equal(r.status, 200, `request ${i}`);
      assert.equal(r.header('x-server'), 'live');
      const j = JSON.parse(r.body.toString()) as { url: string; bodyBytes: number };
      assert.equal(j.url, `/r${i}`);
      assert.equal(j.bodyBytes, post ? 4 : 0);
    }
    // Round robin over two servers: at least half of the six went to the refusing one first.
    const retries = (await h.status()).totals.retries - before;
    assert.ok(retries >= 3, `retries: ${retries}`);
  });

  it('refused by every server: 503 with the configured page, in bounded time', async () => {
    const { r, ms } = await exchange('GET / HTTP/1.1\r\nHost: dead.test\r\n\r\n');
    assert.equal(r.status, 503);
    assert.equal(r.body.toString(), PAGE_503);
    assert.ok(ms < 3000, `${ms} ms`);
  });

  it('reset mid-response: the client sees a closed connection, not a hang', async () => {
    const c = await connect();
    c.send('GET /?reset=1&bytes=1000000 HTTP/1.1\r\nHost: echo.test\r\n\r\n');
    const waited = await c.waitClosed(5000);
    assert.ok(waited < 5000);
    const got = c.unread.toString('latin1');
    // The head and the first bytes went out before the reset: all the client can be told
    // now is a closed connection, and it never gets the whole announced body.
    assert.match(got, /^HTTP\/1\.1 200 OK\r\n/);
    assert.match(got, /\r\nContent-Length: 1000000\r\n/i);
    assert.ok(c.received < 1000000, `received ${c.received}`);
  });

  it('reset before any response byte: an idempotent request is retried, then 502 with the page', async () => {
    const { r, ms } = await exchange('GET /?reset=before HTTP/1.1\r\nHost: echo.test\r\n\r\n');
    assert.equal(r.status, 502);
    assert.equal(r.body.toString(), PAGE_502);
    assert.ok(ms < 3000, `${ms} ms`);
  });

  it('reset before any response byte: a GET goes on to the next server; a POST is not sent twice (502)', async () => {
    const before = resetter.requests.length;
    const c = await connect();
    for (let i = 0; i < 4; i++) {
      c.send(`GET /g${i} HTTP/1.1\r\nHost: resetty.test\r\n\r\n`);
      const r = await c.readResponse();
      assert.equal(r.status, 200, `GET ${i}`);
      assert.equal(r.header('x-server'), 'live');
    }
    assert.ok(resetter.requests.length - before >= 2, 'round robin sent some GETs to the resetting server first');
    const mid = resetter.requests.length;
    const { r } = await exchange('POST /p HTTP/1.1\r\nHost: reset-only.test\r\nContent-Length: 3\r\n\r\nabc');
    assert.equal(r.status, 502);
    assert.equal(r.body.toString(), PAGE_502);
    assert.equal(resetter.requests.length - mid, 1, 'the POST reached a server once');
  });

  it('server closes (FIN) without answering: 502 at once, a POST is not retried', async () => {
    raw.handler = (req) => {
      req.conn.socket.end();
      return undefined;
    };
    const before = raw.requests.length;
    const { r, ms } = await exchange('POST /fin HTTP/1.1\r\nHost: raw.test\r\nContent-Length: 2\r\n\r\nhi');
    assert.equal(r.status, 502);
    assert.equal(r.body.toString(), PAGE_502);
    assert.ok(ms < 3000, `${ms} ms: a half-closed server connection must not wait for timeouts.server`);
    assert.equal(raw.requests.length - before, 1, 'a POST is sent once');
  });

  it('server closes (FIN) mid-response: the client sees a closed connection, not a hang', async () => {
    raw.handler = (req) => {
      req.conn.socket.end('HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\n0123456789');
      return undefined;
    };
    const c = await connect();
    c.send('GET /half HTTP/1.1\r\nHost: raw.test\r\n\r\n');
    const waited = await c.waitClosed(5000);
    assert.ok(waited < 3000, `${waited} ms`);
    assert.equal(c.unread.toString('latin1').split('\r\n\r\n')[1], '0123456789');
  });

  it('a pooled connection the server closed meanwhile: the request is retried on a fresh one', async () => {
    // The first request leaves a pooled connection; the server then drops the next request
    // that arrives on it (the keep-alive race every proxy must absorb).
    raw.handler = (req) => {
      if (req.index === 0) return ok('first');
      req.conn.socket.end();
      return undefined;
    };
    const c = await connect();
    c.send('GET /k1 HTTP/1.1\r\nHost: raw.test\r\n\r\n');
    assert.equal((await c.readResponse()).body.toString(), 'first');
    const t0 = Date.now();
    c.send('GET /k2 HTTP/1.1\r\nHost: raw.test\r\n\r\n');
    const r = await c.readResponse();
    assert.equal(r.status, 200);
    assert.equal(r.body.toString(), 'first', 'answered by a fresh connection (its first request)');
    assert.ok(Date.now() - t0 < 3000);
  });

  it('a client that resets while its request is at the server: the server connection is closed, not pooled', async () => {
    raw.handler = () => new Promise<undefined>(() => {}); // never answers
    const c = await connect();
    c.send('GET /abandoned HTTP/1.1\r\nHost: raw.test\r\n\r\n');
    await waitUntil('the request at the server', () => raw.requests.at(-1)?.target === '/abandoned', 5000);
    const conn = raw.requests.at(-1)!.conn;
    // A reset, not a FIN: a FIN may be a half-close, after which the response is still owed.
    c.socket.resetAndDestroy();
    await waitUntil('the server connection to be closed by handoff', () => conn.closed, 5000);
    await waitUntil(
      'no client connection left in the worker',
      async () => {
        const t = (await h.status()).totals.connections;
        return t.waiting + t.writing + t.reading === 0;
      },
      10_000,
      100,
    );
  });

  it('slow: a server that does not answer within timeouts.server gets 504 with the page, in about that time', async () => {
    const { r, ms, c } = await exchange('GET /?delay=5000 HTTP/1.1\r\nHost: slow.test\r\n\r\n');
    assert.equal(r.status, 504);
    assert.equal(r.body.toString(), PAGE_504);
    // About the timeout: deadlines are swept every 100 ms, a busy machine adds more.
    assert.ok(ms >= 360 && ms < 3600, `504 after ${ms} ms (timeout 600ms)`);
    // The request was complete: the client connection is still usable.
    c.send('GET /?delay=0 HTTP/1.1\r\nHost: slow.test\r\n\r\n');
    assert.equal((await c.readResponse()).status, 200);
  });

  const badResponses: { name: string; bytes: string }[] = [
    { name: 'two different Content-Length values', bytes: 'HTTP/1.1 200 OK\r\nContent-Length: 5\r\nContent-Length: 6\r\n\r\nhello!' },
    { name: 'not HTTP at all', bytes: 'garbage\r\n\r\n' },
    { name: 'a bare LF in the head', bytes: 'HTTP/1.1 200 OK\nContent-Length: 2\r\n\r\nhi' },
    { name: 'an invalid header name', bytes: 'HTTP/1.1 200 OK\r\nBad Header: x\r\nContent-Length: 2\r\n\r\nhi' },
    { name: 'an unsolicited 101', bytes: 'HTTP/1.1 101 Switching Protocols\r\nConnection: upgrade\r\nUpgrade: websocket\r\n\r\n' },
  ];
  for (const b of badResponses) {
    it(`a bad response (${b.name}): 502 with the page`, async () => {
      raw.handler = () => b.bytes;
      const { r, ms } = await exchange('GET /bad HTTP/1.1\r\nHost: raw.test\r\n\r\n');
      assert.equal(r.status, 502);
      assert.equal(r.body.toString(), PAGE_502);
      assert.ok(ms < 3000, `${ms} ms`);
    });
  }

  it('a malformed chunked response body after the head: the client sees a closed connection', async () => {
    // The head and a good chunk first; the bad chunk line only once the client has them.
    let serverSocket: import('node:net').Socket | undefined;
    raw.handler = (req) => {
      serverSocket = req.conn.socket;
      return 'HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n';
    };
    const c = await connect();
    c.send('GET /badchunk HTTP/1.1\r\nHost: raw.test\r\n\r\n');
    await waitUntil('the first chunk at the client', () => c.unread.includes('hello\r\n'), 5000);
    serverSocket!.write('ZZ\r\n');
    await c.waitClosed(5000);
    assert.match(c.unread.toString('latin1'), /^HTTP\/1\.1 200 OK\r\n[\s\S]*\r\n\r\n5\r\nhello\r\n$/);
  });

  it('the worker survived every case', async () => {
    assert.deepEqual(workerPids(await h.status()), workers);
  });
});
