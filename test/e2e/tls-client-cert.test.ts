// Client certificates (client_ca + client_cert), with curl: required refuses a client
// without a certificate or with one from another CA; optional serves a client without one
// and refuses one that does not verify; ${tls.client.subject} names the client. Each
// refusal is logged with its cause.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { startEcho } from '../helpers/echo.js';
import type { RunningHandoff } from '../helpers/handoff.js';
import { stopAll } from '../helpers/processes.js';
import { startProxy } from './support/proxy.js';
import { issue, makeCa, removeCa, type Issued, type TestCa } from './support/tls-certs.js';
import { curlHttps, type Ran } from './support/tls-tools.js';

describe('tls client certificates', () => {
  let ca: TestCa;
  let stranger: TestCa;
  let client: Issued;
  let foreign: Issued;
  let h: RunningHandoff;
  let requiredPort: number;
  let optionalPort: number;

  before(async () => {
    ca = makeCa();
    stranger = makeCa('other CA');
    const server = issue(ca, 'server', { names: ['a.test'] });
    client = issue(ca, 'client', { client: true, cn: 'client one' });
    foreign = issue(stranger, 'foreign', { client: true, cn: 'intruder' });
    const echo = await startEcho('e1');
    const started = await startProxy(
      2,
      ([r, o]) => `
workers: 1
log: { access: off }
frontends:
  required:
    bind: 127.0.0.1:${r}
    tls:
      certificates: [ { cert: ${server.cert}, key: ${server.key} } ]
      client_ca: ${ca.caCert}
      client_cert: required
    headers: { request: { set: { X-Client: "\${tls.client.subject}" } } }
    default_backend: app
  optional:
    bind: 127.0.0.1:${o}
    tls:
      certificates: [ { cert: ${server.cert}, key: ${server.key} } ]
      client_ca: ${ca.caCert}
      client_cert: optional
    headers: { request: { set: { X-Client: "\${tls.client.subject}" } } }
    default_backend: app
backends:
  app:
    servers: [ { name: e1, address: ${echo.address} } ]
`,
    );
    h = started.h;
    [requiredPort, optionalPort] = started.ports as [number, number];
  });
  after(async () => {
    await stopAll();
    if (ca) removeCa(ca);
    if (stranger) removeCa(stranger);
  });

  const withCert = (c: Issued) => ['--cert', c.cert, '--key', c.key];
  const subject = (r: Ran) =>
    (JSON.parse(r.stdout.slice(r.stdout.lastIndexOf('\r\n\r\n') + 4)) as { headers: Record<string, string> }).headers['x-client'];
  const refused = (r: Ran) => r.code !== 0 && !/^HTTP\/1\.1 200/m.test(r.stdout);

  it('required: a certificate from client_ca is served, with its subject', async () => {
    const r = await curlHttps(requiredPort, 'a.test', ca.caCert, '/', withCert(client));
    assert.equal(r.code, 0, r.stderr);
    assert.equal(subject(r), 'CN=client one, O=handoff tests');
  });

  it('required: no certificate, or one from another CA, is refused and logged with its cause', async () => {
    for (const tls of ['1.2', '1.3']) {
      const none = await curlHttps(requiredPort, 'a.test', ca.caCert, '/', ['--tls-max', tls, `--tlsv${tls}`]);
      assert.ok(refused(none), `TLS ${tls} without a certificate: ${none.stdout} ${none.stderr}`);
      const bad = await curlHttps(requiredPort, 'a.test', ca.caCert, '/', ['--tls-max', tls, `--tlsv${tls}`, ...withCert(foreign)]);
      assert.ok(refused(bad), `TLS ${tls} with a foreign certificate: ${bad.stdout} ${bad.stderr}`);
    }
    await h.proc.waitFor(/tls handshake failed.*frontend=required cause=client-certificate/, 10_000);
  });

  it('optional: no certificate is served (empty subject); a valid one is named; a foreign one is refused', async () => {
    const none = await curlHttps(optionalPort, 'a.test', ca.caCert, '/');
    assert.equal(none.code, 0, none.stderr);
    assert.equal(subject(none), '');
    const good = await curlHttps(optionalPort, 'a.test', ca.caCert, '/', withCert(client));
    assert.equal(good.code, 0, good.stderr);
    assert.equal(subject(good), 'CN=client one, O=handoff tests');
    const bad = await curlHttps(optionalPort, 'a.test', ca.caCert, '/', withCert(foreign));
    assert.ok(refused(bad), `${bad.stdout} ${bad.stderr}`);
    await h.proc.waitFor(/tls handshake failed.*frontend=optional cause=client-certificate/, 10_000);
  });
});
