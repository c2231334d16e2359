// The routing table, end to end: exact hosts, *.suffix patterns, case and port ignored,
// path prefixes, first match wins, default_backend, and no match → 503 with the
// configured page. Which route and backend answered is read from response header rules
// (${route}, ${backend}), so one echo server serves every backend.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startEcho } from '../helpers/echo.js';
import { stopAll } from '../helpers/processes.js';
import { json, request } from '../helpers/node-http.js';
import { startProxy } from './support/proxy.js';

const NO_ROUTE_PAGE = '{"error":"no route for this host"}\n';

describe('routing through handoff', () => {
  let main: number;
  let strict: number;
  const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });

  before(async () => {
    const dir = mkdtempSync(join(tmpdir(), 'hte-routing-'));
    writeFileSync(join(dir, 'no-route.json'), NO_ROUTE_PAGE);
    const echo = await startEcho('echo');
    const backend = (name: string) => `  ${name}: { servers: [ { name: ${name}1, address: ${echo.address} } ] }`;
    const { ports } = await startProxy(
      2,
      ([main, strict]) => `
workers: 1
log: { access: off }
frontends:
  main:
    bind: 127.0.0.1:${main}
    headers:
      response: { set: { X-Route: "r=\${route}", X-Backend: "\${backend}" } }
    routes:
      - { name: exact, host: app.example.com, backend: a }
      - { name: wild, host: "*.apps.example.com", backend: b }
      - { name: api, host: api.example.com, path: /v1, backend: c }
      - { name: first, path: /first, backend: a }
      - { name: second, path: /first, backend: b }
      - { name: multi, host: [one.example.com, "*.two.example.com"], backend: c }
    default_backend: d
  strict:
    bind: 127.0.0.1:${strict}
    errors: { 503: ${join(dir, 'no-route.json')} }
    routes:
      - { host: only.example.com, backend: a }
backends:
${backend('a')}
${backend('b')}
${backend('c')}
${backend('d')}
`,
    );
    [main = 0, strict = 0] = ports;
  });
  after(async () => {
    agent.destroy();
    await stopAll();
  });

  const cases: { host: string; path?: string; route: string; backend: string; why: string }[] = [
    { host: 'app.example.com', route: 'exact', backend: 'a', why: 'exact host' },
    { host: 'APP.Example.COM', route: 'exact', backend: 'a', why: 'host compared case-insensitively' },
    { host: 'app.example.com:8080', route: 'exact', backend: 'a', why: 'port ignored' },
    { host: 'app.example.com.', route: 'exact', backend: 'a', why: 'trailing dot ignored' },
    { host: 'sub.app.example.com', route: '', backend: 'd', why: 'an exact host does not match its subdomains' },
    { host: 'x.apps.example.com', route: 'wild', backend: 'b', why: '*.suffix' },
    { host: 'a.b.apps.example.com:81', route: 'wild', backend: 'b', why: '*.suffix, deeper, with a port' },
    { host: 'X.APPS.example.com', route: 'wild', backend: 'b', why: '*.suffix, case-insensitive' },
    { host: 'apps.example.com', route: '', backend: 'd', why: '*.suffix does not match the bare suffix' },
    { host: 'evilapps.example.com', route: '', backend: 'd', why: '*.suffix needs the dot' },
    { host: 'api.example.com', path: '/v1/users?id=3', route: 'api', backend: 'c', why: 'host and path prefix' },
    { host: 'api.example.com', path: '/v1', route: 'api', backend: 'c', why: 'the prefix itself' },
    { host: 'api.example.com', path: '/v2/users', route: '', backend: 'd', why: 'host matches, path does not' },
    { host: 'whatever.test', path: '/first/page', route: 'first', backend: 'a', why: 'first match wins over a later equal route' },
    { host: 'one.example.com', route: 'multi', backend: 'c', why: 'a host list, first entry' },
    { host: 'q.two.example.com', route: 'multi', backend: 'c', why: 'a host list, a pattern entry' },
    { host: 'other.example.org', route: '', backend: 'd', why: 'no route: default_backend' },
    { host: '127.0.0.1:9999', route: '', backend: 'd', why: 'an IP literal host' },
    { host: '[::1]:8080', route: '', backend: 'd', why: 'an IPv6 literal host' },
  ];
  for (const c of cases) {
    it(`${c.why}: ${c.host}${c.path ?? '/'} → ${c.route || 'default'} (${c.backend})`, async () => {
      const r = await request(main, c.path ?? '/', { headers: { host: c.host }, agent });
      assert.equal(r.status, 200);
      assert.equal(r.headers['x-route'], `r=${c.route}`);
      assert.equal(r.headers['x-backend'], c.backend);
      // The server got the request as sent: path and Host untouched.
      const j = json<{ url: string; headers: Record<string, string> }>(r);
      assert.equal(j.url, c.path ?? '/');
      assert.equal(j.headers.host, c.host);
    });
  }

  it('no match and no default_backend: 503 with the configured page (body and content type), connection kept', async () => {
    const ok = await request(strict, '/', { headers: { host: 'only.example.com' }, agent });
    assert.equal(ok.status, 200);
    const r = await request(strict, '/anything', { headers: { host: 'elsewhere.example.com' }, agent });
    assert.equal(r.status, 503);
    assert.equal(r.body.toString(), NO_ROUTE_PAGE);
    assert.equal(r.headers['content-type'], 'application/json');
    assert.equal(r.headers['content-length'], String(Buffer.byteLength(NO_ROUTE_PAGE)));
    assert.notEqual(r.headers.connection, 'close', 'a complete request answered by handoff keeps its connection');
    assert.equal(r.reusedSocket, true);
    const again = await request(strict, '/', { headers: { host: 'only.example.com' }, agent });
    assert.equal(again.status, 200);
    assert.equal(again.reusedSocket, true);
  });

  it('the main frontend never answers 503 for an unknown host (it has a default)', async () => {
    const r = await request(main, '/', { headers: { host: 'nothing.matches.here' }, agent });
    assert.equal(r.status, 200);
  });
});
