// TLS termination against clients that try to make the proxy work or wait for nothing:
// - TLS 1.2 renegotiation, client-initiated: each one costs the server a new key exchange and
//   signature, so a client looping on it is a CPU flood. handoff refuses it (as nginx and
//   HAProxy do); Node's own limit (3 per 10 minutes) applies only to sockets of a tls.Server,
//   and was silently not enforced on the sockets handoff wraps itself.
// - A client that sends part of a TLS record then half-closes: nothing more can come, so the
//   connection is closed at once, not held (and counted against maxconn) until http-request.
// - Handshakes that stall after the server's first flight count against maxconn until
//   http-request ends them, and free their slot then.
// The http-request timeout is set long (60 s) so a close that only the timer would cause
// makes the test time out instead of passing.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import net from 'node:net';
import tls from 'node:tls';
import { readFileSync } from 'node:fs';
import { startEcho } from '../helpers/echo.js';
import type { RunningHandoff } from '../helpers/handoff.js';
import { stopAll } from '../helpers/processes.js';
import { startProxy } from './support/proxy.js';
import { issue, makeCa, removeCa, type Issued, type TestCa } from './support/tls-certs.js';
import { run } from './support/tls-tools.js';

describe('tls termination: hostile clients', () => {
  let ca: TestCa;
  let cert: Issued;
  let caText = '';
  let h: RunningHandoff;
  let tlsPort: number;
  let statsPort: number;
  let tightPort: number;

  before(async () => {
    ca = makeCa();
    cert = issue(ca, 'site', { names: ['a.test'] });
    caText = readFileSync(ca.caCert, 'utf8');
    const echo = await startEcho('e1');
    const started = await startProxy(
      3,
      ([port, stats, tight]) => `
workers: 1
log: { access: off }
stats: { bind: "127.0.0.1:${stats}" }
timeouts: { http-request: 60s }
frontends:
  web:
    bind: 127.0.0.1:${port}
    tls:
      certificates:
        - { cert: ${cert.cert}, key: ${cert.key} }
    default_backend: app
  tight:
    bind: 127.0.0.1:${tight}
    maxconn: 2
    timeouts: { http-request: 1s }
    tls:
      certificates:
        - { cert: ${cert.cert}, key: ${cert.key} }
    default_backend: app
backends:
  app:
    servers: [ { name: e1, address: ${echo.address} } ]
`,
    );
    h = started.h;
    [tlsPort, statsPort, tightPort] = started.ports as [number, number, number];
    assert.ok(h);
  });
  after(async () => {
    await stopAll();
    if (ca) removeCa(ca);
  });

  const connect12 = () =>
    new Promise<tls.TLSSocket>((resolve, reject) => {
      const s = tls.connect({ port: tlsPort, host: '127.0.0.1', servername: 'a.test', ca: [caText], maxVersion: 'TLSv1.2' }, () =>
        resolve(s),
      );
      s.once('error', reject);
    });

  it('a TLS 1.2 client asking to renegotiate is refused, and a renegotiation loop gets nowhere', async () => {
    const s = await connect12();
    // A refused renegotiation ends the connection: Node reports it as the socket's error
    // (ERR_SSL_NO_RENEGOTIATION), not through renegotiate's callback.
    let ended: Error | undefined;
    const gone = new Promise<Error>((resolve) => {
      s.once('error', (e) => {
        ended = e;
        resolve(e);
      });
      s.once('close', () => {
        ended ??= new Error('closed');
        resolve(ended);
      });
    });
    const results: (Error | null)[] = [];
    for (let i = 0; i < 5 && !ended; i++) {
      const err = await Promise.race([
        new Promise<Error | null>((resolve) => {
          if (!s.renegotiate({ rejectUnauthorized: true }, (e) => resolve(e ?? null))) resolve(new Error('socket gone'));
        }),
        gone,
      ]);
      results.push(err);
      if (err) break;
    }
    s.destroy();
    assert.equal(results.length, 1, `renegotiations the server went through: ${results.filter((r) => r === null).length}`);
    assert.match(String((results[0] as { code?: string }).code ?? results[0]), /NO_RENEGOTIATION/);
    assert.ok(results[0] instanceof Error);
  });

  it('openssl s_client: "R" (renegotiate) is refused', async () => {
    const r = await run(
      'openssl',
      ['s_client', '-tls1_2', '-connect', `127.0.0.1:${tlsPort}`, '-servername', 'a.test', '-CAfile', ca.caCert],
      { input: 'R\n', timeoutMs: 15_000 },
    );
    assert.match(r.stdout + r.stderr, /RENEGOTIATING/);
    assert.match(r.stdout + r.stderr, /no renegotiation|no_renegotiation/i);
  });

  it('a client that sends part of a record then half-closes is closed at once, not at http-request', { timeout: 20_000 }, async () => {
    const s = net.connect({ port: tlsPort, host: '127.0.0.1' });
    await new Promise((r) => s.once('connect', r));
    s.on('error', () => {});
    // A handshake record header announcing 80 bytes, then 2 of them, then FIN.
    s.end(Buffer.from([0x16, 0x03, 0x01, 0x00, 0x50, 0x01, 0x00]));
    s.resume();
    await new Promise((r) => s.once('close', r));
  });

  it('the same after a complete ClientHello (the server is waiting for the next flight)', { timeout: 20_000 }, async () => {
    // A real ClientHello from Node's client, captured off its socket, then FIN.
    const hello = await captureClientHello();
    const s = net.connect({ port: tlsPort, host: '127.0.0.1' });
    await new Promise((r) => s.once('connect', r));
    s.on('error', () => {});
    s.end(hello);
    s.resume();
    await new Promise((r) => s.once('close', r));
    const text = await (await fetch(`http://127.0.0.1:${statsPort}/metrics`)).text();
    assert.match(text, /handoff_tls_handshakes_total\{frontend="web",outcome="closed"\} [1-9]/);
  });

  it('handshakes that stall after the ServerHello hold maxconn until http-request ends them, then free it', {
    timeout: 20_000,
  }, async () => {
    const hello = await captureClientHello();
    const events: string[] = [];
    const answered: Promise<unknown>[] = [];
    const stalled = [0, 1].map((i) => {
      const s = net.connect({ port: tightPort, host: '127.0.0.1' }, () => s.write(hello));
      s.on('error', () => {});
      answered.push(new Promise((r) => s.once('data', r))); // the server's flight, never answered
      s.on('data', () => {});
      return new Promise<void>((r) =>
        s.once('close', () => {
          events.push(`stalled ${i} closed`);
          r();
        }),
      );
    });
    // Both stalled handshakes hold their slot once the server has answered them.
    await Promise.all(answered);
    const third = new Promise<void>((resolve, reject) => {
      const s = tls.connect({ port: tightPort, host: '127.0.0.1', servername: 'a.test', ca: [caText] }, () => {
        events.push('third secure');
        s.destroy();
        resolve();
      });
      s.once('error', reject);
    });
    await Promise.all([...stalled, third]);
    assert.ok(events.indexOf('third secure') > events.findIndex((e) => e.startsWith('stalled')), events.join(', '));
  });
});

/** The first flight of a real TLS client (Node's), as bytes. */
function captureClientHello(): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const server = net.createServer((c) => {
      c.once('data', (chunk) => {
        resolve(chunk);
        c.destroy();
        server.close();
      });
    });
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as net.AddressInfo;
      const s = tls.connect({ port, host: '127.0.0.1', servername: 'a.test' });
      s.on('error', () => {});
    });
    server.on('error', reject);
  });
}
