// The stats page in a real headless Chromium: it renders from /status.json under its strict
// Content-Security-Policy (no violation, no external resource) and updates itself without
// a reload of the page: a live reload raises the config generation it shows, a process
// reload the process generation, and a generation held draining by a request in flight is
// listed with its age until it exits. A screenshot is kept in test-artifacts/ (git-ignored).
// Skipped, saying so, only when no Chromium is installed (`apt-get install -y chromium`).
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { freePort } from '../helpers/net.js';
import { startHandoff } from '../helpers/handoff.js';
import { request } from '../helpers/http-client.js';
import { stopAll } from '../helpers/processes.js';
import { waitUntil } from '../helpers/wait.js';
import { startHoldingBackend } from '../helpers/holding-backend.js';
import { findChromium, openPage } from '../helpers/chromium.js';
import { repoRoot } from '../helpers/paths.js';

after(() => stopAll());

const chromium = findChromium();

test('the stats page shows live figures in a real browser: generations, reloads, servers, draining processes', {
  skip: chromium ? false : 'no chromium on PATH: apt-get install -y chromium (.ci/run does)',
}, async () => {
  const backend = await startHoldingBackend();
  const port = await freePort();
  const statsPort = await freePort();
  const config = (timeout: string) => `workers: 1
log: { access: off }
stats: { bind: 127.0.0.1:${statsPort} }
frontends:
  web: { bind: 127.0.0.1:${port}, default_backend: app }
backends:
  app: { timeouts: { server: ${timeout} }, servers: [ { name: app-1, address: ${backend.address} } ] }
`;
  const h = await startHandoff(config('10s'));
  const url = `http://127.0.0.1:${statsPort}/`;
  const page = await openPage(chromium!, url);
  const text = (id: string) => page.evaluate<string>(`document.getElementById(${JSON.stringify(id)}).textContent`);
  const waitText = (id: string, want: (s: string) => boolean, what: string) =>
    waitUntil(
      `the page's #${id} to show ${what}`,
      async () => {
        const s = await text(id);
        if (!want(s)) throw new Error(`it shows ${JSON.stringify(s)}`); // waitUntil reports the last one
        return true;
      },
      30_000,
      100,
    );
  try {
    await waitText('config-generation', (s) => s === '1', '1');
    assert.equal(await text('process-generation'), '1');
    assert.equal(await text('master-state'), 'running');
    await waitText('server-rows', (s) => s.includes('app-1') && s.includes('up'), 'server app-1 up');

    // A live reload: the page, never navigated again, shows the new config generation.
    assert.equal((await request(port, '/')).status, 200);
    const live = await h.reload(config('11s'));
    assert.equal(live.code, 0, live.stderr);
    await waitText('config-generation', (s) => s === '2', '2 after a live reload');
    assert.equal(await text('process-generation'), '1');
    await waitText('reload-rows', (s) => s.includes('live') && s.includes('ok'), 'the live reload');
    await waitText('requests', (s) => s === '1', '1 request');

    // A process reload while a request is in flight: generation 1 stays draining until it ends.
    const slow = request(port, '/slow', { timeoutMs: 60_000 });
    await waitUntil('the slow request at the backend', () => backend.arrived() === 1);
    const restart = await h.reload(undefined, { restart: true });
    assert.equal(restart.code, 0, restart.stderr);
    await waitText('process-generation', (s) => s === '3', '3 after a process reload');
    assert.equal(await text('config-generation'), '3');
    await waitText('draining-rows', (s) => /^1\d/.test(s) && /\d+\.\d s/.test(s), 'generation 1 draining, with its age');
    assert.notEqual(await text('oldest-draining'), 'none');
    await waitText('reload-rows', (s) => s.includes('process'), 'the process reload');

    mkdirSync(join(repoRoot, 'test-artifacts'), { recursive: true });
    const png = await page.screenshot();
    assert.ok(png.subarray(1, 4).toString() === 'PNG' && png.length > 1000, 'a PNG screenshot');
    writeFileSync(join(repoRoot, 'test-artifacts', 'stats-page.png'), png);

    backend.release();
    assert.equal((await slow).status, 200);
    await waitText('draining-rows', (s) => s === 'none', 'no draining generation');
    assert.equal(await text('oldest-draining'), 'none');
    assert.equal(await text('error'), '');
    const violations = page.problems.filter((p) => /Content.Security.Policy|Refused to/i.test(p));
    assert.deepEqual(violations, [], 'no CSP violation');
  } finally {
    backend.release();
    await page.close();
    await h.stop();
    await backend.close();
  }
});
