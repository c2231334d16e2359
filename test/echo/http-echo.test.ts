import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import http from 'node:http';
import { startEcho, type EchoBackend } from '../helpers/echo.js';
import { rawExchange } from '../helpers/net.js';
import { stopAll } from '../helpers/processes.js';
import { PATTERN, patternBytes } from '../../src/echo/pattern-body.js';
import { json, request } from '../helpers/node-http.js';

const sha256 = (b: Buffer | string) => createHash('sha256').update(b).digest('hex');

describe('handoff echo (HTTP)', () => {
  let echo: EchoBackend;
  before(async () => {
    echo = await startEcho('alpha');
  });
  after(() => stopAll());

  it('echoes the request as JSON with X-Server', async () => {
    const body = 'hello, echo';
    const r = await request(echo.port, '/some/path?x=1', {
      method: 'POST',
      headers: { 'X-Custom': 'Value', 'Content-Type': 'text/plain' },
      body,
    });
    assert.equal(r.status, 200);
    assert.equal(r.headers['x-server'], 'alpha');
    assert.equal(r.headers['content-type'], 'application/json');
    const j = json(r);
    assert.equal(j.server, 'alpha');
    assert.equal(j.method, 'POST');
    assert.equal(j.url, '/some/path?x=1');
    assert.equal(j.httpVersion, '1.1');
    assert.equal((j.headers as Record<string, string>)['x-custom'], 'Value');
    assert.ok((j.rawHeaders as string[]).includes('X-Custom'), 'raw header names keep their case');
    assert.equal(j.bodyBytes, Buffer.byteLength(body));
    assert.equal(j.bodySha256, sha256(body));
    assert.equal(j.remoteAddress, '127.0.0.1');
  });

  it('keeps a connection alive and numbers the requests on it', async () => {
    const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
    try {
      const first = json(await request(echo.port, '/a', { agent }));
      const second = json(await request(echo.port, '/b', { agent }));
      assert.equal(second.connection, first.connection);
      assert.equal(first.requestOnConnection, 1);
      assert.equal(second.requestOnConnection, 2);
      assert.equal(second.remotePort, first.remotePort);
    } finally {
      agent.destroy();
    }
  });

  it('answers /healthz, and the admin toggle changes it until restored', async () => {
    let r = await request(echo.port, '/healthz');
    assert.equal(r.status, 200);
    assert.equal(r.body.toString(), 'ok\n');
    assert.match(String(r.headers['content-type']), /^text\/plain/);
    assert.equal(r.headers['x-server'], 'alpha');

    r = await request(echo.port, '/healthz?status=500');
    assert.equal(r.status, 500);

    r = await request(echo.port, '/admin/health?status=503', { method: 'POST' });
    assert.equal(r.status, 200);
    try {
      assert.equal((await request(echo.port, '/healthz')).status, 503);
      assert.equal((await request(echo.port, '/healthz')).status, 503);
      assert.equal((await request(echo.port, '/healthz?status=200')).status, 200, '?status still overrides');
    } finally {
      r = await request(echo.port, '/admin/health?status=200', { method: 'POST' });
      assert.equal(r.status, 200);
    }
    r = await request(echo.port, '/healthz');
    assert.equal(r.status, 200);
    assert.equal(r.body.toString(), 'ok\n');
  });

  it('waits ?delay before answering', async () => {
    const start = Date.now();
    const r = await request(echo.port, '/slow?delay=300');
    const took = Date.now() - start;
    assert.equal(r.status, 200);
    assert.ok(took >= 250 && took < 5000, `answered after ${took} ms`);
  });

  it('answers ?status, without a body for 204 and 304', async () => {
    for (const status of [201, 404, 503, 599]) {
      const r = await request(echo.port, `/s?status=${status}`);
      assert.equal(r.status, status);
      assert.equal(r.headers['x-server'], 'alpha');
      assert.equal(json(r).server, 'alpha');
    }
    for (const status of [204, 304]) {
      const r = await request(echo.port, `/s?status=${status}`);
      assert.equal(r.status, status);
      assert.equal(r.body.length, 0);
    }
  });

  it('rejects bad query values with 400', async () => {
    for (const q of ['status=99', 'status=150', 'delay=-1', 'delay=120001', 'bytes=abc', 'reset=maybe', 'chunked=2']) {
      const r = await request(echo.port, `/bad?${q}`);
      assert.equal(r.status, 400, q);
      assert.equal(r.headers['x-server'], 'alpha');
    }
  });

  it('sends ?bytes=N with Content-Length, or chunked with &chunked=1', async () => {
    let r = await request(echo.port, '/b?bytes=100000');
    assert.equal(r.status, 200);
    assert.equal(r.headers['content-length'], '100000');
    assert.equal(r.headers['transfer-encoding'], undefined);
    assert.ok(r.body.equals(patternBytes(100_000)));

    r = await request(echo.port, '/b?bytes=100000&chunked=1');
    assert.equal(r.headers['content-length'], undefined);
    assert.equal(r.headers['transfer-encoding'], 'chunked');
    assert.ok(r.body.equals(patternBytes(100_000)));

    r = await request(echo.port, '/b?bytes=0');
    assert.equal(r.headers['content-length'], '0');
    assert.equal(r.body.length, 0);
  });

  it('streams a 64 MiB ?bytes download in full', async () => {
    const total = 64 * 1024 * 1024;
    // Checked chunk by chunk against the pattern, never held in memory.
    const window = Buffer.from(PATTERN.repeat(65_536 / PATTERN.length + 1), 'latin1');
    const received = await new Promise<{ length: number; contentLength: string | undefined; bad: number }>((resolve, reject) => {
      http
        .get({ host: '127.0.0.1', port: echo.port, path: `/big?bytes=${total}`, agent: false }, (res) => {
          let length = 0;
          let bad = 0;
          res.on('data', (chunk: Buffer) => {
            for (let at = 0; at < chunk.length; at += 65_536) {
              const piece = chunk.subarray(at, at + 65_536);
              const offset = (length + at) % PATTERN.length;
              if (!piece.equals(window.subarray(offset, offset + piece.length))) bad += 1;
            }
            length += chunk.length;
          });
          res.on('end', () => resolve({ length, contentLength: res.headers['content-length'], bad }));
          res.on('error', reject);
        })
        .on('error', reject);
    });
    assert.equal(received.contentLength, String(total));
    assert.equal(received.length, total);
    assert.equal(received.bad, 0, 'every byte follows the pattern');
  });

  it('streams a few MiB back on /echo', async () => {
    const upload = randomBytes(5 * 1024 * 1024 + 123);
    const r = await request(echo.port, '/echo', { method: 'PUT', body: upload });
    assert.equal(r.status, 200);
    assert.equal(r.headers['x-server'], 'alpha');
    assert.equal(r.headers['transfer-encoding'], 'chunked');
    assert.equal(r.body.length, upload.length);
    assert.equal(sha256(r.body), sha256(upload));
  });

  it('closes the connection after the response with ?close=1', async () => {
    // rawExchange resolves only when the server closes; a kept-alive connection would time out.
    const raw = (
      await rawExchange(echo.port, 'GET /c?close=1 HTTP/1.1\r\nHost: x\r\nConnection: keep-alive\r\n\r\n', { timeoutMs: 10_000 })
    ).toString('latin1');
    assert.match(raw, /^HTTP\/1\.1 200 /);
    assert.match(raw, /\r\nconnection: close\r\n/i);
    assert.match(raw, /\r\nx-server: alpha\r\n/i);
  });

  it('honours Connection: close from the client', async () => {
    const raw = (await rawExchange(echo.port, 'GET /c HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n', { timeoutMs: 10_000 })).toString(
      'latin1',
    );
    assert.match(raw, /^HTTP\/1\.1 200 /);
    assert.match(raw, /\r\nconnection: close\r\n/i);
  });

  it('resets the connection without an answer with ?reset=before', async () => {
    await assert.rejects(request(echo.port, '/r?reset=before'), (err: NodeJS.ErrnoException) => {
      assert.equal(err.code, 'ECONNRESET');
      return true;
    });
  });

  it('resets the connection mid-response with ?reset=1', async () => {
    const raw = (await rawExchange(echo.port, 'GET /r?reset=1&bytes=5000 HTTP/1.1\r\nHost: x\r\n\r\n', { timeoutMs: 10_000 })).toString(
      'latin1',
    );
    const [head, body] = raw.split('\r\n\r\n');
    assert.match(head ?? '', /^HTTP\/1\.1 200 /);
    assert.match(head ?? '', /\r\ncontent-length: 5000/i);
    assert.ok(body !== undefined && body.length > 0 && body.length < 5000, `a partial body, got ${body?.length} bytes`);
    assert.equal(body, PATTERN.slice(0, body.length));
  });
});
