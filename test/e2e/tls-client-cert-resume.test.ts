// Client certificates and TLS session resumption. A client that resumes (a session ticket or
// id from its last connection, as browsers and curl do) must be served, resumed or after a
// full handshake, never refused with an internal_error alert. And a resumed session must not
// outlive the client_ca that verified it: after a reload to another client_ca, a session
// verified against the old one does not get in.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import tls from 'node:tls';
import { startEcho } from '../helpers/echo.js';
import type { RunningHandoff } from '../helpers/handoff.js';
import { stopAll } from '../helpers/processes.js';
import { startProxy } from './support/proxy.js';
import { issue, makeCa, removeCa, type Issued, type TestCa } from './support/tls-certs.js';

describe('client certificates and session resumption', () => {
  let ca: TestCa;
  let otherCa: TestCa;
  let site: Issued;
  let client: Issued;
  let h: RunningHandoff;
  let port: number;
  let config: (clientCa: string) => string;

  before(async () => {
    ca = makeCa('resume CA');
    otherCa = makeCa('other client CA');
    site = issue(ca, 'site', { names: ['a.test'] });
    client = issue(ca, 'client', { cn: 'alice', client: true });
    const echo = await startEcho('e1');
    const started = await startProxy(1, ([p]) => {
      config = (clientCa: string) => `
workers: 1
log: { access: off }
frontends:
  web:
    bind: 127.0.0.1:${p}
    tls:
      certificates:
        - { cert: ${site.cert}, key: ${site.key} }
      client_ca: ${clientCa}
    default_backend: app
backends:
  app:
    servers: [ { name: e1, address: ${echo.address} } ]
`;
      return config(ca.caCert);
    });
    h = started.h;
    port = started.ports[0]!;
  });
  after(async () => {
    await stopAll();
    if (ca) removeCa(ca);
    if (otherCa) removeCa(otherCa);
  });

  interface Visit {
    status: string;
    reused: boolean;
    error?: string;
    session?: Buffer;
  }
  const visit = (version: tls.SecureVersion, session?: Buffer) =>
    new Promise<Visit>((resolve) => {
      const s = tls.connect({
        port,
        host: '127.0.0.1',
        servername: 'a.test',
        ca: [readFileSync(ca.caCert)],
        cert: readFileSync(client.cert),
        key: readFileSync(client.key),
        minVersion: version,
        maxVersion: version,
        ...(session ? { session } : {}),
      });
      let got: Buffer | undefined;
      let out = '';
      let error: string | undefined;
      let reused = false;
      s.on('session', (b: Buffer) => {
        got = b;
      });
      s.on('secureConnect', () => {
        reused = s.isSessionReused();
        s.write('GET / HTTP/1.1\r\nHost: a.test\r\nConnection: close\r\n\r\n');
      });
      s.on('data', (d: Buffer) => {
        out += d.toString('latin1');
      });
      s.on('error', (e: Error & { code?: string }) => {
        error = e.code ?? e.message;
      });
      s.on('close', () =>
        resolve({ status: out.split('\r\n')[0] ?? '', reused, ...(error ? { error } : {}), ...(got ? { session: got } : {}) }),
      );
    });

  for (const version of ['TLSv1.3', 'TLSv1.2'] as const) {
    it(`${version}: a client that resumes is served`, async () => {
      const first = await visit(version);
      assert.equal(first.status, 'HTTP/1.1 200 OK', JSON.stringify(first));
      assert.ok(first.session, 'a session to resume');
      const again = await visit(version, first.session);
      assert.equal(again.error, undefined);
      assert.equal(again.status, 'HTTP/1.1 200 OK');
      assert.ok(again.reused, 'the session was resumed');
    });
  }

  it('a session verified against the old client_ca does not get in after a reload to another one', async () => {
    const first = await visit('TLSv1.3');
    assert.equal(first.status, 'HTTP/1.1 200 OK');
    assert.ok(first.session);
    const r = await h.reload(config(otherCa.caCert));
    assert.equal(r.code, 0, r.stderr);
    const again = await visit('TLSv1.3', first.session);
    assert.notEqual(again.status, 'HTTP/1.1 200 OK', JSON.stringify({ ...again, session: undefined }));
    const fresh = await visit('TLSv1.3');
    assert.notEqual(fresh.status, 'HTTP/1.1 200 OK');
  });
});
