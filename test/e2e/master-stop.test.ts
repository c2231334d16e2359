// A graceful stop never leaves a client hanging: from the moment it begins (after
// drain.accept_grace), a new connection is refused at once, never accepted into a backlog
// nobody reads; requests in flight complete.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import net from 'node:net';
import { startEcho } from '../helpers/echo.js';
import { oneBackendConfig, startHandoff } from '../helpers/handoff.js';
import { request } from '../helpers/http-client.js';
import { freePort } from '../helpers/net.js';
import { stopAll } from '../helpers/processes.js';
import { waitUntil } from '../helpers/wait.js';

after(() => stopAll());

/** Connect and send a request: 'refused', or what came back (a status line, or 'no answer' within ms). */
function tryConnect(port: number, ms: number): Promise<string> {
  return new Promise((resolve) => {
    const s = net.connect({ port, host: '127.0.0.1' });
    const t = setTimeout(() => {
      s.destroy();
      resolve('no answer');
    }, ms);
    s.on('connect', () => s.write('GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n'));
    let got = '';
    s.on('data', (d) => (got += d.toString('latin1')));
    s.on('error', (err: NodeJS.ErrnoException) => {
      clearTimeout(t);
      resolve(err.code === 'ECONNREFUSED' ? 'refused' : (err.code ?? 'error'));
    });
    s.on('close', () => {
      clearTimeout(t);
      resolve(got ? got.split('\r\n')[0]! : 'closed');
    });
  });
}

test('graceful stop: in-flight requests finish; a new connection is refused at once, never left hanging', async () => {
  const a = await startEcho('a');
  const port = await freePort();
  const h = await startHandoff(oneBackendConfig({ port, server: a.address, workers: 2, top: 'drain: { timeout: 20s }' }));
  const slow = request(port, '/?delay=8000', { timeoutMs: 30_000 });
  await waitUntil('the slow request reached the backend', async () => ((await h.status()).backends.a?.servers.a?.active ?? 0) === 1);
  process.kill(h.proc.pid, 'SIGTERM');
  await h.proc.waitFor(/stopping gracefully/, 10_000);
  // Once the workers stopped accepting, the listening socket is gone: refused, not hanging.
  // Each attempt is served, or refused at once; never left hanging (the old behaviour: the
  // socket stayed open with nobody accepting). A connection that lands in the very instant
  // the last copy of the socket closes may be reset: it never waits either.
  const seen: string[] = [];
  await waitUntil(
    'a new connection is refused',
    async () => {
      const r = await tryConnect(port, 3000);
      seen.push(r);
      return r === 'refused';
    },
    15_000,
  );
  assert.deepEqual(
    seen.filter((r) => r !== 'HTTP/1.1 200 OK' && r !== 'refused' && r !== 'ECONNRESET'),
    [],
    `every attempt answered at once: ${seen.join(', ')}`,
  );
  assert.equal((await slow).status, 200, 'the request in flight completed');
  assert.equal(await h.proc.exited, 0);
});

test('drain.accept_grace: new connections are still served for that long after a stop begins', async () => {
  const a = await startEcho('a');
  const port = await freePort();
  const h = await startHandoff(oneBackendConfig({ port, server: a.address, workers: 1, top: 'drain: { timeout: 10s, accept_grace: 3s }' }));
  process.kill(h.proc.pid, 'SIGTERM');
  await h.proc.waitFor(/accept grace/, 10_000);
  assert.equal(await tryConnect(port, 10_000), 'HTTP/1.1 200 OK', 'served during the grace');
  const seen: string[] = [];
  await waitUntil(
    'refused after the grace',
    async () => {
      const r = await tryConnect(port, 3000);
      seen.push(r);
      return r === 'refused';
    },
    20_000,
  );
  assert.deepEqual(
    seen.filter((r) => r !== 'HTTP/1.1 200 OK' && r !== 'refused' && r !== 'ECONNRESET'),
    [],
    `every attempt answered at once: ${seen.join(', ')}`,
  );
  assert.equal(await h.proc.exited, 0);
});
