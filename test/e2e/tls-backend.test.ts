// TLS to servers (backend/server `tls`): real HTTPS servers with certificates from a test CA
// made by openssl at test time. Verified re-encryption, SNI, pooled TLS connections, failures
// (wrong CA, wrong name, a plain server) as 502 with their cause and passive health, health
// checks over TLS, and live applies that switch a server between plain and TLS without ever
// reusing a connection of the other kind.
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import https from 'node:https';
import WebSocket, { WebSocketServer } from 'ws';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { startHandoff, type RunningHandoff } from '../helpers/handoff.js';
import { freePort } from '../helpers/net.js';
import { stopAll } from '../helpers/processes.js';
import { parseExposition, sumOf } from '../helpers/prometheus.js';
import { makeTestPki, type TestPki } from '../helpers/tls-pki.js';
import { startDual, type DualServer } from '../helpers/tls-servers.js';
import { waitUntil } from '../helpers/wait.js';

describe('TLS to servers', () => {
  let pki: TestPki;
  let ipCert: DualServer; // certificate for 127.0.0.1 (IP SAN) only
  let named: DualServer; // certificate for app.internal only
  let h: RunningHandoff;
  let port: number;
  let statsPort: number;
  let plainOnly: http.Server;
  const backends = (over: Record<string, string> = {}) => ({
    ip: `{ tls: { ca: ./ca.pem }, servers: [ { name: s1, address: ${ipCert.address} } ] }`,
    named: `{ tls: { ca: ./ca.pem, sni: app.internal }, servers: [ { name: n1, address: ${named.address} } ] }`,
    wrongca: `{ tls: { ca: ./other.pem }, passive: { fall: 2, cooldown: 1m }, retries: 0, servers: [ { name: w1, address: ${ipCert.address} } ] }`,
    wrongname: `{ tls: { ca: ./ca.pem, sni: other.internal }, retries: 0, servers: [ { name: x1, address: ${named.address} } ] }`,
    noverify: `{ tls: { verify: false }, servers: [ { name: v1, address: ${named.address} } ] }`,
    plain: `{ servers: [ { name: p1, address: ${ipCert.address} } ] }`,
    notls: `{ tls: true, retries: 0, servers: [ { name: q1, address: 127.0.0.1:${(plainOnly.address() as AddressInfo).port} } ] }`,
    ...over,
  });
  const config = (over: Record<string, string> = {}) => {
    const b = backends(over);
    return `workers: 2
log: { access: ./access.log }
stats: { bind: 127.0.0.1:${statsPort} }
frontends:
  web:
    bind: 127.0.0.1:${port}
    routes:
${Object.keys(b)
  .map((name) => `      - { path: /${name}, backend: ${name} }`)
  .join('\n')}
backends:
${Object.entries(b)
  .map(([name, v]) => `  ${name}: ${v}`)
  .join('\n')}
`;
  };
  const get = async (path: string) => {
    const r = await fetch(`http://127.0.0.1:${port}${path}`);
    return { status: r.status, body: await r.text() };
  };
  /** A request on a new connection; with the access log's termination for 503s. */
  const getFresh = (path: string) =>
    new Promise<{ status: number; termination: unknown }>((resolve, reject) => {
      const n = accessLines().length;
      http
        .get({ host: '127.0.0.1', port, path, agent: false }, (res) => {
          res.resume();
          res.on('end', async () => {
            await waitUntil('its access line', () => accessLines().length > n);
            const mine = accessLines()
              .slice(n)
              .find((l) => l.backend === 'wrongca');
            resolve({ status: res.statusCode ?? 0, termination: mine?.termination });
          });
        })
        .on('error', reject);
    });
  const accessLines = () =>
    readFileSync(join(h.dir, 'access.log'), 'utf8')
      .split('\n')
      .filter(Boolean)
      .map((l) => JSON.parse(l) as Record<string, unknown>);

  before(async () => {
    pki = makeTestPki();
    ipCert = await startDual('ip', pki.leaf('ip', { ip: ['127.0.0.1'] }));
    named = await startDual('named', pki.leaf('named', { dns: ['app.internal'] }));
    plainOnly = http.createServer((_req, res) => res.end('plain only'));
    await new Promise<void>((r) => plainOnly.listen(0, '127.0.0.1', r));
    port = await freePort();
    statsPort = await freePort();
    h = await startWithFiles();
  });
  const startWithFiles = async () => {
    // startHandoff makes its own folder: start with a placeholder config, add the files, reload.
    const placeholderPort = await freePort();
    const r = await startHandoff(
      `stats: { bind: 127.0.0.1:${statsPort} }\nfrontends: { web: { bind: 127.0.0.1:${placeholderPort}, default_backend: x } }\nbackends: { x: { servers: [ { name: a, address: 127.0.0.1:1 } ] } }\n`,
    );
    writeFileSync(join(r.dir, 'ca.pem'), pki.ca);
    writeFileSync(join(r.dir, 'other.pem'), pki.otherCa().ca);
    const reloaded = await r.reload(config());
    assert.equal(reloaded.code, 0, reloaded.stderr);
    return r;
  };
  after(async () => {
    await h?.stop();
    await Promise.all([ipCert, named].map((s) => s?.close()));
    plainOnly?.closeAllConnections();
    plainOnly?.close();
    await stopAll();
    pki?.cleanup();
  });

  it('verifies against the CA: by IP SAN without sni, by name with sni (sent as SNI)', async () => {
    assert.deepEqual(await get('/ip'), { status: 200, body: 'server ip tls=yes' });
    assert.deepEqual(await get('/named'), { status: 200, body: 'server named tls=yes' });
    assert.ok(named.serverNames.includes('app.internal'), `SNI seen: ${named.serverNames.join(',')}`);
    assert.ok(!ipCert.serverNames.some((n) => n !== false), 'no SNI sent for an IP without sni');
  });

  it('keeps TLS connections to servers alive and reuses them', async () => {
    const before = ipCert.accepted();
    for (let i = 0; i < 30; i++) assert.equal((await get('/ip')).status, 200);
    // fetch keeps its connection to handoff alive; each worker reuses its pooled TLS connection.
    assert.ok(ipCert.accepted() - before <= 4, `${ipCert.accepted() - before} new TLS connections for 30 requests`);
  });

  it('a refused certificate is a 502 with its cause, marks the server down, and nothing crashes', async () => {
    const m0 = parseExposition(await (await fetch(`http://127.0.0.1:${statsPort}/metrics`)).text());
    const before = accessLines().length;
    for (let i = 0; i < 3; i++) {
      const r = await get('/wrongca');
      assert.ok(r.status === 502 || r.status === 503, `status ${r.status}`);
    }
    assert.equal((await get('/wrongname')).status, 502);
    await waitUntil('access lines', () => accessLines().length >= before + 4);
    const fresh = accessLines().slice(before);
    const causes = fresh.map((l) => `${l.backend} ${l.status} ${l.termination}`);
    assert.ok(causes.includes('wrongca 502 tls-verify-failed'), causes.join('\n'));
    assert.ok(causes.includes('wrongname 502 tls-verify-failed'), causes.join('\n'));
    // Passive health (fall 2): a worker that saw two failures takes w1 out and answers 503
    // (no server) at once. Fresh connections, so that requests reach every worker.
    await waitUntil(
      'w1 taken out by passive health',
      async () => {
        const r = await getFresh('/wrongca');
        return r.status === 503 && r.termination === 'no-server';
      },
      30_000,
    );
    const m1 = parseExposition(await (await fetch(`http://127.0.0.1:${statsPort}/metrics`)).text());
    assert.ok(
      sumOf(m1, 'handoff_tls_failures_total', { reason: 'server-verify' }) >
        sumOf(m0, 'handoff_tls_failures_total', { reason: 'server-verify' }),
    );
    // The other backends still serve.
    assert.equal((await get('/ip')).status, 200);
  });

  it('verify: false accepts any certificate; a plain server behind tls is a handshake failure', async () => {
    assert.deepEqual(await get('/noverify'), { status: 200, body: 'server named tls=yes' });
    assert.deepEqual(await get('/plain'), { status: 200, body: 'server ip tls=no' });
    const before = accessLines().length;
    assert.equal((await get('/notls')).status, 502);
    const line = await waitUntil('the access line', () =>
      accessLines()
        .slice(before)
        .find((l) => l.backend === 'notls'),
    );
    assert.equal(line.termination, 'tls-handshake-failed');
    assert.equal(line.status, 502);
  });

  it('live applies switch a server between plain and TLS; a pooled connection of the other kind is never reused', async () => {
    // Warm the pools with plain connections to s1's address.
    for (let i = 0; i < 5; i++) assert.equal((await get('/plain')).body, 'server ip tls=no');
    let r = await h.reload(config({ plain: `{ tls: { ca: ./ca.pem }, servers: [ { name: p1, address: ${ipCert.address} } ] }` }));
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /live/);
    for (let i = 0; i < 10; i++) assert.equal((await get('/plain')).body, 'server ip tls=yes', `request ${i} after tls on`);
    r = await h.reload(config());
    assert.equal(r.code, 0, r.stderr);
    for (let i = 0; i < 10; i++) assert.equal((await get('/plain')).body, 'server ip tls=no', `request ${i} after tls off`);
    // A CA change on the server's own settings (server overrides backend): refused, then fixed.
    r = await h.reload(
      config({
        ip: `{ tls: { ca: ./ca.pem }, retries: 0, passive: { fall: 0 }, servers: [ { name: s1, address: ${ipCert.address}, tls: { ca: ./other.pem } } ] }`,
      }),
    );
    assert.equal(r.code, 0, r.stderr);
    assert.equal((await get('/ip')).status, 502);
    r = await h.reload(config());
    assert.equal(r.code, 0, r.stderr);
    assert.equal((await get('/ip')).status, 200);
  });

  it('health checks go over TLS and fail on a refused certificate', async () => {
    const health = '{ type: http, path: /health, interval: 200ms, rise: 1, fall: 1 }';
    const r = await h.reload(
      config({
        ip: `{ tls: { ca: ./ca.pem }, health: ${health}, servers: [ { name: s1, address: ${ipCert.address} } ] }`,
        wrongca: `{ tls: { ca: ./other.pem }, health: ${health}, servers: [ { name: w1, address: ${ipCert.address} } ] }`,
      }),
    );
    assert.equal(r.code, 0, r.stderr);
    const before = ipCert.checks.tls;
    await waitUntil('TLS health checks', () => ipCert.checks.tls >= before + 3);
    assert.equal(ipCert.checks.plain, 0);
    const s = await h.status();
    assert.equal(s.backends.ip?.servers.s1?.operational, 'up');
    assert.equal(s.backends.wrongca?.servers.w1?.operational, 'down');
    assert.match(h.proc.output(), /tls certificate refused/);
    assert.equal((await get('/ip')).status, 200);
  });

  it('a WebSocket to a TLS server survives a process reload (its tunnel stays in the draining worker)', async () => {
    const leaf = pki.leaf('wss', { ip: ['127.0.0.1'] });
    const server = https.createServer({ cert: leaf.cert, key: leaf.key });
    const wss = new WebSocketServer({ server });
    wss.on('connection', (ws) => ws.on('message', (d: Buffer) => ws.send(`wss:${d.toString()}`)));
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    const wsPort = (server.address() as AddressInfo).port;
    try {
      const r = await h.reload(config({ ws: `{ tls: { ca: ./ca.pem }, servers: [ { name: ws1, address: 127.0.0.1:${wsPort} } ] }` }));
      assert.equal(r.code, 0, r.stderr);
      const ws = new WebSocket(`ws://127.0.0.1:${port}/ws`);
      await new Promise<void>((resolve, reject) => {
        ws.once('open', () => resolve());
        ws.once('error', reject);
      });
      let closed = false;
      ws.on('close', () => (closed = true));
      const ask = (text: string) =>
        new Promise<string>((resolve) => {
          ws.once('message', (d: Buffer) => resolve(d.toString()));
          ws.send(text);
        });
      assert.equal(await ask('one'), 'wss:one');
      const rr = await h.reload(undefined, { restart: true });
      assert.equal(rr.code, 0, rr.stderr);
      assert.equal(await ask('two'), 'wss:two');
      assert.equal(closed, false);
      ws.close();
    } finally {
      for (const c of wss.clients) c.terminate();
      wss.close();
      server.closeAllConnections();
      server.close();
    }
  });

  it('a CA file that becomes invalid is refused at reload with its position; the service keeps serving', async () => {
    writeFileSync(join(h.dir, 'other.pem'), 'garbage\n');
    const r = await h.reload();
    assert.notEqual(r.code, 0);
    assert.match(r.stderr, /handoff\.yaml:\d+:\d+: backends\.wrongca\.tls\.ca: CA file "\.\/other\.pem": no PEM certificate/);
    assert.equal((await get('/ip')).status, 200);
  });
});
