// TLS passthrough by SNI (mode: tcp with routes): real TLS clients (node tls.connect with a
// server name, verifying against the test CA) reach the backend their name routes to, which
// answers with its own certificate and name; handoff never terminates TLS. Hostile peeks are
// closed, logged once and counted. Connections stay up through live and process reloads.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import net from 'node:net';
import { join } from 'node:path';
import tls from 'node:tls';
import { after, before, describe, it } from 'node:test';
import { startHandoff, type RunningHandoff } from '../helpers/handoff.js';
import { freePort } from '../helpers/net.js';
import { stopAll } from '../helpers/processes.js';
import { parseExposition, sumOf } from '../helpers/prometheus.js';
import { makeTestPki, type TestPki } from '../helpers/tls-pki.js';
import { startTlsEcho, type TlsServer } from '../helpers/tls-servers.js';
import { waitUntil } from '../helpers/wait.js';

interface Conn {
  readonly socket: tls.TLSSocket;
  /** Send a line and wait for its echo; resolves with the answer. */
  ask(text: string): Promise<string>;
  closed: boolean;
  error: Error | undefined;
}

/** A verified TLS connection through handoff, asking for `servername` (undefined: no SNI). */
function connect(port: number, pki: TestPki, servername: string | undefined, checkName = servername): Promise<Conn> {
  return new Promise((resolve, reject) => {
    const socket = tls.connect({
      host: '127.0.0.1',
      port,
      ca: pki.ca,
      ...(servername ? { servername } : {}),
      checkServerIdentity: (_host, cert) => (checkName ? tls.checkServerIdentity(checkName, cert) : undefined),
    });
    const conn: Conn = {
      socket,
      closed: false,
      error: undefined,
      ask(text) {
        return new Promise((res, rej) => {
          let got = '';
          const onClose = () => rej(new Error(`closed while waiting for the answer to ${text}`));
          const onData = (c: Buffer) => {
            got += c.toString('latin1');
            if (got.endsWith('\n')) {
              socket.off('data', onData);
              socket.off('close', onClose);
              res(got);
            }
          };
          socket.on('data', onData);
          socket.once('close', onClose);
          socket.write(`${text}\n`);
        });
      },
    };
    socket.once('secureConnect', () => resolve(conn));
    socket.on('error', (err) => {
      conn.error = err;
      reject(err);
    });
    socket.on('close', () => (conn.closed = true));
  });
}

/** Bytes written to a plain TCP connection; resolves when the peer closes it (with what it sent back). */
function rawUntilClosed(port: number, send: (s: net.Socket) => void, timeoutMs = 20_000): Promise<{ got: Buffer; ms: number }> {
  return new Promise((resolve, reject) => {
    const started = Date.now();
    const s = net.connect({ port, host: '127.0.0.1' });
    const chunks: Buffer[] = [];
    const timer = setTimeout(() => {
      s.destroy();
      reject(new Error('not closed by handoff'));
    }, timeoutMs);
    s.on('connect', () => send(s));
    s.on('data', (c) => chunks.push(c));
    s.on('error', () => {});
    s.on('close', () => {
      clearTimeout(timer);
      resolve({ got: Buffer.concat(chunks), ms: Date.now() - started });
    });
  });
}

/**
 * A relay on a kernel port in front of `target`: the client's first flight goes through
 * `sendFirst` (to cut or hold it), everything after it is piped both ways. Closed after the test file.
 */
async function relayFirstFlight(target: number, sendFirst: (chunk: Buffer, up: net.Socket) => Promise<void>): Promise<number> {
  const relay = net.createServer((inbound) => {
    const up = net.connect({ port: target, host: '127.0.0.1' });
    let first = true;
    inbound.on('data', async (chunk: Buffer) => {
      if (!first) return void up.write(chunk);
      first = false;
      inbound.pause();
      await sendFirst(chunk, up);
      inbound.resume();
    });
    up.on('data', (d) => inbound.write(d));
    up.on('close', () => inbound.destroy());
    inbound.on('close', () => up.destroy());
    up.on('error', () => {});
    inbound.on('error', () => {});
  });
  await new Promise<void>((r) => relay.listen(0, '127.0.0.1', r));
  after(() => relay.close());
  return (relay.address() as net.AddressInfo).port;
}

describe('TLS passthrough by SNI', () => {
  let pki: TestPki;
  let a: TlsServer;
  let b: TlsServer;
  let c: TlsServer;
  let h: RunningHandoff;
  let port: number;
  let statsPort: number;
  let patientPort: number;
  const config = (extra = '') => `workers: 2
drain: { timeout: 10s }
log: { access: ./access.log }
stats: { bind: 127.0.0.1:${statsPort} }
frontends:
  pass:
    mode: tcp
    bind: 127.0.0.1:${port}
    timeouts: { client: 1s }
    routes:
      - { sni: a.example.com, backend: a }
      - { name: bees, sni: ["*.b.example", b.example], backend: b }
${extra}
  patient:
    mode: tcp
    bind: 127.0.0.1:${patientPort}
    timeouts: { client: 60s }
    routes: [ { sni: "*.b.example", backend: b } ]
backends:
  a: { servers: [ { name: a1, address: ${a.address} } ] }
  b: { servers: [ { name: b1, address: ${b.address} } ] }
  c: { servers: [ { name: c1, address: ${c.address} } ] }
`;
  const accessLines = () =>
    readFileSync(join(h.dir, 'access.log'), 'utf8')
      .split('\n')
      .filter(Boolean)
      .map((l) => JSON.parse(l) as Record<string, unknown>);
  const metrics = async () => parseExposition(await (await fetch(`http://127.0.0.1:${statsPort}/metrics`)).text());

  before(async () => {
    pki = makeTestPki();
    a = await startTlsEcho('a', pki.leaf('a', { dns: ['a.example.com'] }));
    b = await startTlsEcho('b', pki.leaf('b', { dns: ['*.b.example', 'b.example'] }));
    c = await startTlsEcho('c', pki.leaf('c', { dns: ['default.example'], ip: ['127.0.0.1'] }));
    port = await freePort();
    statsPort = await freePort();
    patientPort = await freePort();
    h = await startHandoff(config('    default_backend: c'));
  });
  after(async () => {
    await h?.stop();
    await Promise.all([a, b, c].map((s) => s?.close()));
    await stopAll();
    pki?.cleanup();
  });

  it('routes by server name: each client gets its backend, with that backend own certificate', async () => {
    const ca = await connect(port, pki, 'a.example.com');
    assert.equal(await ca.ask('hello'), 'a:hello\n');
    assert.equal((ca.socket.getPeerCertificate().subject as { CN: string }).CN, 'a.example.com');
    const cb = await connect(port, pki, 'x.b.example');
    assert.equal(await cb.ask('hello'), 'b:hello\n');
    const cb2 = await connect(port, pki, 'B.Example'); // names are compared without case
    assert.equal(await cb2.ask('hi'), 'b:hi\n');
    // No SNI (an IP address as the name) and a name no route matches: default_backend.
    const cc = await connect(port, pki, undefined, '127.0.0.1');
    assert.equal(await cc.ask('x'), 'c:x\n');
    const cz = await connect(port, pki, 'zzz.example', 'default.example');
    assert.equal(await cz.ask('y'), 'c:y\n');
    for (const k of [ca, cb, cb2, cc, cz]) k.socket.end();
    await waitUntil('access lines', () => accessLines().filter((l) => l.frontend === 'pass' && l.termination === 'ok').length >= 5);
    const lines = accessLines();
    const line = lines.find((l) => l.host === 'x.b.example')!;
    assert.equal(line.route, 'bees');
    assert.equal(line.backend, 'b');
    assert.equal(line.server, 'b1');
    assert.ok((line.bytes_in as number) > 100, 'bytes_in counts the ClientHello');
  });

  it('a ClientHello in many tiny TCP segments and records, slowly, still routes', async () => {
    // A relay in front of handoff cuts the client's first flight into 7-byte writes.
    const relayPort = await relayFirstFlight(port, async (chunk, up) => {
      for (let i = 0; i < chunk.length; i += 7) {
        up.write(chunk.subarray(i, i + 7));
        await new Promise((r) => setTimeout(r, 2));
      }
    });
    const k = await connect(relayPort, pki, 'a.example.com');
    assert.equal(await k.ask('slow'), 'a:slow\n');
    k.socket.destroy();
  });

  it('hostile first bytes are closed, logged once each and counted', async () => {
    const before = sumOf(await metrics(), 'handoff_tls_failures_total');
    const linesBefore = accessLines().length;
    // Plain HTTP: closed at the first byte, nothing answered.
    const http = await rawUntilClosed(port, (s) => s.write('GET / HTTP/1.1\r\nHost: a.example.com\r\n\r\n'));
    assert.equal(http.got.length, 0);
    // 1 MiB of garbage that starts like a handshake record: closed by the size bounds.
    const garbage = Buffer.alloc(1 << 20, 0x41);
    garbage.set([0x16, 3, 1, 0x40, 0]);
    const g = await rawUntilClosed(port, (s) => s.write(garbage));
    assert.equal(g.got.length, 0);
    // Slowloris: 3 bytes of a record header, then nothing: closed at timeouts.client (1s).
    const slow = await rawUntilClosed(port, (s) => s.write(Buffer.from([0x16, 3, 1])));
    assert.ok(slow.ms >= 900, `closed after ${slow.ms}ms`);
    // Lines of earlier tests' connections may still arrive: these three went to no backend.
    const refused = () =>
      accessLines()
        .slice(linesBefore)
        .filter((l) => l.backend === undefined);
    await waitUntil('three access lines', () => refused().length >= 3);
    const fresh = refused();
    assert.deepEqual(fresh.map((l) => l.termination).sort(), ['bad-client-hello', 'bad-client-hello', 'client-hello-timeout']);
    for (const l of fresh) assert.equal(l.backend, undefined);
    await waitUntil('counted', async () => sumOf(await metrics(), 'handoff_tls_failures_total') === before + 3);
    const m = await metrics();
    assert.equal(sumOf(m, 'handoff_tls_failures_total', { reason: 'client-hello-timeout' }) >= 1, true);
    // The service is unharmed.
    const k = await connect(port, pki, 'a.example.com');
    assert.equal(await k.ask('still'), 'a:still\n');
    k.socket.destroy();
  });

  it('a connection still peeking at a process reload finishes its ClientHello, then its tunnel migrates', async () => {
    // A relay holds the second half of the client's first flight until the reload returned.
    let release: () => void = () => {};
    const released = new Promise<void>((r) => (release = r));
    let held = false;
    // (The `patient` frontend: its ClientHello deadline outlasts a reload on a busy machine.)
    const relayPort = await relayFirstFlight(patientPort, async (chunk, up) => {
      up.write(chunk.subarray(0, 20));
      held = true;
      await released;
      up.write(chunk.subarray(20));
    });
    const pending = connect(relayPort, pki, 'one.b.example');
    await waitUntil('the first 20 bytes sent', () => held);
    const migratedBefore = (await h.status()).totals.migratedIn;
    const r = await h.reload(undefined, { restart: true });
    assert.equal(r.code, 0, r.stderr);
    release();
    const k = await pending;
    assert.equal(await k.ask('after'), 'b:after\n');
    await waitUntil('the tunnel migrated', async () => (await h.status()).totals.migratedIn > migratedBefore);
    const r2 = await h.reload(undefined, { restart: true });
    assert.equal(r2.code, 0, r2.stderr);
    assert.equal(await k.ask('again'), 'b:again\n');
    assert.equal(k.closed, false);
    k.socket.destroy();
  });

  it('connections stay up through 20 reloads, live and process, mixed; routes change live', async () => {
    const conns = await Promise.all([
      connect(port, pki, 'a.example.com'),
      connect(port, pki, 'one.b.example'),
      connect(port, pki, undefined, '127.0.0.1'),
      connect(port, pki, 'a.example.com'),
    ]);
    const expect = ['a', 'b', 'c', 'a'];
    for (let i = 0; i < 20; i++) {
      // Alternate the config (a live apply each time) and restart the processes every third time.
      const extra = i % 2 === 0 ? '      - { sni: moved.example, backend: a }\n    default_backend: c' : '    default_backend: c';
      const r = await h.reload(config(extra), { restart: i % 3 === 2 });
      assert.equal(r.code, 0, r.stderr);
      for (const [j, k] of conns.entries()) assert.equal(await k.ask(`r${i}`), `${expect[j]}:r${i}\n`, `connection ${j} after reload ${i}`);
      if (i % 2 === 0) {
        // The route added by this live apply serves new connections at once.
        const m = await connect(port, pki, 'moved.example', 'a.example.com').catch((e: Error) => e);
        assert.ok(!(m instanceof Error) || /altname|Hostname/i.test(m.message), String(m));
      }
    }
    for (const k of conns) {
      assert.equal(k.closed, false);
      assert.equal(k.error, undefined);
    }
    const s = await h.status();
    assert.ok(s.totals.migratedIn >= 4, `tunnels migrated (${s.totals.migratedIn})`);
    for (const k of conns) k.socket.destroy();
  });
});
