// TLS to servers: a server that asks handoff to renegotiate (TLS 1.2 HelloRequest) is
// refused. handoff verifies the server's certificate once, after the first handshake; a
// renegotiation could bring another certificate that nothing checks, and a server looping
// on it costs handoff a key exchange each time. A real HTTPS server (Node, TLS 1.2 at most)
// calls renegotiate() on the connection handoff opened and records the outcome.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import https from 'node:https';
import type net from 'node:net';
import { stopAll } from '../helpers/processes.js';
import { makeTestPki, type TestPki } from '../helpers/tls-pki.js';
import { startProxy } from './support/proxy.js';

describe('TLS to servers: renegotiation asked by the server', () => {
  let pki: TestPki;
  let server: https.Server;
  let port: number;
  const outcomes: string[] = [];

  before(async () => {
    pki = makeTestPki();
    const leaf = pki.leaf('srv', { ip: ['127.0.0.1'] });
    server = https.createServer({ cert: leaf.cert, key: leaf.key, maxVersion: 'TLSv1.2' }, (req, res) => {
      req.socket.on('error', () => {});
      const answered = (outcome: string) => {
        outcomes.push(outcome);
        if (!res.headersSent && !res.destroyed) res.end(`renegotiation ${outcome}\n`);
      };
      // Refused: the client answers no_renegotiation, or ends the connection.
      req.socket.once('close', () => answered('connection closed'));
      const started = (req.socket as import('node:tls').TLSSocket).renegotiate({}, (err) =>
        answered(err ? `refused ${(err as { code?: string }).code ?? err.message}` : 'done'),
      );
      if (!started) answered('not started');
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    const backend = (server.address() as net.AddressInfo).port;
    const started = await startProxy(
      1,
      ([p]) => `
workers: 1
log: { access: off }
timeouts: { server: 5s }
frontends:
  web: { bind: 127.0.0.1:${p}, default_backend: app }
backends:
  app: { retries: 0, tls: { ca: ${pki.caFile} }, servers: [ { name: s1, address: 127.0.0.1:${backend} } ] }
`,
    );
    port = started.ports[0]!;
  });
  after(async () => {
    await stopAll();
    server?.closeAllConnections();
    await new Promise((r) => server?.close(r));
    pki?.cleanup();
  });

  it('handoff does not go through a renegotiation', async () => {
    const res = await fetch(`http://127.0.0.1:${port}/`);
    await res.text();
    assert.ok(outcomes.length >= 1, 'the server saw the request');
    assert.notEqual(outcomes[0], 'done', `outcomes: ${outcomes.join(', ')}`);
  });
});
