// `handoff start --watch`: a real master applies its config file whenever the content
// changes, however the file is replaced: an atomic replace (temp file + rename), an
// in-place write, a Kubernetes ConfigMap update (a `..data` symlink renamed over the old
// one, the old data folder deleted). An invalid file is logged as file:line:col and the
// running config keeps serving; a burst of writes becomes one reload or a few.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, readdirSync, renameSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startEcho, type EchoBackend } from '../helpers/echo.js';
import { request, servedBy } from '../helpers/http-client.js';
import { freePort } from '../helpers/net.js';
import { handoff, handoffRun, stopAll, type Tracked } from '../helpers/processes.js';
import { delay, waitUntil } from '../helpers/wait.js';

let a: EchoBackend;
let b: EchoBackend;
const temps: string[] = [];

before(async () => {
  [a, b] = await Promise.all([startEcho('a'), startEcho('b')]);
});
after(async () => {
  await stopAll();
  for (const d of temps) rmSync(d, { recursive: true, force: true });
});

function tempDir(): string {
  const d = mkdtempSync(join(tmpdir(), 'handoff-watch-'));
  temps.push(d);
  return d;
}

const config = (o: { port: number; control: string; backend: 'a' | 'b'; drain?: string; note?: string }) => `# ${o.note ?? ''}
control: ${o.control}
workers: 1
drain: { timeout: ${o.drain ?? '2s'} }
log: { access: off }
frontends:
  web: { bind: 127.0.0.1:${o.port}, default_backend: ${o.backend} }
backends:
  a: { servers: [ { name: a, address: ${a.address} } ] }
  b: { servers: [ { name: b, address: ${b.address} } ] }
`;

interface Watched {
  proc: Tracked;
  port: number;
  control: string;
  /** How many times the watcher asked for a reload so far. */
  reloads(): number;
}

async function startWatched(file: string, write: (yaml: string) => void, control: string): Promise<Watched> {
  const port = await freePort();
  write(config({ port, control, backend: 'a' }));
  const proc = handoff(['start', '--watch', '-f', file], { env: { ...process.env, HANDOFF_LOG_LEVEL: 'debug' } });
  // The first look at the file (right after start) finds what the master loaded.
  await proc.waitFor(/config file looked at: content unchanged/, 20_000);
  return { proc, port, control, reloads: () => (proc.output().match(/config file changed; reloading/g) ?? []).length };
}

async function servedNow(port: number): Promise<string | undefined> {
  return servedBy(await request(port, '/'));
}

function waitServedBy(w: Watched, name: string): Promise<true> {
  return waitUntil(`requests served by ${name}`, async () => (await servedNow(w.port)) === name, 20_000);
}

function count(out: string, re: RegExp): number {
  return (out.match(new RegExp(re.source, 'g')) ?? []).length;
}

const escapeRegex = (s: string) => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

// ---- a regular file: atomic replace, in-place write, invalid, burst -------------------------

let plain: Watched;
let plainFile: string;
let plainDir: string;
let tmpCounter = 0;

/** What `handoff apply`, editors and deploy tools do: write a temp file, rename it over. */
function replaceAtomically(yaml: string) {
  const tmp = join(plainDir, `.handoff.yaml.${tmpCounter++}.tmp`);
  writeFileSync(tmp, yaml);
  renameSync(tmp, plainFile);
}

test('atomic replace (temp file + rename) is applied; the same bytes again are not reloaded', async () => {
  plainDir = tempDir();
  plainFile = join(plainDir, 'handoff.yaml');
  plain = await startWatched(plainFile, replaceAtomically, join(plainDir, 'handoff.sock'));
  assert.equal(await servedNow(plain.port), 'a');

  replaceAtomically(config({ port: plain.port, control: plain.control, backend: 'b' }));
  await waitServedBy(plain, 'b');
  await plain.proc.waitFor(/config file applied .*kind=live/);
  assert.equal(plain.reloads(), 1);

  // A rename of identical bytes: the watcher looks, and reloads nothing.
  const looked = count(plain.proc.output(), /content unchanged/);
  replaceAtomically(config({ port: plain.port, control: plain.control, backend: 'b' }));
  await waitUntil('the watcher looked at the rewritten file', () => count(plain.proc.output(), /content unchanged/) > looked);
  assert.equal(plain.reloads(), 1, 'no reload for identical content');
  assert.equal(count(plain.proc.output(), /kind=unchanged/), 0, 'the master was not even asked');
});

test('an in-place write (truncate and write the same inode) is applied', async () => {
  const before = plain.reloads();
  writeFileSync(plainFile, config({ port: plain.port, control: plain.control, backend: 'a', note: 'in place' }));
  await waitServedBy(plain, 'a');
  assert.ok(plain.reloads() > before);
});

test('an invalid file is logged with file:line:col; the running config keeps serving; a valid fix applies', async () => {
  const generation = async () => {
    const r = await handoffRun(['status', '--json', '-s', plain.control]);
    return (JSON.parse(r.stdout) as { generations: { state: string; configGeneration: number }[] }).generations.find(
      (g) => g.state === 'active',
    )!.configGeneration;
  };
  const gen = await generation();
  const rejected = count(plain.proc.output(), /config file rejected/);
  // `drain: { timeout: 2 }` (no unit) and default_backend b: line 4 is the drain line.
  replaceAtomically(config({ port: plain.port, control: plain.control, backend: 'b', drain: '2' }));
  await waitUntil('the rejection in the log', () => count(plain.proc.output(), /config file rejected/) > rejected);
  assert.match(plain.proc.output(), new RegExp(`config error .*issue="${escapeRegex(plainFile)}:4:\\d+: drain\\.timeout: `));
  assert.equal(await servedNow(plain.port), 'a', 'the old config keeps serving');
  assert.equal(await generation(), gen, 'nothing was applied');

  replaceAtomically(config({ port: plain.port, control: plain.control, backend: 'b', note: 'fixed' }));
  await waitServedBy(plain, 'b');
  assert.equal(await generation(), gen + 1);
});

test('a burst of writes is coalesced into one reload or a few, and the last one wins', async () => {
  const before = plain.reloads();
  const writes = 20;
  const now = (await servedNow(plain.port)) as 'a' | 'b';
  const last = now === 'a' ? 'b' : 'a';
  // Paced well below the settle time (200 ms): one burst. Only the last write changes the backend.
  for (let i = 0; i < writes; i++) {
    replaceAtomically(config({ port: plain.port, control: plain.control, backend: i === writes - 1 ? last : now, note: `burst ${i}` }));
    await delay(10);
  }
  await waitServedBy(plain, last);
  // Every reload the watcher asked for has finished.
  await waitUntil(
    'the watcher idle',
    () => count(plain.proc.output(), /config file changed; reloading/) === count(plain.proc.output(), /config file (applied|rejected)/),
  );
  const reloads = plain.reloads() - before;
  assert.ok(reloads >= 1 && reloads < writes / 2, `${writes} writes made ${reloads} reloads`);
  assert.equal(await servedNow(plain.port), last);
});

// ---- a Kubernetes ConfigMap volume ----------------------------------------------------------

/**
 * The layout kubelet's atomic writer makes: handoff.yaml -> ..data/handoff.yaml,
 * ..data -> ..<timestamp>/; an update writes a new timestamped folder, points ..data_tmp at
 * it, renames ..data_tmp over ..data and deletes the old folder.
 */
function configMapWriter(root: string) {
  let n = 0;
  return (yaml: string) => {
    const old = readdirSync(root).filter((f) => f.startsWith('..2026'));
    const data = `..2026_11_26_16_47_${String(n++).padStart(2, '0')}.000000001`;
    mkdirSync(join(root, data));
    writeFileSync(join(root, data, 'handoff.yaml'), yaml);
    symlinkSync(data, join(root, '..data_tmp'));
    renameSync(join(root, '..data_tmp'), join(root, '..data'));
    for (const o of old) rmSync(join(root, o), { recursive: true });
    if (n === 1) symlinkSync('..data/handoff.yaml', join(root, 'handoff.yaml'));
  };
}

test('a Kubernetes ConfigMap update (..data symlink swap) is applied, again and again', async () => {
  const root = tempDir();
  const run = tempDir();
  const update = configMapWriter(root);
  const w = await startWatched(join(root, 'handoff.yaml'), update, join(run, 'handoff.sock'));
  assert.equal(await servedNow(w.port), 'a');
  // Three updates: each deletes the folder the previous one resolved to.
  for (const backend of ['b', 'a', 'b'] as const) {
    const before = w.reloads();
    update(config({ port: w.port, control: w.control, backend }));
    await waitServedBy(w, backend);
    assert.equal(w.reloads(), before + 1);
  }
  assert.equal(await w.proc.stop('SIGTERM', 30_000), 0);
});

test('the watch ends with the master: a graceful stop exits 0', async () => {
  assert.equal(await plain.proc.stop('SIGTERM', 30_000), 0);
});
