// The demo writes its config into $TMPDIR/handoff-demo-$UID: a folder another local user
// may have created first, with a symlink inside. handoff must refuse a folder that is not
// its own, and never follow a symlink when it writes.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { chownSync, lstatSync, mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort } from '../helpers/net.js';
import { handoff, handoffRun, stopAll } from '../helpers/processes.js';

after(() => stopAll());

const uid = process.getuid?.() ?? -1;

function privateTmp(): { tmp: string; secret: string; demo: string } {
  const tmp = mkdtempSync(join(tmpdir(), 'handoff-demo-test-'));
  const secret = join(tmp, 'root-only');
  writeFileSync(secret, 'SECRET\n', { mode: 0o600 });
  return { tmp, secret, demo: join(tmp, `handoff-demo-${uid}`) };
}

test('a demo folder owned by another user is refused; the symlink target is untouched', {
  skip: uid !== 0 && 'needs root to chown to nobody',
}, async (t) => {
  const { tmp, secret, demo } = privateTmp();
  t.after(() => rmSync(tmp, { recursive: true, force: true }));
  mkdirSync(demo, { mode: 0o777 });
  symlinkSync(secret, join(demo, 'handoff.yaml'));
  chownSync(demo, 65534, 65534);
  const port = await freePort();
  const r = await handoffRun(['start', '--port', String(port)], { env: { ...process.env, TMPDIR: tmp }, timeoutMs: 20_000 });
  assert.equal(r.code, 1, r.stdout + r.stderr);
  assert.match(r.stderr, /handoff-demo-0 belongs to uid 65534, not to you \(uid 0\): refusing/);
  assert.equal(readFileSync(secret, 'utf8'), 'SECRET\n');
  assert.ok(lstatSync(join(demo, 'handoff.yaml')).isSymbolicLink());
});

test('a symlink as the demo folder itself is refused', async (t) => {
  const { tmp, demo } = privateTmp();
  t.after(() => rmSync(tmp, { recursive: true, force: true }));
  const elsewhere = join(tmp, 'elsewhere');
  mkdirSync(elsewhere, { mode: 0o700 });
  symlinkSync(elsewhere, demo);
  const r = await handoffRun(['start', '--port', String(await freePort())], { env: { ...process.env, TMPDIR: tmp }, timeoutMs: 20_000 });
  assert.equal(r.code, 1, r.stdout + r.stderr);
  assert.match(r.stderr, /is a symbolic link: refusing/);
});

test('in our own demo folder, a symlink named handoff.yaml is replaced, never followed', async (t) => {
  const { tmp, secret, demo } = privateTmp();
  t.after(() => rmSync(tmp, { recursive: true, force: true }));
  mkdirSync(demo, { mode: 0o755 });
  symlinkSync(secret, join(demo, 'handoff.yaml'));
  const proc = handoff(['start', '--port', String(await freePort())], { env: { ...process.env, TMPDIR: tmp } });
  // Started or not (the demo's ports may be taken on a busy machine), the config was written by then.
  await Promise.race([proc.waitFor(/handoff started|handoff start:/, 30_000), proc.exited]);
  await proc.stop('SIGTERM', 20_000);
  assert.equal(readFileSync(secret, 'utf8'), 'SECRET\n');
  const st = lstatSync(join(demo, 'handoff.yaml'));
  assert.ok(st.isFile(), 'handoff.yaml is now a regular file');
  assert.match(readFileSync(join(demo, 'handoff.yaml'), 'utf8'), /built-in demo of handoff/);
  assert.equal(lstatSync(demo).mode & 0o777, 0o700, 'the folder was made private');
});
