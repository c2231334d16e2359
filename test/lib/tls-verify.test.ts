// The one Node internal TLS termination uses (src/lib/node-handles.ts tlsVerifyError): the
// verification result of a client certificate on a server TLSSocket that handoff builds
// around an accepted socket. Fails loudly if a Node version changes it.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import net from 'node:net';
import tls from 'node:tls';
import { tlsVerifyError } from '../../src/lib/node-handles.js';
import { issue, makeCa, removeCa, type Issued, type TestCa } from '../e2e/support/tls-certs.js';

describe('tlsVerifyError', () => {
  let ca: TestCa;
  let other: TestCa;
  let server: Issued;
  let good: Issued;
  let foreign: Issued;
  before(() => {
    ca = makeCa();
    other = makeCa('other');
    server = issue(ca, 'server', { names: ['a.test'] });
    good = issue(ca, 'good', { client: true });
    foreign = issue(other, 'foreign', { client: true });
  });
  after(() => {
    removeCa(ca);
    removeCa(other);
  });

  /** The verify result the server sees for a client presenting `client`. */
  const verdict = (client: Issued): Promise<string | undefined> =>
    new Promise((resolve, reject) => {
      const context = tls.createSecureContext({
        cert: readFileSync(server.cert),
        key: readFileSync(server.key),
        ca: readFileSync(ca.caCert),
      });
      const srv = net.createServer((raw) => {
        const socket = new tls.TLSSocket(raw, { isServer: true, secureContext: context, requestCert: true, rejectUnauthorized: false });
        socket.on('error', reject);
        socket.once('secure', () => {
          resolve(tlsVerifyError(socket));
          socket.destroy();
          srv.close();
        });
      });
      srv.listen(0, '127.0.0.1', () => {
        const c = tls.connect({
          port: (srv.address() as net.AddressInfo).port,
          host: '127.0.0.1',
          servername: 'a.test',
          ca: readFileSync(ca.caCert),
          cert: readFileSync(client.cert),
          key: readFileSync(client.key),
        });
        c.on('error', () => {});
        c.on('secureConnect', () => c.write('x'));
      });
    });

  it('is undefined for a certificate that chains to the CA', async () => {
    assert.equal(await verdict(good), undefined);
  });

  it('names the failure for a certificate from another CA', async () => {
    assert.match((await verdict(foreign)) ?? '', /UNABLE_TO_VERIFY_LEAF_SIGNATURE|UNABLE_TO_GET_ISSUER_CERT/);
  });
});
