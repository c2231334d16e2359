// Two request-line cases end to end: an HTTP/0.9 request (no version) is answered 400 and
// closed at once, not after http-request runs out; an absolute-form target routes by its
// authority, and one whose authority differs from Host is refused with 400 (as HAProxy does).
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { startEcho } from '../helpers/echo.js';
import { stopAll } from '../helpers/processes.js';
import { rawExchange } from '../helpers/net.js';
import { startProxy } from './support/proxy.js';

describe('request targets through handoff', () => {
  let port = 0;

  before(async () => {
    const echo = await startEcho('echo');
    const { ports } = await startProxy(
      1,
      ([p]) => `
workers: 1
log: { access: off }
timeouts: { http-request: 60s }
frontends:
  web:
    bind: 127.0.0.1:${p}
    headers:
      response: { set: { X-Backend: "\${backend}" } }
    routes:
      - { host: other.example, backend: b }
    default_backend: a
backends:
  a: { servers: [ { name: a1, address: ${echo.address} } ] }
  b: { servers: [ { name: b1, address: ${echo.address} } ] }
`,
    );
    [port = 0] = ports;
  });
  after(() => stopAll());

  it('HTTP/0.9 (GET / and no version): 400 and close, at once', async () => {
    // The bound is far below http-request (60 s): the answer comes when the line ends.
    const res = (await rawExchange(port, 'GET /\r\n', { timeoutMs: 10_000 })).toString('latin1');
    assert.match(res, /^HTTP\/1\.1 400 /);
    assert.match(res, /\r\nconnection: close\r\n/i);
  });

  it('absolute-form routes by its authority when Host agrees', async () => {
    const res = (
      await rawExchange(port, 'GET http://other.example/x HTTP/1.1\r\nHost: Other.Example:80\r\nConnection: close\r\n\r\n')
    ).toString('latin1');
    assert.match(res, /^HTTP\/1\.1 200 /);
    assert.match(res, /\r\nx-backend: b\r\n/i);
  });

  it('absolute-form whose authority differs from Host: 400 and close', async () => {
    const res = (await rawExchange(port, 'GET http://other.example/ HTTP/1.1\r\nHost: a.example\r\n\r\n')).toString('latin1');
    assert.match(res, /^HTTP\/1\.1 400 /);
  });
});
