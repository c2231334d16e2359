// Active http health checks through the real master and worker: a server whose process
// stops is marked down after `fall` failed checks (the master logs the change and its
// cause, status shows it) and gets no traffic; once an echo listens on its port again it is
// up after `rise` checks and traffic returns. The echo's admin toggle fails the check
// without killing anything.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { request } from '../helpers/node-http.js';
import { startEcho, type EchoBackend } from '../helpers/echo.js';
import { startHandoff, type RunningHandoff } from '../helpers/handoff.js';
import { freePort } from '../helpers/net.js';
import { stopAll } from '../helpers/processes.js';
import { waitUntil } from '../helpers/wait.js';

const FALL = 2;

/** Which servers answered `n` requests (X-Server), in order. */
async function servedBy(port: number, n: number): Promise<string[]> {
  const out: string[] = [];
  for (let i = 0; i < n; i++) {
    const r = await request(port, `/req-${i}`, { timeoutMs: 10_000 });
    assert.equal(r.status, 200, `request ${i}: ${r.body.toString()}`);
    out.push(String(r.headers['x-server']));
  }
  return out;
}

/** Master log lines about one server's state, in order. */
function stateLines(output: string, server: string): string[] {
  return output.split('\n').filter((l) => l.includes('server state changed') && l.includes(` server=${server} `));
}

describe('active health checks through the proxy', () => {
  const echoes: Record<'a' | 'b', EchoBackend> = {} as Record<'a' | 'b', EchoBackend>;
  let lb: RunningHandoff;
  let port: number;

  before(async () => {
    [echoes.a, echoes.b] = await Promise.all([startEcho('a'), startEcho('b')]);
    port = await freePort();
    // timeout 1s, not the interval: a check must not fail only because this machine is busy.
    lb = await startHandoff(
      `workers: 1
log: { access: off }
frontends:
  web: { bind: 127.0.0.1:${port}, default_backend: app }
backends:
  app:
    health: { type: http, path: /healthz, interval: 100ms, timeout: 1s, rise: 2, fall: ${FALL} }
    servers:
      - { name: a, address: ${echoes.a.address} }
      - { name: b, address: ${echoes.b.address} }
`,
      // debug: the master also logs each failed check, so the test can count them.
      { env: { HANDOFF_LOG_LEVEL: 'debug' } },
    );
  });
  after(() => stopAll());

  const operational = async (server: string) => (await lb.status()).backends.app?.servers[server]?.operational;
  const until = (server: string, state: string) =>
    waitUntil(`${server} ${state} in status`, async () => (await operational(server)) === state, 10_000, 50);

  it('both servers are up and share the traffic', async () => {
    await until('a', 'up');
    await until('b', 'up');
    const seen = new Set(await servedBy(port, 6));
    assert.deepEqual([...seen].sort(), ['a', 'b']);
  });

  it('a stopped server is marked down after `fall` failed checks, with the cause logged, and gets no traffic', async () => {
    const before = lb.proc.output().length;
    await echoes.a.proc.stop('SIGTERM');
    await until('a', 'down');
    const log = lb.proc.output().slice(before);
    const down = stateLines(log, 'a').find((l) => / to=down /.test(l));
    assert.ok(down, `the master logged the change:\n${log}`);
    assert.match(down, /from=up to=down cause=check detail=".*ECONNREFUSED.*"/);
    // The change came with the fall-th consecutive failure, not before.
    const failures = log
      .slice(0, log.indexOf(down))
      .split('\n')
      .filter((l) => l.includes('health check failed') && l.includes(' server=a '))
      .map((l) => Number(/failures=(\d+)/.exec(l)?.[1]));
    assert.deepEqual(
      failures.slice(-FALL),
      Array.from({ length: FALL }, (_, i) => i + 1),
      `failed checks before the change: ${failures.join(',')}`,
    );
    assert.deepEqual(new Set(await servedBy(port, 6)), new Set(['b']), 'all requests go to b');
  });

  it('an echo on the same port again: up after `rise` checks, and traffic returns', async () => {
    const before = lb.proc.output().length;
    echoes.a = await startEcho('a', { port: echoes.a.port });
    await until('a', 'up');
    const up = stateLines(lb.proc.output().slice(before), 'a').find((l) => / to=up /.test(l));
    assert.ok(up, 'the master logged the change');
    assert.match(up, /from=down to=up cause=check detail="status 200"/);
    await waitUntil('traffic on a again', async () => (await servedBy(port, 4)).includes('a'), 10_000, 50);
  });

  it('the admin toggle on the backend fails its check without stopping it', async () => {
    const before = lb.proc.output().length;
    const off = await request(echoes.b.port, '/admin/health?status=503', { method: 'POST' });
    assert.equal(off.status, 200);
    await until('b', 'down');
    const down = stateLines(lb.proc.output().slice(before), 'b').find((l) => / to=down /.test(l));
    assert.ok(down);
    assert.match(down, /from=up to=down cause=check detail="status 503"/);
    assert.deepEqual(new Set(await servedBy(port, 6)), new Set(['a']), 'all requests go to a');
    const on = await request(echoes.b.port, '/admin/health?status=200', { method: 'POST' });
    assert.equal(on.status, 200);
    await until('b', 'up');
    await waitUntil('traffic on b again', async () => (await servedBy(port, 4)).includes('b'), 10_000, 50);
  });
});
