// The maxconn queue through the real proxy, HTTP frontends: a request that finds the only
// server at maxconn waits its turn, is answered 503 (the configured page) past
// timeouts.queue, is turned away at once beyond maxqueue; the queue shows in status.
// Nothing hangs: every request here has a client-side bound.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { request, type Reply } from '../helpers/node-http.js';
import { startEcho, type EchoBackend } from '../helpers/echo.js';
import { startHandoff, type RunningHandoff } from '../helpers/handoff.js';
import { freePort } from '../helpers/net.js';
import { stopAll } from '../helpers/processes.js';
import { waitUntil } from '../helpers/wait.js';

const PAGE = '<html><body>tcpq: every server is busy</body></html>\n';
/** Long enough for the test to see the slot held and the queue through `handoff status`. */
// Long enough for status polls (a CLI process each) to see it held, even on a loaded machine.
const HOLD_MS = 6000;

interface Timed extends Reply {
  readonly ms: number;
  readonly at: number;
}

async function timed(port: number, path: string): Promise<Timed> {
  const t0 = Date.now();
  const r = await request(port, path, { timeoutMs: 15_000 });
  return { ...r, ms: Date.now() - t0, at: Date.now() };
}

describe('maxconn queue through the proxy (http)', () => {
  let echo: EchoBackend;
  let lb: RunningHandoff;
  let pageDir: string;
  const ports = { wait: 0, short: 0, capped: 0 };

  before(async () => {
    pageDir = mkdtempSync(join(tmpdir(), 'tcpq-pages-'));
    writeFileSync(join(pageDir, '503.html'), PAGE);
    echo = await startEcho('queue-http');
    [ports.wait, ports.short, ports.capped] = [await freePort(), await freePort(), await freePort()];
    // Three backends on the same echo process: each keeps its own slots and queue.
    lb = await startHandoff(`workers: 1
log: { access: off }
errors: { 503: ${join(pageDir, '503.html')} }
frontends:
  wait: { bind: 127.0.0.1:${ports.wait}, default_backend: wait }
  short: { bind: 127.0.0.1:${ports.short}, default_backend: short }
  capped: { bind: 127.0.0.1:${ports.capped}, default_backend: capped }
backends:
  wait:
    timeouts: { queue: 10s }
    servers: [{ name: s1, address: ${echo.address}, maxconn: 1 }]
  short:
    timeouts: { queue: 300ms }
    servers: [{ name: s1, address: ${echo.address}, maxconn: 1 }]
  capped:
    maxqueue: 1
    timeouts: { queue: 10s }
    servers: [{ name: s1, address: ${echo.address}, maxconn: 1 }]
`);
  });
  after(async () => {
    await stopAll();
    rmSync(pageDir, { recursive: true, force: true });
  });

  /** Resolves once status shows `backend` in the state `probe` looks for. */
  const statusShows = (what: string, backend: string, probe: (b: { queue: number; active: number }) => boolean) =>
    waitUntil(
      what,
      async () => {
        const b = (await lb.status()).backends[backend];
        return b !== undefined && probe({ queue: b.queue, active: b.servers.s1?.active ?? 0 });
      },
      10_000,
      50,
    );

  it('a second client waits for the slot and is served after the first', async () => {
    const first = timed(ports.wait, `/?delay=${HOLD_MS}`);
    await statusShows('the first request holding the slot', 'wait', (b) => b.active === 1);
    const second = timed(ports.wait, '/second');
    await statusShows('the second request in the queue', 'wait', (b) => b.queue === 1);
    const [a, b] = await Promise.all([first, second]);
    assert.equal(a.status, 200);
    assert.equal(b.status, 200, `the queued request was served: ${b.body.toString()}`);
    assert.ok(b.at >= a.at, 'the queued request was answered after the one holding the slot');
    await statusShows('an empty queue', 'wait', (s) => s.queue === 0 && s.active === 0);
  });

  it('past timeouts.queue (300ms) a waiting request gets the configured 503 page', async () => {
    const holder = timed(ports.short, `/?delay=${HOLD_MS}`);
    await statusShows('the first request holding the slot', 'short', (b) => b.active === 1);
    const late = await timed(ports.short, '/late');
    assert.equal(late.status, 503);
    assert.equal(late.body.toString(), PAGE, 'the body is the configured 503 page');
    assert.ok(late.ms >= 250 && late.ms < 3000, `answered after about timeouts.queue: ${late.ms} ms`);
    assert.equal((await holder).status, 200, 'the request holding the slot is unaffected');
  });

  it('beyond maxqueue a request is turned away at once while others wait', async () => {
    const holder = timed(ports.capped, `/?delay=${HOLD_MS}`);
    await statusShows('the first request holding the slot', 'capped', (b) => b.active === 1);
    let waiterDone = false;
    const waiter = timed(ports.capped, '/waiter').finally(() => (waiterDone = true));
    await statusShows('one request in the queue', 'capped', (b) => b.queue === 1);
    const turnedAway = await timed(ports.capped, '/one-too-many');
    assert.equal(turnedAway.status, 503);
    assert.equal(turnedAway.body.toString(), PAGE);
    assert.ok(turnedAway.ms < 1500, `turned away at once, not after a wait: ${turnedAway.ms} ms`);
    assert.equal(waiterDone, false, 'the queued request was still waiting meanwhile');
    const [h, w] = await Promise.all([holder, waiter]);
    assert.equal(h.status, 200);
    assert.equal(w.status, 200, 'the queued request was served once the slot was free');
  });
});
