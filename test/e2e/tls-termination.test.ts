// TLS termination on an HTTP frontend, with real clients (curl, openssl s_client, Node's tls):
// SNI picks the certificate by its names (exact, one-label wildcard, else the default),
// versions (1.1 refused, 1.2 and 1.3 served), ALPN http/1.1, plain HTTP on the TLS port
// answered 400, X-Forwarded-Proto and the ${tls.*} variables, large bodies both ways,
// a client that does not read (back-pressure), pipelining, a half-close, a handshake that
// never finishes, handshake counters and certificate expiry in /metrics, and the
// redirect_https of a plain frontend and of a route.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import net from 'node:net';
import tls from 'node:tls';
import WebSocket from 'ws';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { startEcho } from '../helpers/echo.js';
import { workerPids, type RunningHandoff } from '../helpers/handoff.js';
import { findChromium, openPage } from '../helpers/chromium.js';
import { stopAll } from '../helpers/processes.js';
import { waitUntil } from '../helpers/wait.js';
import { RawClient } from './support/raw-client.js';
import { startProxy } from './support/proxy.js';
import { issue, makeCa, removeCa, type Issued, type TestCa } from './support/tls-certs.js';
import { curlHttps, run, sClient } from './support/tls-tools.js';

describe('tls termination', () => {
  let ca: TestCa;
  let def: Issued;
  let named: Issued;
  let h: RunningHandoff;
  let tlsPort: number;
  let plainPort: number;
  let statsPort: number;
  const clients: RawClient[] = [];
  const tlsClient = async (servername = 'a.test') => {
    const c = await RawClient.connectTls(tlsPort, { servername, ca: [caText], ALPNProtocols: ['http/1.1'] });
    clients.push(c);
    return c;
  };
  let caText = '';

  before(async () => {
    ca = makeCa();
    def = issue(ca, 'default', { names: ['default.test'] });
    named = issue(ca, 'named', { names: ['a.test', '*.w.test'] });
    caText = readFileSync(ca.caCert, 'utf8');
    const echo = await startEcho('e1');
    const started = await startProxy(
      3,
      ([tls, plain, stats]) => `
workers: 2
log: { access: off }
stats: { bind: "127.0.0.1:${stats}" }
timeouts: { http-request: 1500ms }
frontends:
  web:
    bind: 127.0.0.1:${tls}
    tls:
      certificates:
        - { cert: ${def.cert}, key: ${def.key} }
        - { cert: ${named.cert}, key: ${named.key} }
    headers:
      request:
        set: { X-Tls: "sni=\${tls.sni} v=\${tls.version} subject=\${tls.client.subject}" }
    default_backend: app
  plain:
    bind: 127.0.0.1:${plain}
    headers:
      request:
        set: { X-Tls: "sni=\${tls.sni} v=\${tls.version}" }
    routes:
      - { host: app.test, backend: app }
      - { host: old.test, redirect_https: 301 }
    redirect_https: { code: 308, port: ${tls} }
backends:
  app:
    servers: [ { name: e1, address: ${echo.address} } ]
`,
    );
    h = started.h;
    [tlsPort, plainPort, statsPort] = started.ports as [number, number, number];
  });
  after(async () => {
    for (const c of clients) c.destroy();
    await stopAll();
    if (ca) removeCa(ca);
  });

  describe('certificates by SNI', () => {
    it('curl verifies each name against the certificate that names it', async () => {
      for (const name of ['a.test', 'x.w.test', 'default.test']) {
        const r = await curlHttps(tlsPort, name, ca.caCert, '/hello');
        assert.equal(r.code, 0, `${name}: ${r.stderr}`);
        assert.match(r.stdout, /^HTTP\/1\.1 200/, name);
      }
    });

    it('s_client: exact name, wildcard of one label, unknown name and no SNI', async () => {
      assert.equal((await sClient(tlsPort, ['-servername', 'a.test'])).serial, named.serial);
      assert.equal((await sClient(tlsPort, ['-servername', 'B.W.TEST'])).serial, named.serial);
      // A wildcard covers one label only: deeper names and the bare domain get the default.
      assert.equal((await sClient(tlsPort, ['-servername', 'x.y.w.test'])).serial, def.serial);
      assert.equal((await sClient(tlsPort, ['-servername', 'w.test'])).serial, def.serial);
      assert.equal((await sClient(tlsPort, ['-servername', 'unknown.test'])).serial, def.serial);
      assert.equal((await sClient(tlsPort, ['-noservername'])).serial, def.serial);
    });
  });

  describe('versions and ALPN', () => {
    it('TLS 1.1 is refused; 1.2 and 1.3 are served; ALPN picks http/1.1', async () => {
      const old = await sClient(tlsPort, ['-servername', 'a.test', '-tls1_1']);
      assert.equal(old.ok, false, old.output);
      for (const [flag, version] of [
        ['-tls1_2', 'TLSv1.2'],
        ['-tls1_3', 'TLSv1.3'],
      ] as const) {
        const hs = await sClient(tlsPort, ['-servername', 'a.test', flag, '-alpn', 'h2,http/1.1']);
        assert.equal(hs.ok, true, hs.output);
        assert.equal(hs.protocol, version);
        assert.equal(hs.alpn, 'http/1.1');
      }
    });
  });

  describe('HTTP over TLS', () => {
    it('X-Forwarded-Proto is https and the tls.* variables carry the SNI and version; plain: http and empty', async () => {
      const c = await tlsClient('x.w.test');
      c.send('GET /v HTTP/1.1\r\nHost: x.w.test\r\n\r\n');
      const res = await c.readResponse();
      const body = JSON.parse(res.body.toString()) as { headers: Record<string, string> };
      assert.equal(body.headers['x-forwarded-proto'], 'https');
      assert.match(body.headers['x-tls']!, /^sni=x\.w\.test v=TLSv1\.3 subject=$/);
      const p = await RawClient.connect(plainPort);
      clients.push(p);
      p.send('GET /v HTTP/1.1\r\nHost: app.test\r\n\r\n');
      const plain = JSON.parse((await p.readResponse()).body.toString()) as { headers: Record<string, string> };
      assert.equal(plain.headers['x-forwarded-proto'], 'http');
      assert.equal(plain.headers['x-tls'], 'sni= v=');
    });

    it('curl: a large request body and a large response body arrive whole', async () => {
      const body = Buffer.alloc(32 * 1024 * 1024 + 13, 7);
      const file = join(ca.dir, 'upload.bin');
      writeFileSync(file, body);
      const up = await curlHttps(tlsPort, 'a.test', ca.caCert, '/up', [
        '--data-binary',
        `@${file}`,
        '-H',
        'Content-Type: application/octet-stream',
      ]);
      assert.equal(up.code, 0, up.stderr);
      const echo = JSON.parse(up.stdout.slice(up.stdout.lastIndexOf('\r\n\r\n') + 4)) as { bodyBytes: number; bodySha256: string };
      assert.equal(echo.bodyBytes, body.length);
      assert.equal(echo.bodySha256, createHash('sha256').update(body).digest('hex'));
      const n = 64 * 1024 * 1024;
      const down = await run('curl', [
        '-sS',
        '--max-time',
        '30',
        '--resolve',
        `a.test:${tlsPort}:127.0.0.1`,
        '--cacert',
        ca.caCert,
        '-o',
        '/dev/null',
        '-w',
        '%{http_code} %{size_download}',
        `https://a.test:${tlsPort}/down?bytes=${n}`,
      ]);
      assert.equal(down.stdout, `200 ${n}`, down.stderr);
    });

    it('a client that stops reading is waited for: the workers do not buffer the response (back-pressure), then it gets every byte', async () => {
      const pids = workerPids(await h.status());
      const rss = () =>
        pids.reduce((sum, pid) => sum + Number(/VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1] ?? 0) * 1024, 0);
      const before = rss();
      const n = 256 * 1024 * 1024;
      const socket = tls.connect({ port: tlsPort, host: '127.0.0.1', servername: 'a.test', ca: [caText] });
      await new Promise((r, j) => socket.once('secureConnect', r).once('error', j));
      socket.pause();
      socket.write(`GET /down?bytes=${n} HTTP/1.1\r\nHost: a.test\r\nConnection: close\r\n\r\n`);
      // The server side sends as fast as it may; the proxy must stop reading it.
      await new Promise((r) => setTimeout(r, 1500));
      const grown = rss() - before;
      assert.ok(grown < 64 * 1024 * 1024, `workers grew by ${grown} bytes while the client read nothing`);
      let received = 0;
      socket.on('data', (c: Buffer) => (received += c.length));
      socket.resume();
      await new Promise((r) => socket.once('close', r));
      assert.ok(received > n && received < n + 1024, String(received));
    });

    it('pipelined requests are answered in order on one TLS connection', async () => {
      const c = await tlsClient();
      let burst = '';
      for (let i = 0; i < 20; i++) burst += `GET /p${i} HTTP/1.1\r\nHost: a.test\r\n\r\n`;
      c.send(burst);
      for (let i = 0; i < 20; i++) {
        const res = await c.readResponse();
        assert.equal((JSON.parse(res.body.toString()) as { url: string }).url, `/p${i}`);
      }
    });

    it('pipelined requests whose responses outgrow the output bound wait for the client to read, then go on', async () => {
      const c = await tlsClient();
      let burst = '';
      for (let i = 0; i < 6; i++) burst += `GET /big${i}?bytes=300000 HTTP/1.1\r\nHost: a.test\r\n\r\n`;
      c.send(burst);
      for (let i = 0; i < 6; i++) {
        const res = await c.readResponse({ timeoutMs: 20_000 });
        assert.equal(res.status, 200);
        assert.equal(res.body.length, 300000);
      }
    });

    it('a client that half-closes after its request still gets the response', async () => {
      const c = await tlsClient();
      c.send('GET /half HTTP/1.1\r\nHost: a.test\r\n\r\n');
      c.socket.end();
      const res = await c.readResponse();
      assert.equal(res.status, 200);
      await c.waitClosed();
    });
  });

  describe('WebSocket over TLS', () => {
    it('wss: the upgrade is proxied and messages are echoed both ways through the tunnel', async () => {
      const ws = new WebSocket(`wss://127.0.0.1:${tlsPort}/ws`, { ca: [caText], servername: 'a.test' } as WebSocket.ClientOptions);
      await new Promise((resolve, reject) => ws.once('open', resolve).once('error', reject));
      const big = Buffer.alloc(1024 * 1024, 5);
      for (const msg of ['hello', big]) {
        const echoed = new Promise<Buffer>((resolve) => ws.once('message', (d) => resolve(d as Buffer)));
        ws.send(msg);
        const got = await echoed;
        assert.equal(Buffer.compare(got, Buffer.from(msg)), 0);
      }
      ws.close(1000);
      await new Promise((r) => ws.once('close', r));
    });
  });

  describe('what is not TLS', () => {
    it('plain HTTP on the TLS port gets 400 "plain HTTP request sent to HTTPS port" and a clean close', async () => {
      const c = await RawClient.connect(tlsPort);
      clients.push(c);
      c.send('GET / HTTP/1.1\r\nHost: a.test\r\n\r\n');
      const res = await c.readResponse();
      assert.equal(res.status, 400);
      assert.match(res.body.toString(), /plain HTTP request sent to HTTPS port/);
      await c.waitClosed();
      assert.equal(c.error, undefined);
    });

    it('a handshake that never finishes is closed after http-request (1.5 s here)', async () => {
      const s = net.connect({ port: tlsPort, host: '127.0.0.1' });
      await new Promise((r) => s.once('connect', r));
      s.write(Buffer.from([0x16, 0x03, 0x01])); // the start of a record, then nothing
      s.on('error', () => {});
      s.resume();
      await new Promise((r) => s.once('close', r));
    });

    it('failed handshakes are counted by cause; certificates show their expiry in /metrics', async () => {
      const res = await fetch(`http://127.0.0.1:${statsPort}/metrics`);
      const text = await res.text();
      const value = (re: RegExp) => Number(re.exec(text)?.[1] ?? 'NaN');
      assert.ok(value(/handoff_tls_handshakes_total\{frontend="web",outcome="protocol-version"\} (\d+)/) >= 1, text);
      assert.ok(value(/handoff_tls_handshakes_total\{frontend="web",outcome="plain-http"\} (\d+)/) >= 1);
      assert.ok(value(/handoff_tls_handshakes_total\{frontend="web",outcome="timeout"\} (\d+)/) >= 1);
      assert.ok(value(/handoff_tls_handshakes_total\{frontend="web",outcome="ok"\} (\d+)/) >= 5);
      const expiry = value(/handoff_tls_certificate_expiry_seconds\{frontend="web",cert="named\.pem"\} (-?\d+)/);
      assert.ok(expiry > 25 * 86400 && expiry <= 31 * 86400, String(expiry));
      // No key material anywhere in what the service shows.
      const status = await (await fetch(`http://127.0.0.1:${statsPort}/status.json`)).text();
      for (const out of [text, status, h.proc.output()]) assert.doesNotMatch(out, /PRIVATE KEY/);
      assert.match(status, new RegExp(named.serial));
    });
  });

  describe('stats page', () => {
    const chromium = findChromium();
    it('lists each certificate with its names, time left and serial, in a real browser', {
      skip: chromium ? false : 'no chromium on PATH',
    }, async () => {
      const page = await openPage(chromium!, `http://127.0.0.1:${statsPort}/`);
      try {
        const rows = await waitUntil(
          'the TLS rows',
          async () => {
            const t = await page.evaluate<string>(`document.getElementById('tls-rows').textContent`);
            return t.includes(named.serial) ? t : undefined;
          },
          30_000,
          100,
        );
        assert.match(rows, /default\.pem \(default\)default\.test\d+ days/);
        assert.match(rows, /named\.pema\.test, \*\.w\.test\d+ days/);
        assert.deepEqual(page.problems, []);
      } finally {
        await page.close();
      }
    });
  });

  describe('redirect_https', () => {
    it('a plain frontend answers 308 to the https URL, same host, path and query, on the port given', async () => {
      const c = await RawClient.connect(plainPort);
      clients.push(c);
      c.send('GET /a/b?x=1&y=2 HTTP/1.1\r\nHost: Shop.Example.com:8080\r\n\r\n');
      const res = await c.readResponse();
      assert.equal(res.status, 308);
      assert.equal(res.header('location'), `https://shop.example.com:${tlsPort}/a/b?x=1&y=2`);
      // Keep-alive: the next request on the same connection is served too.
      c.send('GET / HTTP/1.1\r\nHost: app.test\r\n\r\n');
      assert.equal((await c.readResponse()).status, 200);
    });

    it('a route answers 301 to port 443 (no port in the URL); a host that is not a host name gets 400', async () => {
      const c = await RawClient.connect(plainPort);
      clients.push(c);
      c.send('POST /form HTTP/1.1\r\nHost: old.test\r\nContent-Length: 3\r\n\r\nabc');
      const res = await c.readResponse();
      assert.equal(res.status, 301);
      assert.equal(res.header('location'), 'https://old.test/form');
      const d = await RawClient.connect(plainPort);
      clients.push(d);
      d.send('GET / HTTP/1.1\r\nHost: a@b\r\n\r\n');
      assert.equal((await d.readResponse()).status, 400);
    });
  });
});
