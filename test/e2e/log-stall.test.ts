// A log reader that stalls must never stall the service: with stdout and stderr on one pipe
// that nobody reads (`handoff start 2>&1 | a-reader-that-hangs`), every request is still
// answered, status answers, a reload works, and the lost log lines are counted and reported.
import { test, after, type TestContext } from 'node:test';
import { spawnSync } from 'node:child_process';
import net from 'node:net';
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync, rmSync, openSync, constants } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startEcho } from '../helpers/echo.js';
import { freePort } from '../helpers/net.js';
import { handoffRun, spawnTracked, stopAll, type Tracked } from '../helpers/processes.js';
import { entry } from '../helpers/paths.js';
import { KeepAliveClient } from '../helpers/http-client.js';
import { waitUntil } from '../helpers/wait.js';
import type { StatusReport } from '../../src/protocol/control.js';

after(() => stopAll());

for (const kind of ['socket', 'fifo'] as const) {
  test(`a stalled stdout/stderr reader (${kind}): requests, status and reload go on; dropped lines are counted`, (t) =>
    stalledReader(t, kind));
}

async function stalledReader(t: TestContext, kind: 'socket' | 'fifo'): Promise<void> {
  const echo = await startEcho('a');
  const port = await freePort();
  const statsPort = await freePort();
  const dir = mkdtempSync(join(tmpdir(), 'handoff-logstall-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const configFile = join(dir, 'handoff.yaml');
  const control = join(dir, 'handoff.sock');
  writeFileSync(
    configFile,
    `control: ./handoff.sock
workers: 1
log: { access: stdout, buffer: 16k }
stats: { bind: 127.0.0.1:${statsPort} }
frontends:
  web: { bind: 127.0.0.1:${port}, default_backend: a }
backends:
  a: { servers: [ { name: a, address: ${echo.address} } ] }
`,
  );
  // One pipe for both streams, like `handoff start 2>&1 | reader`; the reader takes what
  // fits in its buffer, then stops reading. A socket pair (Node's stdio 'pipe', systemd's
  // journal) or a FIFO (a shell pipeline, a container runtime).
  const env = { ...process.env, HANDOFF_LOG_LEVEL: 'debug' };
  let fifoReader: number | undefined;
  let master: Tracked;
  if (kind === 'socket') {
    master = spawnTracked('sh', ['-c', 'exec "$0" "$@" 2>&1', process.execPath, entry, 'start', '-f', configFile], { env });
    master.child.stdout!.pause();
    master.child.stderr!.pause();
  } else {
    const fifo = join(dir, 'out.fifo');
    assert.equal(spawnSync('mkfifo', [fifo]).status, 0);
    fifoReader = openSync(fifo, constants.O_RDONLY | constants.O_NONBLOCK);
    master = spawnTracked('sh', ['-c', 'exec "$0" "$@" >"$FIFO" 2>&1', process.execPath, entry, 'start', '-f', configFile], {
      env: { ...env, FIFO: fifo },
      stdio: 'ignore',
    });
  }

  const status = async (): Promise<StatusReport> => {
    const r = await handoffRun(['status', '--json', '-s', control], { timeoutMs: 10_000 });
    assert.equal(r.code, 0, `handoff status failed: ${r.stderr}`);
    return JSON.parse(r.stdout) as StatusReport;
  };
  await waitUntil('the master answering status', async () => (await status()).generations.some((g) => g.state === 'active'), 20_000, 50);

  // 3000 requests on 4 keep-alive connections: ~1 MB of access log, many pipes' worth.
  const requestsPer = 750;
  const answered = await Promise.all(
    Array.from({ length: 4 }, async () => {
      const c = new KeepAliveClient(port);
      let ok = 0;
      try {
        for (let i = 0; i < requestsPer; i++) {
          const r = await c.request(`/r${i}`, { timeoutMs: 10_000 });
          if (r.status === 200) ok++;
        }
      } finally {
        c.close();
      }
      return ok;
    }),
  );
  assert.deepEqual(answered, [requestsPer, requestsPer, requestsPer, requestsPer]);

  const before = await status();
  assert.ok(before.totals.logDropped.access > 0, `access lines dropped: ${JSON.stringify(before.totals.logDropped)}`);

  const reload = await handoffRun(['reload', '-s', control], { timeoutMs: 30_000 });
  assert.equal(reload.code, 0, `reload failed: ${reload.stdout}${reload.stderr}`);
  // The new generation serves (its own stdout is the same stalled pipe).
  const c = new KeepAliveClient(port);
  try {
    for (let i = 0; i < 200; i++) assert.equal((await c.request(`/after${i}`, { timeoutMs: 10_000 })).status, 200);
  } finally {
    c.close();
  }
  const after = await status();
  assert.ok(after.totals.logDropped.access > 0, `access lines dropped after the reload: ${JSON.stringify(after.totals.logDropped)}`);

  const metrics = await (await fetch(`http://127.0.0.1:${statsPort}/metrics`)).text();
  const m = metrics.match(/^handoff_log_lines_dropped_total\{log="access"\} (\d+)$/m);
  assert.ok(m && Number(m[1]) > 0, `metrics: ${metrics}`);

  // The reader comes back: the drops were reported on the operational log.
  const reported = /warn .*log lines dropped .*log=access dropped=\d+/;
  if (fifoReader === undefined) {
    master.child.stdout!.resume();
    await master.waitFor(reported, 20_000);
  } else {
    const reader = new net.Socket({ fd: fifoReader, readable: true, writable: false });
    let out = '';
    reader.on('data', (c: Buffer) => (out += c.toString('latin1')));
    await waitUntil('the drop report on the log', () => reported.test(out), 20_000, 50);
    reader.destroy();
  }
  assert.equal(await master.stop('SIGTERM', 20_000), 0);
}
