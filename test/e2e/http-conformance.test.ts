// HTTP/1.1 conformance of the proxy, end to end: a real handoff (master + worker), a raw
// client and a scripted raw backend, so each case asserts the exact outcome: the bytes
// the server received, the status the client got, and whether the connection stayed open.
// The smuggling vectors assert that nothing at all reached a server and the connection
// was closed.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { startEcho } from '../helpers/echo.js';
import { workerPids, type RunningHandoff } from '../helpers/handoff.js';
import { stopAll } from '../helpers/processes.js';
import { waitUntil } from '../helpers/wait.js';
import { ok, startRawBackend, type RawBackend } from './support/raw-backend.js';
import { RawClient, type RawResponse } from './support/raw-client.js';
import { startProxy } from './support/proxy.js';

/** What the proxy adds to every request from 127.0.0.1 with this Host. */
const forwarded = (host: string) => `X-Forwarded-For: 127.0.0.1\r\nX-Forwarded-Proto: http\r\nX-Forwarded-Host: ${host}\r\n`;

describe('HTTP conformance through handoff', () => {
  let port: number;
  let raw: RawBackend;
  let h: RunningHandoff;
  let workers: number[];
  const clients: RawClient[] = [];
  const connect = async () => {
    const c = await RawClient.connect(port);
    clients.push(c);
    return c;
  };
  const json = (r: RawResponse) => JSON.parse(r.body.toString('utf8')) as Record<string, unknown>;

  before(async () => {
    raw = await startRawBackend();
    const echo = await startEcho('echo1');
    // raw.test: the scripted backend; echo.test: a real echo; any other host: 503.
    const started = await startProxy(
      1,
      ([port]) => `
workers: 1
log: { access: off }
timeouts: { server: 10s }
frontends:
  web:
    bind: 127.0.0.1:${port}
    routes:
      - { host: raw.test, backend: raw }
      - { host: echo.test, backend: echo }
backends:
  raw: { servers: [ { name: r1, address: ${raw.address} } ] }
  echo: { servers: [ { name: e1, address: ${echo.address} } ] }
`,
    );
    h = started.h;
    port = started.ports[0]!;
    workers = workerPids(await h.status());
  });
  after(async () => {
    for (const c of clients) c.destroy();
    await raw?.close();
    await stopAll();
  });

  describe('requests and responses', () => {
    it('keep-alive: two requests on one connection, forwarded exactly, on one pooled server connection', async () => {
      raw.handler = (req) => ok(`you asked ${req.target}`);
      const mark = raw.totalBytes();
      const c = await connect();
      c.send('GET /a?x=1 HTTP/1.1\r\nHost: raw.test\r\nAccept: */*\r\n\r\n');
      const r1 = await c.readResponse();
      assert.equal(r1.status, 200);
      assert.equal(r1.body.toString(), 'you asked /a?x=1');
      assert.equal(r1.header('connection'), undefined, 'HTTP/1.1 keep-alive is implicit');
      c.send('GET /b HTTP/1.1\r\nHost: raw.test\r\n\r\n');
      const r2 = await c.readResponse();
      assert.equal(r2.body.toString(), 'you asked /b');
      assert.equal(c.closed, false);
      assert.equal(
        raw.bytesSince(mark).toString('latin1'),
        `GET /a?x=1 HTTP/1.1\r\nHost: raw.test\r\nAccept: */*\r\n${forwarded('raw.test')}\r\n` +
          `GET /b HTTP/1.1\r\nHost: raw.test\r\n${forwarded('raw.test')}\r\n`,
      );
      const [q1, q2] = raw.requests.slice(-2);
      assert.equal(q1!.conn, q2!.conn, 'the second request reused the pooled server connection');
    });

    it('Connection: close: the header is not forwarded, the response says close and the connection closes', async () => {
      raw.handler = () => ok('bye');
      const mark = raw.totalBytes();
      const c = await connect();
      c.send('GET /close HTTP/1.1\r\nHost: raw.test\r\nConnection: close\r\n\r\n');
      const r = await c.readResponse();
      assert.equal(r.status, 200);
      assert.equal(r.header('connection'), 'close');
      await c.waitClosed(5000);
      assert.equal(c.unread.length, 0);
      assert.equal(raw.bytesSince(mark).toString('latin1'), `GET /close HTTP/1.1\r\nHost: raw.test\r\n${forwarded('raw.test')}\r\n`);
    });

    it('HTTP/1.0 without keep-alive: answered, then closed', async () => {
      raw.handler = () => ok('ten');
      const mark = raw.totalBytes();
      const c = await connect();
      c.send('GET /ten HTTP/1.0\r\nHost: raw.test\r\n\r\n');
      const r = await c.readResponse();
      assert.equal(r.status, 200);
      assert.equal(r.body.toString(), 'ten');
      assert.equal(r.header('connection'), 'close');
      await c.waitClosed(5000);
      // Upstream the proxy keeps its own connection alive (it pools it).
      assert.equal(
        raw.bytesSince(mark).toString('latin1'),
        `GET /ten HTTP/1.0\r\nHost: raw.test\r\n${forwarded('raw.test')}Connection: keep-alive\r\n\r\n`,
      );
    });

    it('HTTP/1.0 with keep-alive: the response says keep-alive and the connection serves a second request', async () => {
      raw.handler = (req) => ok(req.target);
      const c = await connect();
      c.send('GET /ka1 HTTP/1.0\r\nHost: raw.test\r\nConnection: keep-alive\r\n\r\n');
      const r1 = await c.readResponse();
      assert.equal(r1.header('connection'), 'keep-alive');
      assert.equal(r1.body.toString(), '/ka1');
      c.send('GET /ka2 HTTP/1.0\r\nHost: raw.test\r\n\r\n');
      const r2 = await c.readResponse();
      assert.equal(r2.body.toString(), '/ka2');
      assert.equal(r2.header('connection'), 'close');
      await c.waitClosed(5000);
    });

    it('HTTP/1.0 without Host is served (no X-Forwarded-Host), here with a 503: no route matches', async () => {
      const c = await connect();
      c.send('GET / HTTP/1.0\r\n\r\n');
      const r = await c.readResponse();
      assert.equal(r.status, 503);
      await c.waitClosed(5000);
    });

    it('requests pipelined after a Connection: close are neither answered nor forwarded', async () => {
      raw.handler = (req) => ok(req.target);
      const mark = raw.totalBytes();
      const c = await connect();
      c.send('GET /last HTTP/1.1\r\nHost: raw.test\r\nConnection: close\r\n\r\nGET /never HTTP/1.1\r\nHost: raw.test\r\n\r\n');
      const r = await c.readResponse();
      assert.equal(r.body.toString(), '/last');
      await c.waitClosed(5000);
      assert.equal(c.unread.length, 0);
      assert.equal(raw.bytesSince(mark).toString('latin1'), `GET /last HTTP/1.1\r\nHost: raw.test\r\n${forwarded('raw.test')}\r\n`);
    });

    it('Connection: close followed by a flood of pipelined bytes: the response arrives, then a clean close (FIN, not RST)', async () => {
      raw.handler = () => ok('flooded');
      const c = await connect();
      c.send(
        `GET /flood HTTP/1.1\r\nHost: raw.test\r\nConnection: close\r\n\r\n${'GET /junk HTTP/1.1\r\nHost: raw.test\r\n\r\n'.repeat(4000)}`,
      );
      const r = await c.readResponse();
      assert.equal(r.body.toString(), 'flooded');
      const ms = await c.waitClosed(5000);
      assert.equal(c.error, undefined, 'closed with a FIN');
      assert.ok(ms < 900, `closed ${ms} ms after the response`);
      // And handoff let go of it too (it read on to the client's FIN instead of lingering).
      await waitUntil(
        'no connection left closing in the worker',
        async () => (await h.status()).totals.connections.closing === 0,
        3000,
        100,
      );
    });

    it("a server that closes its connection after a response does not close the client's", async () => {
      raw.handler = (req) => {
        req.conn.socket.end('HTTP/1.1 200 OK\r\nConnection: close\r\nContent-Length: 6\r\n\r\nclosed');
        return undefined;
      };
      const c = await connect();
      c.send('GET /sc1 HTTP/1.1\r\nHost: raw.test\r\n\r\n');
      const r1 = await c.readResponse();
      assert.equal(r1.body.toString(), 'closed');
      assert.equal(r1.header('connection'), undefined);
      c.send('GET /sc2 HTTP/1.1\r\nHost: raw.test\r\n\r\n');
      assert.equal((await c.readResponse()).body.toString(), 'closed');
      const [a, b] = raw.requests.slice(-2);
      assert.notEqual(a!.conn, b!.conn, 'a new server connection for the second request');
      assert.equal(c.closed, false);
    });

    it('a client that half-closes after its request still gets the whole response, then the close', async () => {
      raw.handler = () => ok('after your FIN');
      const c = await connect();
      c.send('GET /halfclose HTTP/1.1\r\nHost: raw.test\r\n\r\n');
      c.socket.end();
      const r = await c.readResponse();
      assert.equal(r.body.toString(), 'after your FIN');
      await c.waitClosed(5000);
    });

    it("a head cut short by the client's FIN: 400, nothing forwarded, closed", async () => {
      const mark = raw.totalBytes();
      const c = await connect();
      c.send('GET /cut HTTP/1.1\r\nHost: raw.test\r\nX-Half');
      c.socket.end();
      const r = await c.readResponse();
      assert.equal(r.status, 400);
      await c.waitClosed(5000);
      assert.equal(raw.totalBytes(), mark);
    });

    it('bytes a server sends beyond its response are dropped, and its connection is not reused', async () => {
      raw.handler = (req) => `${ok(`conn ${req.conn.id}`)}HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nEVIL!`;
      const c = await connect();
      c.send('GET /x1 HTTP/1.1\r\nHost: raw.test\r\n\r\n');
      const first = (await c.readResponse()).body.toString();
      c.send('GET /x2 HTTP/1.1\r\nHost: raw.test\r\n\r\n');
      const second = (await c.readResponse()).body.toString();
      assert.match(first, /^conn \d+$/);
      assert.match(second, /^conn \d+$/);
      assert.notEqual(second, first, 'the connection that sent extra bytes served nothing more');
      assert.equal(c.unread.length, 0);
      const dirty = raw.connections.find((x) => `conn ${x.id}` === first)!;
      await waitUntil('the dirty server connection to be closed', () => dirty.closed, 5000);
      assert.equal(dirty.requests.at(-1)!.target, '/x1');
    });

    it('interim 103 Early Hints: forwarded to an HTTP/1.1 client before the final response, not to an HTTP/1.0 one', async () => {
      raw.handler = () => `HTTP/1.1 103 Early Hints\r\nLink: </style.css>; rel=preload\r\n\r\n${ok('final')}`;
      const c = await connect();
      c.send('GET /hints HTTP/1.1\r\nHost: raw.test\r\n\r\n');
      const hint = await c.readResponse();
      assert.equal(hint.status, 103);
      assert.equal(hint.header('link'), '</style.css>; rel=preload');
      const r = await c.readResponse();
      assert.equal(r.status, 200);
      assert.equal(r.body.toString(), 'final');
      const old = await connect();
      old.send('GET /hints HTTP/1.0\r\nHost: raw.test\r\n\r\n');
      const r10 = await old.readResponse();
      assert.equal(r10.status, 200);
      assert.equal(r10.body.toString(), 'final');
      await old.waitClosed(5000);
      assert.equal(old.unread.length, 0);
    });

    it('pipelining: three requests in one write are answered in order, whatever the server delays', async () => {
      const c = await connect();
      c.send(
        'GET /p1?delay=300 HTTP/1.1\r\nHost: echo.test\r\n\r\n' +
          'GET /p2?delay=0 HTTP/1.1\r\nHost: echo.test\r\n\r\n' +
          'GET /p3?delay=100 HTTP/1.1\r\nHost: echo.test\r\n\r\n',
      );
      const urls: unknown[] = [];
      for (let i = 0; i < 3; i++) urls.push(json(await c.readResponse()).url);
      assert.deepEqual(urls, ['/p1?delay=300', '/p2?delay=0', '/p3?delay=100']);
      assert.equal(c.closed, false);
    });

    it('pipelining with bodies: each request reaches the server whole and alone, answers in order', async () => {
      raw.handler = (req) => ok(`${req.target}:${req.body.toString()}`);
      const mark = raw.totalBytes();
      const c = await connect();
      const reqs = [
        'POST /q1 HTTP/1.1\r\nHost: raw.test\r\nContent-Length: 5\r\n\r\nhello',
        'POST /q2 HTTP/1.1\r\nHost: raw.test\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n0\r\n\r\n',
        'GET /q3 HTTP/1.1\r\nHost: raw.test\r\n\r\n',
      ];
      c.send(reqs.join(''));
      const bodies: string[] = [];
      for (let i = 0; i < 3; i++) bodies.push((await c.readResponse()).body.toString());
      assert.deepEqual(bodies, ['/q1:hello', '/q2:3\r\nabc\r\n0\r\n\r\n', '/q3:']);
      assert.equal(
        raw.bytesSince(mark).toString('latin1'),
        `POST /q1 HTTP/1.1\r\nHost: raw.test\r\nContent-Length: 5\r\n${forwarded('raw.test')}\r\nhello` +
          `POST /q2 HTTP/1.1\r\nHost: raw.test\r\nTransfer-Encoding: chunked\r\n${forwarded('raw.test')}\r\n3\r\nabc\r\n0\r\n\r\n` +
          `GET /q3 HTTP/1.1\r\nHost: raw.test\r\n${forwarded('raw.test')}\r\n`,
      );
    });

    it('chunked with trailers: forwarded byte for byte both ways, extensions and trailers included', async () => {
      const response =
        'HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nTrailer: X-Done\r\n\r\n3;n=1\r\nabc\r\n10\r\n0123456789abcdef\r\n0\r\nX-Done: yes\r\n\r\n';
      raw.handler = () => response;
      const mark = raw.totalBytes();
      const c = await connect();
      const body = '5;ext="a b"\r\nhello\r\n6\r\n world\r\n0\r\nX-Sum: 42\r\nX-Other: z\r\n\r\n';
      // The body arrives in pieces: the proxy must find its end across reads.
      c.send('POST /chunks HTTP/1.1\r\nHost: raw.test\r\nTransfer-Encoding: chunked\r\nTrailer: X-Sum\r\n\r\n5;ext="a');
      await new Promise((r) => setImmediate(r));
      c.send(' b"\r\nhello\r\n6\r\n wo');
      await new Promise((r) => setImmediate(r));
      c.send('rld\r\n0\r\nX-Sum: 42\r\nX-Other: z\r\n\r\n');
      const r = await c.readResponse();
      assert.equal(r.status, 200);
      assert.equal(r.header('transfer-encoding'), 'chunked');
      assert.equal(r.header('trailer'), 'X-Done');
      assert.equal(r.body.toString('latin1'), response.slice(response.indexOf('\r\n\r\n') + 4));
      assert.equal(
        raw.bytesSince(mark).toString('latin1'),
        `POST /chunks HTTP/1.1\r\nHost: raw.test\r\nTransfer-Encoding: chunked\r\nTrailer: X-Sum\r\n${forwarded('raw.test')}\r\n${body}`,
      );
      // The connection is between messages again: the next request works.
      raw.handler = () => ok('next');
      c.send('GET /after HTTP/1.1\r\nHost: raw.test\r\n\r\n');
      assert.equal((await c.readResponse()).body.toString(), 'next');
    });

    it('Expect: 100-continue: the client gets 100 Continue, sends the body, then gets the final response', async () => {
      const c = await connect();
      c.send('POST /upload HTTP/1.1\r\nHost: echo.test\r\nContent-Length: 11\r\nExpect: 100-continue\r\n\r\n');
      const interim = await c.readResponse();
      assert.equal(interim.status, 100);
      c.send('hello world');
      const r = await c.readResponse();
      assert.equal(r.status, 200);
      const j = json(r);
      assert.equal(j.bodyBytes, 11);
      assert.equal((j.headers as Record<string, string>).expect, '100-continue');
      assert.equal(c.closed, false);
    });

    it('HEAD: no body even with a Content-Length, and the connection stays usable', async () => {
      raw.handler = (req) =>
        req.method === 'HEAD' ? 'HTTP/1.1 200 OK\r\nContent-Length: 1234\r\nContent-Type: text/plain\r\n\r\n' : ok('after-head');
      const c = await connect();
      c.send('HEAD /h HTTP/1.1\r\nHost: raw.test\r\n\r\n');
      const r = await c.readResponse({ method: 'HEAD' });
      assert.equal(r.status, 200);
      assert.equal(r.header('content-length'), '1234');
      assert.equal(r.body.length, 0);
      c.send('GET /h2 HTTP/1.1\r\nHost: raw.test\r\n\r\n');
      const r2 = await c.readResponse();
      assert.equal(r2.body.toString(), 'after-head');
      assert.equal(c.unread.length, 0, 'nothing but the two responses arrived');
      // And with a real server that streams: HEAD on ?bytes= gets no body either.
      c.send('HEAD /?bytes=5000 HTTP/1.1\r\nHost: echo.test\r\n\r\n');
      const r3 = await c.readResponse({ method: 'HEAD' });
      assert.equal(r3.status, 200);
      c.send('GET /?bytes=10 HTTP/1.1\r\nHost: echo.test\r\n\r\n');
      const r4 = await c.readResponse();
      assert.equal(r4.body.toString(), '0123456789');
      assert.equal(c.unread.length, 0);
    });

    it('204 and 304: no body, whatever the headers say, and the connection stays usable', async () => {
      raw.handler = (req) => {
        if (req.target === '/204') return 'HTTP/1.1 204 No Content\r\nX-A: 1\r\n\r\n';
        if (req.target === '/304') return 'HTTP/1.1 304 Not Modified\r\nETag: "v1"\r\nContent-Length: 10\r\n\r\n';
        return ok('last');
      };
      const c = await connect();
      c.send('GET /204 HTTP/1.1\r\nHost: raw.test\r\n\r\n');
      const a = await c.readResponse();
      assert.equal(a.status, 204);
      assert.equal(a.header('x-a'), '1');
      c.send('GET /304 HTTP/1.1\r\nHost: raw.test\r\nIf-None-Match: "v1"\r\n\r\n');
      const b = await c.readResponse({ method: 'HEAD' });
      assert.equal(b.status, 304);
      assert.equal(b.header('etag'), '"v1"');
      c.send('GET /last HTTP/1.1\r\nHost: raw.test\r\n\r\n');
      const d = await c.readResponse();
      assert.equal(d.body.toString(), 'last');
      assert.equal(c.unread.length, 0);
      // The server connection was reused throughout: no body bytes were expected after 204/304.
      const last3 = raw.requests.slice(-3);
      assert.ok(last3.every((q) => q.conn === last3[0]!.conn));
    });

    it('absolute-form target: routed by its authority, which replaces Host; the server gets origin-form', async () => {
      raw.handler = () => ok('abs');
      const mark = raw.totalBytes();
      const c = await connect();
      // Host must agree with the authority (up to case): a different one is refused (http-request-target.test.ts).
      c.send('GET http://RAW.test:8080/abs?q=1 HTTP/1.1\r\nHost: raw.test:8080\r\nAccept: x\r\n\r\n');
      const r = await c.readResponse();
      assert.equal(r.body.toString(), 'abs');
      assert.equal(
        raw.bytesSince(mark).toString('latin1'),
        `GET /abs?q=1 HTTP/1.1\r\nAccept: x\r\nHost: RAW.test:8080\r\n${forwarded('RAW.test:8080')}\r\n`,
      );
    });

    it('a close-delimited response body (no length, no chunking) reaches the client whole, then the connection closes', async () => {
      raw.handler = (req) => {
        req.conn.socket.end('HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\n\r\nuntil the end');
        return undefined;
      };
      const c = await connect();
      c.send('GET /eof HTTP/1.1\r\nHost: raw.test\r\n\r\n');
      await c.waitClosed(5000);
      const r = await c.readResponse();
      assert.equal(r.status, 200);
      assert.equal(r.header('connection'), 'close');
      assert.equal(r.body.toString(), 'until the end');
    });
  });

  describe('connection state and reuse', () => {
    it("each connection's state is visible in status: idle between requests, waiting on the server", async () => {
      let release: (() => void) | undefined;
      raw.handler = (req) => (req.target === '/hold' ? new Promise((resolve) => (release = () => resolve(ok('released')))) : ok('quick'));
      const idle = await connect();
      idle.send('GET /quick HTTP/1.1\r\nHost: raw.test\r\n\r\n');
      await idle.readResponse();
      const waiting = await connect();
      waiting.send('GET /hold HTTP/1.1\r\nHost: raw.test\r\n\r\n');
      await waitUntil('the held request at the server', () => release !== undefined, 5000);
      await waitUntil(
        'status to show an idle and a waiting connection',
        async () => {
          const c = (await h.status()).totals.connections;
          return c.idle >= 1 && c.waiting === 1;
        },
        10_000,
        100,
      );
      release!();
      assert.equal((await waiting.readResponse()).body.toString(), 'released');
      await waitUntil('nothing waiting any more', async () => (await h.status()).totals.connections.waiting === 0, 10_000, 100);
      idle.destroy();
      waiting.destroy();
    });

    it('a POST is never sent on a server connection idle for over a second (it could not be retried)', async () => {
      raw.handler = (req) => ok(`conn ${req.conn.id}`);
      const c = await connect();
      c.send('GET /warm HTTP/1.1\r\nHost: raw.test\r\n\r\n');
      const warm = (await c.readResponse()).body.toString();
      c.send('GET /again HTTP/1.1\r\nHost: raw.test\r\n\r\n');
      assert.equal((await c.readResponse()).body.toString(), warm, 'a GET reuses the pooled connection');
      // Let the pooled connection age past the 1 s reuse bound for non-idempotent requests
      // (and stay below the 4 s pool idle limit).
      await new Promise((r) => setTimeout(r, 1300));
      c.send('POST /late HTTP/1.1\r\nHost: raw.test\r\nContent-Length: 1\r\n\r\nx');
      assert.notEqual((await c.readResponse()).body.toString(), warm, 'the POST went on a fresh connection');
      c.send('GET /late HTTP/1.1\r\nHost: raw.test\r\n\r\n');
      assert.match((await c.readResponse()).body.toString(), /^conn \d+$/);
    });
  });

  describe('request smuggling vectors: refused, nothing reaches a server, connection closed', () => {
    const H = 'Host: raw.test\r\n';
    const vectors: { name: string; raw: string; status: number }[] = [
      { name: 'bare CR in a header line', raw: `GET / HTTP/1.1\r\n${H}X-A: 1\rX-B: 2\r\n\r\n`, status: 400 },
      { name: 'bare CR in the request line', raw: `GET /\r HTTP/1.1\r\n${H}\r\n`, status: 400 },
      { name: 'bare LF line endings', raw: `GET / HTTP/1.1\n${H.replace('\r', '')}\n`, status: 400 },
      { name: 'bare LF ending one header line', raw: `GET / HTTP/1.1\r\nX-A: 1\n${H}\r\n`, status: 400 },
      { name: 'obs-fold', raw: `GET / HTTP/1.1\r\n${H}X-A: 1\r\n 2\r\n\r\n`, status: 400 },
      { name: 'whitespace before the colon', raw: `POST / HTTP/1.1\r\n${H}Transfer-Encoding : chunked\r\n\r\n0\r\n\r\n`, status: 400 },
      { name: 'invalid header name character', raw: `GET / HTTP/1.1\r\n${H}X(A): 1\r\n\r\n`, status: 400 },
      { name: 'NUL in a header value', raw: `GET / HTTP/1.1\r\n${H}X-A: a\u0000b\r\n\r\n`, status: 400 },
      { name: 'DEL in a header value', raw: `GET / HTTP/1.1\r\n${H}X-A: a\u007fb\r\n\r\n`, status: 400 },
      { name: 'invalid method character', raw: `GE(T / HTTP/1.1\r\n${H}\r\n`, status: 400 },
      { name: 'invalid request-target character', raw: `GET /a\u0001b HTTP/1.1\r\n${H}\r\n`, status: 400 },
      {
        name: 'Content-Length with Transfer-Encoding',
        raw: `POST / HTTP/1.1\r\n${H}Content-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n`,
        status: 400,
      },
      {
        name: 'two different Content-Length headers',
        raw: `POST / HTTP/1.1\r\n${H}Content-Length: 5\r\nContent-Length: 6\r\n\r\nhello!`,
        status: 400,
      },
      {
        name: 'a Content-Length list with different values',
        raw: `POST / HTTP/1.1\r\n${H}Content-Length: 5, 6\r\n\r\nhello!`,
        status: 400,
      },
      { name: 'a signed Content-Length', raw: `POST / HTTP/1.1\r\n${H}Content-Length: +5\r\n\r\nhello`, status: 400 },
      {
        name: 'Transfer-Encoding whose final coding is not chunked',
        raw: `POST / HTTP/1.1\r\n${H}Transfer-Encoding: chunked, gzip\r\n\r\n0\r\n\r\n`,
        status: 400,
      },
      { name: 'Transfer-Encoding without chunked', raw: `POST / HTTP/1.1\r\n${H}Transfer-Encoding: gzip\r\n\r\nxx`, status: 400 },
      {
        name: 'chunked applied twice',
        raw: `POST / HTTP/1.1\r\n${H}Transfer-Encoding: chunked\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n`,
        status: 400,
      },
      { name: 'a lookalike coding ("xchunked")', raw: `POST / HTTP/1.1\r\n${H}Transfer-Encoding: xchunked\r\n\r\n0\r\n\r\n`, status: 400 },
      {
        name: 'an unknown coding before chunked',
        raw: `POST / HTTP/1.1\r\n${H}Transfer-Encoding: foo, chunked\r\n\r\n0\r\n\r\n`,
        status: 501,
      },
      { name: 'Transfer-Encoding in HTTP/1.0', raw: `POST / HTTP/1.0\r\n${H}Transfer-Encoding: chunked\r\n\r\n0\r\n\r\n`, status: 400 },
      {
        name: 'chunk-size overflow (17 hex digits)',
        raw: `POST / HTTP/1.1\r\n${H}Transfer-Encoding: chunked\r\n\r\n10000000000000000\r\nx\r\n0\r\n\r\n`,
        status: 400,
      },
      {
        name: 'chunk-size beyond 2^53',
        raw: `POST / HTTP/1.1\r\n${H}Transfer-Encoding: chunked\r\n\r\nFFFFFFFFFFFFFF\r\nx\r\n0\r\n\r\n`,
        status: 400,
      },
      {
        name: 'whitespace after the chunk size',
        raw: `POST / HTTP/1.1\r\n${H}Transfer-Encoding: chunked\r\n\r\n5 \r\nhello\r\n0\r\n\r\n`,
        status: 400,
      },
      {
        name: 'bare LF after the chunk data',
        raw: `POST / HTTP/1.1\r\n${H}Transfer-Encoding: chunked\r\n\r\n5\r\nhello\n0\r\n\r\n`,
        status: 400,
      },
      { name: 'two Host headers', raw: `GET / HTTP/1.1\r\n${H}Host: other.test\r\n\r\n`, status: 400 },
      { name: 'HTTP/1.1 without Host', raw: `GET / HTTP/1.1\r\nX-A: 1\r\n\r\n`, status: 400 },
      { name: 'an unsupported HTTP version', raw: `GET / HTTP/2.0\r\n${H}\r\n`, status: 505 },
      { name: 'a request line over the limit', raw: `GET /${'a'.repeat(9000)} HTTP/1.1\r\n${H}\r\n`, status: 414 },
      { name: 'a header block over the limit', raw: `GET / HTTP/1.1\r\n${H}X-Big: ${'b'.repeat(40_000)}\r\n\r\n`, status: 431 },
      { name: 'too many header fields', raw: `GET / HTTP/1.1\r\n${H}${'X-N: 1\r\n'.repeat(120)}\r\n`, status: 431 },
    ];

    // After each refusal, a valid request on a new connection: the server must receive
    // exactly that request and nothing before it (not even late bytes of the refused one).
    async function assertNothingForwarded(mark: number, n: number) {
      raw.handler = () => ok('control');
      const c = await connect();
      c.send(`GET /control-${n} HTTP/1.1\r\n${H}\r\n`);
      assert.equal((await c.readResponse()).body.toString(), 'control');
      assert.equal(raw.bytesSince(mark).toString('latin1'), `GET /control-${n} HTTP/1.1\r\n${H}${forwarded('raw.test')}\r\n`);
      c.destroy();
    }

    vectors.forEach((v, n) => {
      it(`${v.name} → ${v.status}`, async () => {
        raw.handler = () => ok('should not be here');
        const mark = raw.totalBytes();
        const logMark = h.proc.output().length;
        const c = await connect();
        c.send(v.raw);
        const r = await c.readResponse();
        assert.equal(r.status, v.status);
        assert.equal(r.header('connection'), 'close');
        await c.waitClosed(5000);
        assert.equal(c.unread.length, 0, 'nothing after the error response');
        await assertNothingForwarded(mark, n);
        assert.doesNotMatch(h.proc.output().slice(logMark), /uncaught exception|worker died/, 'the worker must survive a refused request');
      });
    });

    it("the body of a request handoff answered itself never reaches the next request's server", async () => {
      // 503 (no route) with the whole body already read: the connection stays open, and the
      // next request on it must reach the server alone.
      raw.handler = (req) => ok(`got ${req.target}`);
      const mark = raw.totalBytes();
      const c = await connect();
      const hidden = `GET /smuggled HTTP/1.1\r\n${H}\r\n`;
      c.send(`POST /x HTTP/1.1\r\nHost: nowhere.test\r\nContent-Length: ${hidden.length}\r\n\r\n${hidden}`);
      const r1 = await c.readResponse();
      assert.equal(r1.status, 503);
      c.send(`GET /real HTTP/1.1\r\n${H}\r\n`);
      const r2 = await c.readResponse();
      assert.equal(r2.body.toString(), 'got /real');
      await waitUntil('the server to have the request', () => raw.totalBytes() > mark);
      assert.equal(raw.bytesSince(mark).toString('latin1'), `GET /real HTTP/1.1\r\n${H}${forwarded('raw.test')}\r\n`);
    });
  });

  it('the worker survived every case: same process, no crash', async () => {
    const s = await h.status();
    assert.deepEqual(workerPids(s), workers);
    assert.equal(
      s.generations.reduce((n, g) => n + g.crashes, 0),
      0,
    );
  });
});
