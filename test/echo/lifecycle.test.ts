import { after, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import net from 'node:net';
import WebSocket from 'ws';
import { startEcho } from '../helpers/echo.js';
import { handoff, handoffRun, stopAll } from '../helpers/processes.js';
import { waitUntil } from '../helpers/wait.js';
import { request } from '../helpers/node-http.js';

async function ipv6Available(): Promise<boolean> {
  return new Promise((resolve) => {
    const srv = net.createServer();
    srv.once('error', () => resolve(false));
    srv.listen(0, '::1', () => srv.close(() => resolve(true)));
  });
}

/** A POST whose head the server has certainly parsed (it sent 100 Continue), body not yet sent. */
function requestInProgress(
  port: number,
  path: string,
): Promise<{ send(): void; reply: Promise<{ status: number; headers: http.IncomingHttpHeaders; body: string }> }> {
  return new Promise((resolveStarted, rejectStarted) => {
    const req = http.request({
      host: '127.0.0.1',
      port,
      path,
      method: 'POST',
      agent: false,
      headers: { Expect: '100-continue', 'Content-Length': '5' },
    });
    const reply = new Promise<{ status: number; headers: http.IncomingHttpHeaders; body: string }>((resolve, reject) => {
      req.on('response', (res) => {
        let body = '';
        res.on('data', (c: Buffer) => (body += c.toString()));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body }));
        res.on('error', reject);
      });
      req.on('error', reject);
    });
    req.on('error', rejectStarted);
    req.once('continue', () => resolveStarted({ send: () => req.end('hello'), reply }));
    req.flushHeaders();
  });
}

describe('handoff echo: start and stop', () => {
  after(() => stopAll());

  it('prints exactly one listening line, naming itself echo-PORT by default', async () => {
    const proc = handoff(['echo', '--port', '0']);
    const m = await proc.waitFor(/listening on 127\.0\.0\.1:(\d+)\n/);
    assert.match(proc.output(), /^handoff echo echo-(\d+) listening on 127\.0\.0\.1:\1\n$/);
    const r = await request(Number(m[1]), '/');
    assert.equal(r.headers['x-server'], `echo-${m[1]}`);
    assert.equal(await proc.stop('SIGTERM'), 0);
  });

  it('binds IPv6 and reports it as [::1]:PORT', async (t) => {
    if (!(await ipv6Available())) return t.skip('no ::1 on this host');
    const proc = handoff(['echo', '--port', '0', '--host', '::1', '--name', 'six']);
    const m = await proc.waitFor(/listening on \[::1\]:(\d+)\n/);
    assert.match(proc.output(), /^handoff echo six listening on \[::1\]:\d+\n$/);
    const r = await request(Number(m[1]), '/healthz', { host: '::1' });
    assert.equal(r.status, 200);
    assert.equal(r.headers['x-server'], 'six');
    assert.equal(await proc.stop('SIGTERM'), 0);
  });

  it('exits 0 promptly on SIGTERM with keep-alive connections, a slow request and a WebSocket open', async () => {
    const echo = await startEcho('stopper');
    const agent = new http.Agent({ keepAlive: true, maxSockets: 3 });
    await Promise.all([1, 2, 3].map((i) => request(echo.port, `/warm${i}`, { agent })));
    const idleSockets = Object.values(agent.freeSockets).flat();
    assert.equal(idleSockets.length, 3, 'three idle keep-alive connections');
    const idleClosed = Promise.all(idleSockets.map((s) => new Promise((resolve) => s!.once('close', resolve))));

    const slow = await requestInProgress(echo.port, '/slow?delay=60000');
    slow.send();
    const slowOutcome = slow.reply.then(
      () => 'answered',
      () => 'cut',
    );
    const ws = new WebSocket(`ws://127.0.0.1:${echo.port}/`);
    ws.on('error', () => {});
    await new Promise((resolve) => ws.once('open', resolve));
    const wsClosed = new Promise<number>((resolve) => ws.once('close', (code) => resolve(code)));

    const start = Date.now();
    const code = await echo.proc.stop('SIGTERM');
    const took = Date.now() - start;
    assert.equal(code, 0);
    assert.ok(took < 4000, `exited ${took} ms after SIGTERM (contract: within 2 s)`);
    await idleClosed;
    assert.equal(await slowOutcome, 'cut', 'a request still waiting at the deadline is cut off');
    assert.equal(await wsClosed, 1001, 'WebSockets get a going-away close');
    agent.destroy();
  });

  it('lets a short in-flight request finish with Connection: close before exiting', async () => {
    const echo = await startEcho('finisher');
    const inFlight = await requestInProgress(echo.port, '/short?delay=200');
    const exited = echo.proc.stop('SIGTERM');
    // The server's stop has begun once it no longer accepts; then send the body.
    await waitUntil('the listener to close', async () => !(await connectable(echo.port)), 10_000);
    inFlight.send();
    const reply = await inFlight.reply;
    assert.equal(reply.status, 200);
    assert.equal(reply.headers.connection, 'close');
    assert.equal(JSON.parse(reply.body).bodyBytes, 5);
    assert.equal(await exited, 0);
  });

  it('exits 1 with a message when the port is taken', async () => {
    const blocker = net.createServer();
    await new Promise<void>((resolve) => blocker.listen(0, '127.0.0.1', resolve));
    try {
      const port = (blocker.address() as net.AddressInfo).port;
      const result = await handoffRun(['echo', '--port', String(port)], { timeoutMs: 15_000 });
      assert.equal(result.code, 1);
      assert.match(result.stderr, /EADDRINUSE/);
      assert.match(result.stderr, new RegExp(`127\\.0\\.0\\.1:${port}`));
      assert.doesNotMatch(result.stdout, /listening/);
    } finally {
      blocker.close();
    }
  });

  it('exits 2 with usage on bad arguments', async () => {
    for (const args of [['echo'], ['echo', '--port', 'x'], ['echo', '--port', '70000'], ['echo', '--port', '0', '--bogus']]) {
      const result = await handoffRun(args, { timeoutMs: 15_000 });
      assert.equal(result.code, 2, args.join(' '));
      assert.match(result.stderr, /usage: handoff echo/);
    }
  });
});

function connectable(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = net.connect({ port, host: '127.0.0.1' });
    s.once('connect', () => {
      s.destroy();
      resolve(true);
    });
    s.once('error', () => resolve(false));
  });
}
