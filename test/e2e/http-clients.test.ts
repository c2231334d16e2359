// Real clients through handoff: Node's http client with a keep-alive agent, undici (Node's
// global fetch), and curl (plain, --http1.0, several URLs on one connection, Expect:
// 100-continue). Each must get exactly what the echo server sent.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import http from 'node:http';
import { startEcho } from '../helpers/echo.js';
import { stopAll } from '../helpers/processes.js';
import { patternBytes } from '../../src/echo/pattern-body.js';
import { json, request } from '../helpers/node-http.js';
import { startProxy } from './support/proxy.js';

interface Echoed {
  server: string;
  method: string;
  url: string;
  httpVersion: string;
  headers: Record<string, string>;
  bodyBytes: number;
  bodySha256: string;
}

const sha256 = (b: Buffer | string) => createHash('sha256').update(b).digest('hex');

function curl(args: string[], input?: Buffer): Promise<{ code: number; stdout: Buffer; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = execFile(
      'curl',
      ['--silent', '--show-error', '--max-time', '20', ...args],
      { encoding: 'buffer', timeout: 30_000, maxBuffer: 64 * 1024 * 1024 },
      (err, stdout, stderr) => {
        if (err && typeof err.code !== 'number') reject(err);
        else resolve({ code: err ? Number(err.code) : 0, stdout, stderr: stderr.toString('utf8') });
      },
    );
    if (input) child.stdin!.end(input);
  });
}

describe('real clients through handoff', () => {
  let port: number;
  let base: string;

  before(async () => {
    const echo = await startEcho('echo');
    const { ports } = await startProxy(
      1,
      ([port]) => `
workers: 1
log: { access: off }
frontends:
  web:
    bind: 127.0.0.1:${port}
    default_backend: echo
backends:
  echo: { servers: [ { name: e1, address: ${echo.address} } ] }
`,
    );
    port = ports[0]!;
    base = `http://127.0.0.1:${port}`;
  });
  after(() => stopAll());

  describe('node:http', () => {
    it('a keep-alive agent reuses its connection for 20 sequential requests, GET and POST', async () => {
      const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
      try {
        for (let i = 0; i < 20; i++) {
          const body = i % 2 ? `body number ${i}` : undefined;
          const r = await request(port, `/seq/${i}`, {
            agent,
            method: body ? 'POST' : 'GET',
            body,
            headers: body ? { 'content-type': 'text/plain' } : {},
          });
          assert.equal(r.status, 200);
          const j = json<Echoed>(r);
          assert.equal(j.url, `/seq/${i}`);
          assert.equal(j.bodyBytes, body ? Buffer.byteLength(body) : 0);
          if (body) assert.equal(j.bodySha256, sha256(body));
          assert.equal(r.reusedSocket, i > 0, `request ${i}`);
        }
      } finally {
        agent.destroy();
      }
    });

    it('concurrent requests over a small pool of kept-alive connections', async () => {
      const agent = new http.Agent({ keepAlive: true, maxSockets: 4 });
      try {
        const replies = await Promise.all(Array.from({ length: 40 }, (_, i) => request(port, `/c/${i}?delay=${i % 5}`, { agent })));
        for (const [i, r] of replies.entries()) assert.equal(json<Echoed>(r).url, `/c/${i}?delay=${i % 5}`);
      } finally {
        agent.destroy();
      }
    });

    it('a chunked upload and a chunked download', async () => {
      const body = Buffer.from('x'.repeat(100_000));
      const r = await new Promise<{ status: number; body: Buffer }>((resolve, reject) => {
        const req = http.request({ host: '127.0.0.1', port, path: '/echo', method: 'POST', agent: false }, (res) => {
          const chunks: Buffer[] = [];
          res.on('data', (c: Buffer) => chunks.push(c));
          res.on('end', () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks) }));
        });
        req.on('error', reject);
        // Several writes without a length: node sends Transfer-Encoding: chunked.
        for (let i = 0; i < 10; i++) req.write(body.subarray(i * 10_000, (i + 1) * 10_000));
        req.end();
      });
      assert.equal(r.status, 200);
      assert.ok(r.body.equals(body));
    });
  });

  describe('undici (global fetch)', () => {
    it('GET, POST, a streamed download and a streamed upload', async () => {
      const g = await fetch(`${base}/fetch?x=1`, { headers: { 'x-custom': 'v' } });
      assert.equal(g.status, 200);
      const gj = (await g.json()) as Echoed;
      assert.equal(gj.url, '/fetch?x=1');
      assert.equal(gj.headers['x-custom'], 'v');

      const p = await fetch(`${base}/post`, { method: 'POST', body: 'from fetch' });
      const pj = (await p.json()) as Echoed;
      assert.equal(pj.method, 'POST');
      assert.equal(pj.bodySha256, sha256('from fetch'));

      const d = await fetch(`${base}/?bytes=1000000&chunked=1`);
      assert.equal(d.headers.get('transfer-encoding'), 'chunked');
      const bytes = Buffer.from(await d.arrayBuffer());
      assert.ok(bytes.equals(patternBytes(1_000_000)));

      const parts = ['one ', 'two ', 'three'];
      const stream = new ReadableStream<Uint8Array>({
        pull(controller) {
          const next = parts.shift();
          if (next === undefined) controller.close();
          else controller.enqueue(new TextEncoder().encode(next));
        },
      });
      const u = await fetch(`${base}/upload`, { method: 'POST', body: stream, duplex: 'half' } as RequestInit);
      const uj = (await u.json()) as Echoed;
      assert.equal(uj.bodySha256, sha256('one two three'));
    });

    it('50 concurrent fetches all answered', async () => {
      const replies = await Promise.all(
        Array.from({ length: 50 }, (_, i) => fetch(`${base}/many/${i}`).then((r) => r.json() as Promise<Echoed>)),
      );
      for (const [i, j] of replies.entries()) assert.equal(j.url, `/many/${i}`);
    });
  });

  describe('curl', () => {
    it('plain HTTP/1.1', async () => {
      const r = await curl(['--include', `${base}/curl?y=2`]);
      assert.equal(r.code, 0, r.stderr);
      const text = r.stdout.toString('latin1');
      assert.match(text, /^HTTP\/1\.1 200 OK\r\n/);
      const j = JSON.parse(text.slice(text.indexOf('\r\n\r\n') + 4)) as Echoed;
      assert.equal(j.url, '/curl?y=2');
      assert.match(j.headers['user-agent']!, /^curl\//);
      assert.equal(j.headers['x-forwarded-for'], '127.0.0.1');
    });

    it('--http1.0: answered and closed', async () => {
      const r = await curl(['--http1.0', '--include', '--verbose', `${base}/old`]);
      assert.equal(r.code, 0, r.stderr);
      const text = r.stdout.toString('latin1');
      assert.match(text, /^HTTP\/1\.1 200 OK\r\n/);
      assert.match(text, /\r\nConnection: close\r\n/i);
      const j = JSON.parse(text.slice(text.indexOf('\r\n\r\n') + 4)) as Echoed;
      assert.equal(j.url, '/old');
      assert.match(r.stderr, /> GET \/old HTTP\/1\.0/);
    });

    it('two URLs in one run share the connection', async () => {
      const r = await curl(['--verbose', `${base}/first`, `${base}/second`]);
      assert.equal(r.code, 0, r.stderr);
      assert.match(r.stderr, /Re-using existing connection/i);
      const text = r.stdout.toString('utf8');
      assert.match(text, /"url":"\/first"/);
      assert.match(text, /"url":"\/second"/);
    });

    it('an upload with Expect: 100-continue gets 100 Continue, then the echo of the whole body', async () => {
      const body = patternBytes(2 * 1024 * 1024);
      const r = await curl(
        [
          '--verbose',
          '--header',
          'Expect: 100-continue',
          '--header',
          'Content-Type: application/octet-stream',
          '--data-binary',
          '@-',
          `${base}/up`,
        ],
        body,
      );
      assert.equal(r.code, 0, r.stderr);
      assert.match(r.stderr, /< HTTP\/1\.1 100 Continue/);
      const j = JSON.parse(r.stdout.toString('utf8')) as Echoed;
      assert.equal(j.bodyBytes, body.length);
      assert.equal(j.bodySha256, sha256(body));
    });
  });
});
