// What handoff adds to and removes from messages: X-Forwarded-For / -Proto / -Host,
// hop-by-hop headers (and those named in Connection) in both directions, and the header
// rules of a frontend and a route with their variables, on proxied responses and on
// handoff's own pages (503, 502, 504, 400).
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { startEcho } from '../helpers/echo.js';
import { workerPids, type RunningHandoff } from '../helpers/handoff.js';
import { stopAll } from '../helpers/processes.js';
import { ok, startRawBackend, type BackendRequest, type RawBackend } from './support/raw-backend.js';
import { RawClient, type RawResponse } from './support/raw-client.js';
import { startProxy } from './support/proxy.js';

describe('forwarded headers, hop-by-hop headers and header rules', () => {
  let port: number;
  let raw: RawBackend;
  let h: RunningHandoff;
  let pid: number;
  const clients: RawClient[] = [];
  const connect = async (host = '127.0.0.1') => {
    const c = await RawClient.connect(port, host);
    clients.push(c);
    return c;
  };
  /** Send one request on a new connection; the response and what the server received. */
  const roundTrip = async (req: string, host = '127.0.0.1'): Promise<{ res: RawResponse; got: BackendRequest | undefined }> => {
    const before = raw.requests.length;
    const c = await connect(host);
    c.send(req);
    const res = await c.readResponse();
    return { res, got: raw.requests.length > before ? raw.requests[raw.requests.length - 1] : undefined };
  };

  before(async () => {
    raw = await startRawBackend();
    const echo = await startEcho('echo');
    const started = await startProxy(
      1,
      ([port]) => `
workers: 1
log: { access: off }
frontends:
  web:
    bind: ["127.0.0.1:${port}", "[::1]:${port}"]
    headers:
      request:
        set: { X-Gen: "\${generation}", X-Pid: "\${worker.pid}", X-Rid: "\${request.id}", X-Fe: "\${frontend}", X-Client: "\${client.address}" }
        remove: [X-Debug]
      response:
        set: { X-Served-By: "\${backend}/\${server}", X-Gen: "\${generation}", X-Pid: "\${worker.pid}", X-Rid: "\${request.id}", X-Route: "\${route}" }
        remove: [X-Powered-By]
    routes:
      - name: r-raw
        host: raw.test
        backend: raw
        headers:
          request: { set: { X-Route: "\${route}", X-Backend: "\${backend}", X-Server: "\${server}" } }
          response: { set: { X-Route-Rule: "on" } }
      - { name: r-slow, host: slow.test, backend: slow }
backends:
  raw: { servers: [ { name: r1, address: ${raw.address} } ] }
  slow:
    timeouts: { server: 300ms }
    servers: [ { name: s1, address: ${echo.address} } ]
`,
    );
    h = started.h;
    port = started.ports[0]!;
    pid = workerPids(await h.status())[0]!;
  });
  after(async () => {
    for (const c of clients) c.destroy();
    await raw?.close();
    await stopAll();
  });

  describe('X-Forwarded-*', () => {
    it('X-Forwarded-For is the client address, appended to the ones received (one header)', async () => {
      raw.handler = () => ok();
      const none = await roundTrip('GET / HTTP/1.1\r\nHost: raw.test\r\n\r\n');
      assert.deepEqual(
        none.got!.headers.filter(([n]) => n.toLowerCase() === 'x-forwarded-for'),
        [['X-Forwarded-For', '127.0.0.1']],
      );
      const one = await roundTrip('GET / HTTP/1.1\r\nHost: raw.test\r\nX-Forwarded-For: 10.0.0.1\r\n\r\n');
      assert.deepEqual(
        one.got!.headers.filter(([n]) => n.toLowerCase() === 'x-forwarded-for'),
        [['X-Forwarded-For', '10.0.0.1, 127.0.0.1']],
      );
      const two = await roundTrip(
        'GET / HTTP/1.1\r\nHost: raw.test\r\nx-forwarded-for: 10.0.0.1, 10.0.0.2\r\nX-Forwarded-For: 10.0.0.3\r\n\r\n',
      );
      assert.deepEqual(
        two.got!.headers.filter(([n]) => n.toLowerCase() === 'x-forwarded-for'),
        [['X-Forwarded-For', '10.0.0.1, 10.0.0.2, 10.0.0.3, 127.0.0.1']],
      );
    });

    it('an IPv6 client appears as its address in X-Forwarded-For and ${client.address}', async () => {
      raw.handler = () => ok();
      const { got } = await roundTrip(`GET / HTTP/1.1\r\nHost: raw.test\r\n\r\n`, '::1');
      assert.equal(got!.header('x-forwarded-for'), '::1');
      assert.equal(got!.header('x-client'), '::1');
    });

    it("X-Forwarded-Proto and X-Forwarded-Host are handoff's, whatever the client sent", async () => {
      raw.handler = () => ok();
      const { got } = await roundTrip(
        'GET / HTTP/1.1\r\nHost: raw.test:8080\r\nX-Forwarded-Proto: https\r\nX-Forwarded-Host: evil.example\r\n\r\n',
      );
      assert.deepEqual(
        got!.headers.filter(([n]) => n.toLowerCase() === 'x-forwarded-proto'),
        [['X-Forwarded-Proto', 'http']],
      );
      assert.deepEqual(
        got!.headers.filter(([n]) => n.toLowerCase() === 'x-forwarded-host'),
        [['X-Forwarded-Host', 'raw.test:8080']],
      );
    });
  });

  describe('hop-by-hop headers', () => {
    it('request: Connection, Keep-Alive, TE, Upgrade, Proxy-Connection and the headers Connection names are not forwarded', async () => {
      raw.handler = () => ok();
      const { got } = await roundTrip(
        'GET /hop HTTP/1.1\r\nHost: raw.test\r\nConnection: keep-alive, X-Hop-One\r\nConnection: x-hop-two\r\nKeep-Alive: timeout=5\r\nX-Hop-One: 1\r\nX-HOP-TWO: 2\r\n' +
          'TE: trailers\r\nUpgrade: h2c\r\nProxy-Connection: keep-alive\r\nX-Kept: yes\r\nTrailer: X-T\r\n\r\n',
      );
      const names = got!.headers.map(([n]) => n.toLowerCase());
      for (const hop of ['connection', 'keep-alive', 'x-hop-one', 'x-hop-two', 'te', 'upgrade', 'proxy-connection'])
        assert.ok(!names.includes(hop), `${hop} was forwarded: ${got!.head}`);
      assert.equal(got!.header('x-kept'), 'yes');
      assert.equal(got!.header('trailer'), 'X-T', 'Trailer is end-to-end');
    });

    it('response: the same headers from the server never reach the client', async () => {
      raw.handler = () =>
        'HTTP/1.1 200 OK\r\nConnection: keep-alive, X-Resp-Hop\r\nKeep-Alive: timeout=5\r\nX-Resp-Hop: 1\r\nProxy-Connection: keep-alive\r\nUpgrade: foo\r\nTE: trailers\r\nX-Kept: yes\r\nContent-Length: 2\r\n\r\nhi';
      const { res } = await roundTrip('GET /hop HTTP/1.1\r\nHost: raw.test\r\n\r\n');
      assert.equal(res.status, 200);
      assert.equal(res.body.toString(), 'hi');
      const names = res.headers.map(([n]) => n.toLowerCase());
      for (const hop of ['connection', 'keep-alive', 'x-resp-hop', 'proxy-connection', 'upgrade', 'te'])
        assert.ok(!names.includes(hop), `${hop} reached the client: ${res.head}`);
      assert.equal(res.header('x-kept'), 'yes');
    });
  });

  describe('header rules', () => {
    it('request rules: frontend and route sets with every variable; remove; a set replaces what the client sent', async () => {
      raw.handler = () => ok();
      const { res, got } = await roundTrip('GET / HTTP/1.1\r\nHost: raw.test\r\nX-Debug: secret\r\nx-debug: again\r\nX-Gen: 999\r\n\r\n');
      assert.equal(got!.header('x-debug'), undefined);
      assert.deepEqual(
        got!.headers.filter(([n]) => n.toLowerCase() === 'x-gen'),
        [['X-Gen', '1']],
      );
      assert.equal(got!.header('x-pid'), String(pid));
      assert.equal(got!.header('x-fe'), 'web');
      assert.equal(got!.header('x-client'), '127.0.0.1');
      assert.equal(got!.header('x-route'), 'r-raw');
      assert.equal(got!.header('x-backend'), 'raw');
      assert.equal(got!.header('x-server'), 'r1');
      assert.match(got!.header('x-rid') ?? '', /^\S+$/);
      assert.equal(res.header('x-rid'), got!.header('x-rid'), 'one request id for the request and its response');
    });

    it("response rules: variables set, removed headers gone, a set replaces the server's value; request ids differ", async () => {
      raw.handler = () => 'HTTP/1.1 200 OK\r\nX-Powered-By: php\r\nX-Gen: from-server\r\nContent-Length: 0\r\n\r\n';
      const a = await roundTrip('GET / HTTP/1.1\r\nHost: raw.test\r\n\r\n');
      const b = await roundTrip('GET / HTTP/1.1\r\nHost: raw.test\r\n\r\n');
      for (const { res } of [a, b]) {
        assert.equal(res.header('x-powered-by'), undefined);
        assert.deepEqual(res.all('x-gen'), ['1']);
        assert.equal(res.header('x-pid'), String(pid));
        assert.equal(res.header('x-served-by'), 'raw/r1');
        assert.equal(res.header('x-route'), 'r-raw');
        assert.equal(res.header('x-route-rule'), 'on');
      }
      assert.notEqual(a.res.header('x-rid'), b.res.header('x-rid'));
    });

    const assertOwnPage = (res: RawResponse, status: number) => {
      assert.equal(res.status, status);
      assert.equal(res.header('x-gen'), '1', `${status} carries \${generation}`);
      assert.equal(res.header('x-pid'), String(pid), `${status} carries \${worker.pid}`);
      assert.match(res.header('x-rid') ?? '', /^\S*$/);
    };

    it("on handoff's own 503 (no route)", async () => {
      const { res } = await roundTrip('GET / HTTP/1.1\r\nHost: nowhere.test\r\n\r\n');
      assertOwnPage(res, 503);
      assert.equal(res.header('x-served-by'), '/');
    });

    it("on handoff's own 502 (a bad response), with the route's rules too", async () => {
      raw.handler = () => 'HTTP/1.1 200 OK\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\nxx';
      const { res } = await roundTrip('GET / HTTP/1.1\r\nHost: raw.test\r\n\r\n');
      assertOwnPage(res, 502);
      assert.equal(res.header('x-served-by'), 'raw/r1');
      assert.equal(res.header('x-route-rule'), 'on');
    });

    it("on handoff's own 504 (server timeout)", async () => {
      const { res } = await roundTrip('GET /?delay=3000 HTTP/1.1\r\nHost: slow.test\r\n\r\n');
      assertOwnPage(res, 504);
      assert.equal(res.header('x-served-by'), 'slow/s1');
      assert.equal(res.header('x-route'), 'r-slow');
    });

    it("on handoff's own 400 (a malformed request)", async () => {
      const { res } = await roundTrip('GET / HTTP/1.1\r\nHost: raw.test\r\nBad Header: 1\r\n\r\n');
      assertOwnPage(res, 400);
      assert.equal(res.header('connection'), 'close');
    });
  });
});
