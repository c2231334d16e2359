// Client-side timeouts, end to end: http-request (a head that does not arrive in time:
// slowloris gets 408 and a close), keep-alive (an idle connection is closed), client (a
// client that stops sending its body, or stops reading its response). Bounds are generous:
// "about the timeout", never tighter than the 100 ms deadline sweep and a busy machine allow.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startEcho } from '../helpers/echo.js';
import { stopAll } from '../helpers/processes.js';
import { waitUntil } from '../helpers/wait.js';
import { RawClient } from './support/raw-client.js';
import { startProxy } from './support/proxy.js';

const HTTP_REQUEST_MS = 500;
const KEEP_ALIVE_MS = 700;
const CLIENT_MS = 600;

/**
 * "About the timeout": deadlines are checked every 100 ms against a clock read at the last
 * check, so one may fire up to 100 ms early or late, and a busy machine adds more.
 */
function about(ms: number, timeout: number): boolean {
  return ms >= timeout * 0.6 && ms < timeout + 3000;
}

describe('client timeouts', () => {
  let port: number;
  let accessLog: string;
  const clients: RawClient[] = [];
  const connect = async () => {
    const c = await RawClient.connect(port);
    clients.push(c);
    return c;
  };
  const logEntries = () =>
    existsSync(accessLog)
      ? readFileSync(accessLog, 'utf8')
          .split('\n')
          .filter(Boolean)
          .map((l) => JSON.parse(l) as Record<string, unknown>)
      : [];

  before(async () => {
    accessLog = join(mkdtempSync(join(tmpdir(), 'hte-timeouts-')), 'access.log');
    const echo = await startEcho('echo');
    const { ports } = await startProxy(
      1,
      ([port]) => `
workers: 1
log: { access: ${accessLog} }
timeouts: { http-request: ${HTTP_REQUEST_MS}ms, keep-alive: ${KEEP_ALIVE_MS}ms, client: ${CLIENT_MS}ms, server: 10s }
frontends:
  web:
    bind: 127.0.0.1:${port}
    default_backend: echo
backends:
  echo: { servers: [ { name: e1, address: ${echo.address} } ] }
`,
    );
    port = ports[0]!;
  });
  after(async () => {
    for (const c of clients) c.destroy();
    await stopAll();
  });

  it('one JSON access-log line per request, with its fields', async () => {
    const c = await connect();
    c.send('POST /logged?q=1 HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\n\r\nhello');
    const r = await c.readResponse();
    assert.equal(r.status, 200);
    const e = await waitUntil('the access log line', () => logEntries().find((x) => x.path === '/logged?q=1'), 5000, 50);
    assert.equal(e.method, 'POST');
    assert.equal(e.status, 200);
    assert.equal(e.frontend, 'web');
    assert.equal(e.backend, 'echo');
    assert.equal(e.server, 'e1');
    assert.equal(e.termination, 'ok');
    assert.equal(e.generation, 1);
    assert.match(String(e.client), /^127\.0\.0\.1:\d+$/);
    assert.ok(!Number.isNaN(Date.parse(String(e.time))));
    assert.ok((e.bytes_in as number) >= 5 + 'POST /logged?q=1 HTTP/1.1\r\n'.length);
    assert.equal(e.bytes_out, r.raw.length);
    const t = e.timings as Record<string, number>;
    for (const k of ['queue', 'connect', 'response', 'total']) assert.equal(typeof t[k], 'number', k);
    assert.ok(t.total! >= t.response!);
  });

  it('http-request: half a head, then nothing (slowloris) → 408 and close, in about the timeout', async () => {
    const c = await connect();
    const t0 = Date.now();
    c.send('GET / HTTP/1.1\r\nHost: a\r\n');
    const r = await c.readResponse({ timeoutMs: 5000 });
    const ms = Date.now() - t0;
    assert.equal(r.status, 408);
    assert.equal(r.header('connection'), 'close');
    assert.ok(about(ms, HTTP_REQUEST_MS), `408 after ${ms} ms (timeout ${HTTP_REQUEST_MS})`);
    await c.waitClosed(3000);
  });

  it('http-request bounds the whole head: a byte every 100 ms does not extend it', async () => {
    const c = await connect();
    const t0 = Date.now();
    const head = `GET / HTTP/1.1\r\nHost: a\r\nX-Slow: ${'x'.repeat(100)}`;
    // At most 50 bytes over at most ~5 s: the 408 must come long before the head is done.
    for (let i = 0; i < 50 && c.unread.length === 0 && !c.closed; i++) {
      c.send(head[i]!);
      await new Promise((r) => setTimeout(r, 100));
    }
    const r = await c.readResponse({ timeoutMs: 5000 });
    const ms = Date.now() - t0;
    assert.equal(r.status, 408);
    assert.ok(about(ms, HTTP_REQUEST_MS), `408 after ${ms} ms`);
    await c.waitClosed(3000);
  });

  it('keep-alive: an idle connection is closed after the keep-alive timeout, with no bytes sent', async () => {
    const c = await connect();
    c.send('GET / HTTP/1.1\r\nHost: a\r\n\r\n');
    assert.equal((await c.readResponse()).status, 200);
    const waited = await c.waitClosed(5000);
    assert.ok(about(waited, KEEP_ALIVE_MS), `closed after ${waited} ms idle (timeout ${KEEP_ALIVE_MS})`);
    assert.equal(c.unread.length, 0);
  });

  it('http-request: a connection that never sends a byte is closed silently after the timeout (a probe, not a slowloris)', async () => {
    const c = await connect();
    const waited = await c.waitClosed(5000);
    assert.ok(about(waited, HTTP_REQUEST_MS), `closed after ${waited} ms`);
    assert.equal(c.received, 0);
  });

  it('keep-alive: the idle time restarts with each request', async () => {
    const c = await connect();
    const t0 = Date.now();
    // Six requests spaced by a quarter of the timeout: together well beyond it, each well within it.
    for (let i = 0; i < 6; i++) {
      c.send('GET / HTTP/1.1\r\nHost: a\r\n\r\n');
      assert.equal((await c.readResponse()).status, 200);
      assert.equal(c.closed, false, `closed after ${Date.now() - t0} ms`);
      await new Promise((r) => setTimeout(r, KEEP_ALIVE_MS / 4));
    }
  });

  it('client: a client that stops sending its body gets 408 and a close, in about the timeout', async () => {
    const c = await connect();
    c.send('POST /upload HTTP/1.1\r\nHost: a\r\nContent-Length: 100\r\n\r\n0123456789');
    const t0 = Date.now();
    const r = await c.readResponse({ timeoutMs: 5000 });
    const ms = Date.now() - t0;
    assert.equal(r.status, 408);
    assert.equal(r.header('connection'), 'close');
    assert.ok(about(ms, CLIENT_MS), `408 after ${ms} ms (timeout ${CLIENT_MS})`);
    await c.waitClosed(3000);
  });

  it('client: a client that stops reading a large response is cut off after the timeout', async () => {
    const c = await connect();
    c.socket.pause();
    const total = 64 * 1024 * 1024;
    c.send(`GET /?bytes=${total}&slowreader=1 HTTP/1.1\r\nHost: a\r\n\r\n`);
    const entry = await waitUntil(
      'the access log line of the cut-off response',
      () => logEntries().find((e) => String(e.path).includes('slowreader=1')),
      8000,
      50,
    );
    assert.equal(entry.termination, 'client-timeout');
    assert.equal(entry.status, 200);
    assert.ok((entry.bytes_out as number) < total);
    c.socket.resume();
    await c.waitClosed(5000);
    assert.ok(c.received < total, `received ${c.received}`);
  });
});
