// Backup servers through the real proxy: a backup takes traffic only while no normal
// server is up, and gives it back as soon as one is. Health is driven by the echo's admin
// toggle (POST /admin/health), so no process has to die.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { request } from '../helpers/node-http.js';
import { startEcho, type EchoBackend } from '../helpers/echo.js';
import { startHandoff, type RunningHandoff } from '../helpers/handoff.js';
import { freePort } from '../helpers/net.js';
import { stopAll } from '../helpers/processes.js';
import { waitUntil } from '../helpers/wait.js';

type Name = 'n1' | 'n2' | 'bk';

describe('backup servers through the proxy', () => {
  const echoes = {} as Record<Name, EchoBackend>;
  let lb: RunningHandoff;
  let port: number;

  before(async () => {
    [echoes.n1, echoes.n2, echoes.bk] = await Promise.all([startEcho('n1'), startEcho('n2'), startEcho('bk')]);
    port = await freePort();
    lb = await startHandoff(`workers: 1
log: { access: off }
frontends:
  web: { bind: 127.0.0.1:${port}, default_backend: app }
backends:
  app:
    health: { type: http, path: /healthz, interval: 100ms, timeout: 1s, rise: 2, fall: 2 }
    servers:
      - { name: n1, address: ${echoes.n1.address} }
      - { name: n2, address: ${echoes.n2.address} }
      - { name: bk, address: ${echoes.bk.address}, backup: true }
`);
    await waitUntil(
      'every server up',
      async () => Object.values((await lb.status()).backends.app?.servers ?? {}).filter((s) => s.operational === 'up').length === 3,
      10_000,
      50,
    );
  });
  after(() => stopAll());

  /** The set of servers that answered `n` requests. */
  async function servedBy(n: number): Promise<Set<string>> {
    const seen = new Set<string>();
    for (let i = 0; i < n; i++) {
      const r = await request(port, `/r${i}`, { timeoutMs: 10_000 });
      assert.equal(r.status, 200, `request ${i}: ${r.body.toString()}`);
      seen.add(String(r.headers['x-server']));
    }
    return seen;
  }

  async function setHealth(name: Name, status: number, want: 'up' | 'down'): Promise<void> {
    const r = await request(echoes[name].port, `/admin/health?status=${status}`, { method: 'POST' });
    assert.equal(r.status, 200);
    await waitUntil(`${name} ${want}`, async () => (await lb.status()).backends.app?.servers[name]?.operational === want, 10_000, 50);
  }

  it('normal servers take all traffic while both are up', async () => {
    assert.deepEqual(await servedBy(8), new Set(['n1', 'n2']));
  });

  it('one normal server down: the other takes it all, the backup still none', async () => {
    await setHealth('n1', 503, 'down');
    assert.deepEqual(await servedBy(6), new Set(['n2']));
  });

  it('every normal server down: the backup takes the traffic', async () => {
    await setHealth('n2', 503, 'down');
    assert.deepEqual(await servedBy(6), new Set(['bk']));
  });

  it('a normal server back up: the backup gets nothing again', async () => {
    await setHealth('n1', 200, 'up');
    assert.deepEqual(await servedBy(6), new Set(['n1']));
    await setHealth('n2', 200, 'up');
    assert.deepEqual(await servedBy(8), new Set(['n1', 'n2']));
  });
});
