// TLS across reloads. A certificate change is a live apply: new handshakes get the new
// certificate, a TLS connection opened before goes on with its session, and the worker
// processes stay. A bad certificate fails the reload with file:line:col and changes
// nothing. A process reload cannot migrate a TLS connection (Node cannot export a TLS
// session): a request in flight finishes with Connection: close; an idle TLS connection
// is closed cleanly (no reset) when the config changes, and at a restart (same config) it
// answers its next request with Connection: close instead, so that no request meets a
// close; the client's next connection is served by the new generation; plain connections
// keep migrating.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { copyFileSync, readFileSync } from 'node:fs';
import { connect as tlsConnect, type TLSSocket } from 'node:tls';
import { startEcho } from '../helpers/echo.js';
import { workerPids, type RunningHandoff } from '../helpers/handoff.js';
import { stopAll } from '../helpers/processes.js';
import { waitUntil } from '../helpers/wait.js';
import { RawClient } from './support/raw-client.js';
import { startProxy } from './support/proxy.js';
import { issue, makeCa, removeCa, type Issued, type TestCa } from './support/tls-certs.js';
import { sClient } from './support/tls-tools.js';

describe('tls and reloads', () => {
  let ca: TestCa;
  let site: Issued;
  let h: RunningHandoff;
  let tlsPort: number;
  let plainPort: number;
  let yaml: string;
  let caText = '';
  const clients: RawClient[] = [];
  const tlsClient = async () => {
    const c = await RawClient.connectTls(tlsPort, { servername: 'a.test', ca: [caText] });
    clients.push(c);
    return c;
  };
  const get = async (c: RawClient, path = '/') => {
    c.send(`GET ${path} HTTP/1.1\r\nHost: a.test\r\n\r\n`);
    return c.readResponse({ timeoutMs: 15_000 });
  };
  /** A TLS session (ticket) from a fresh connection. */
  const ticket = () =>
    new Promise<Buffer>((resolve, reject) => {
      const c = tlsConnect({ port: tlsPort, host: '127.0.0.1', servername: 'a.test', ca: [caText] });
      c.once('session', (s) => {
        resolve(s);
        c.end();
      });
      c.once('error', reject);
      c.on('data', () => {});
    });
  /** Whether a new connection offering `session` resumes it. */
  const resumes = (session: Buffer) =>
    new Promise<boolean>((resolve, reject) => {
      const c = tlsConnect({ port: tlsPort, host: '127.0.0.1', servername: 'a.test', ca: [caText], session });
      c.once('secureConnect', () => {
        resolve(c.isSessionReused());
        c.end();
      });
      c.once('error', reject);
      c.on('data', () => {});
    });
  const peerSerial = (c: RawClient) => (c.socket as TLSSocket).getPeerCertificate().serialNumber.toUpperCase();

  before(async () => {
    ca = makeCa();
    site = issue(ca, 'site', { names: ['a.test'] });
    caText = readFileSync(ca.caCert, 'utf8');
    const echo = await startEcho('e1');
    const started = await startProxy(2, ([t, p]) => {
      yaml = `
workers: 2
log: { access: off }
drain: { timeout: 10s }
frontends:
  web:
    bind: 127.0.0.1:${t}
    tls:
      certificates:
        - cert: ${site.cert}
          key: ${site.key}
    default_backend: app
  plain:
    bind: 127.0.0.1:${p}
    default_backend: app
backends:
  app:
    servers: [ { name: e1, address: ${echo.address} } ]
`;
      return yaml;
    });
    h = started.h;
    [tlsPort, plainPort] = started.ports as [number, number];
  });
  after(async () => {
    for (const c of clients) c.destroy();
    await stopAll();
    if (ca) removeCa(ca);
  });

  it('a renewed certificate is applied live: new handshakes see it, an open TLS connection goes on, same workers', async () => {
    const old = await tlsClient();
    assert.equal((await get(old)).status, 200);
    assert.equal(peerSerial(old), site.serial);
    const pids = workerPids(await h.status()).sort();

    const renewed = issue(ca, 'site', { names: ['a.test'] }); // same files, new serial
    assert.notEqual(renewed.serial, site.serial);
    const r = await h.reload();
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /\(live\)/);

    assert.equal((await sClient(tlsPort, ['-servername', 'a.test'])).serial, renewed.serial);
    const fresh = await tlsClient();
    assert.equal(peerSerial(fresh), renewed.serial);
    assert.equal((await get(fresh)).status, 200);
    // The connection opened before the swap: same session, answered after it.
    const again = await get(old);
    assert.equal(again.status, 200);
    assert.equal(peerSerial(old), site.serial);
    assert.deepEqual(workerPids(await h.status()).sort(), pids);
    const status = await h.status();
    assert.equal(status.tls?.[0]?.serial, renewed.serial);
    site = renewed;
  });

  it('a key that does not match its certificate fails the reload with file:line:col; the old certificate stays', async () => {
    const other = issue(ca, 'other', { names: ['a.test'] });
    const saved = `${site.key}.saved`;
    copyFileSync(site.key, saved);
    copyFileSync(other.key, site.key);
    try {
      const r = await h.reload();
      assert.notEqual(r.code, 0);
      assert.match(r.stderr, /handoff\.yaml:\d+:\d+: frontends\.web\.tls\.certificates\[0\]\.cert: .*does not match/);
      assert.doesNotMatch(r.stderr + r.stdout + h.proc.output(), /PRIVATE KEY/);
      assert.equal((await sClient(tlsPort, ['-servername', 'a.test'])).serial, site.serial);
      const c = await tlsClient();
      assert.equal((await get(c)).status, 200);
    } finally {
      copyFileSync(saved, site.key);
    }
  });

  it('a restart: the TLS request in flight ends with Connection: close, an idle TLS connection answers its next request with Connection: close, plain ones migrate', async () => {
    const idle = await tlsClient();
    assert.equal((await get(idle)).status, 200);
    // A session ticket from a worker of this generation (TLS 1.3: it arrives after the handshake).
    const session = await ticket();
    const busy = await tlsClient();
    const plain = await RawClient.connect(plainPort);
    clients.push(plain);
    plain.send('GET / HTTP/1.1\r\nHost: p\r\n\r\n');
    assert.equal((await plain.readResponse()).status, 200);

    busy.send('GET /slow?delay=1500 HTTP/1.1\r\nHost: a.test\r\n\r\n');
    const inFlight = busy.readResponse({ timeoutMs: 15_000 });
    // In flight: handoff has the request and waits for the server's answer.
    await waitUntil('the request in flight', async () => (await h.status()).totals.connections.waiting >= 1, 10_000, 50);
    const r = await h.reload(undefined, { restart: true });
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /\(process\)/);

    const res = await inFlight;
    assert.equal(res.status, 200);
    assert.equal(res.header('connection'), 'close');
    await busy.waitClosed();
    assert.equal(busy.error, undefined, 'the busy TLS connection was reset');
    // The idle TLS connection was not closed under the client: its next request is answered
    // (by the old generation, which runs the same config), then the connection closes.
    assert.equal(idle.closed, false, 'the idle TLS connection was closed at the restart');
    const last = await get(idle);
    assert.equal(last.status, 200);
    assert.equal(last.header('connection'), 'close');
    await idle.waitClosed();
    assert.equal(idle.error, undefined, 'the idle TLS connection was reset');
    // A client retrying on a new connection is served by the new generation, and resumes
    // its TLS session there: every worker of every generation shares the ticket keys.
    const retry = await tlsClient();
    assert.equal((await get(retry)).status, 200);
    const resumed = await resumes(session);
    assert.equal(resumed, true, 'the session ticket from the old generation was not accepted by the new one');
    // The plain keep-alive connection migrated: same TCP connection, served after the reload.
    plain.send('GET / HTTP/1.1\r\nHost: p\r\n\r\n');
    assert.equal((await plain.readResponse()).status, 200);
    assert.equal(plain.closed, false);
  });
  it('a process reload with another config: an idle TLS connection is closed cleanly, and the next connection gets the new config', async () => {
    const idle = await tlsClient();
    assert.equal((await get(idle)).status, 200);
    const changed = yaml.replace('workers: 2', 'workers: 1');
    assert.notEqual(changed, yaml);
    const r = await h.reload(changed);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /\(process\)/);
    // Its answer would come from the old config: it is closed at once, cleanly.
    await idle.waitClosed();
    assert.equal(idle.error, undefined, 'the idle TLS connection was reset');
    const fresh = await tlsClient();
    assert.equal((await get(fresh)).status, 200);
    // The old generation had nothing left to wait for: it exits, and one worker serves.
    await waitUntil('one worker left', async () => workerPids(await h.status()).length === 1, 15_000, 100);
    yaml = changed;
  });
});
