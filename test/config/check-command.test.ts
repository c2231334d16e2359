// `handoff check` as a real process, from the build under test.
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { handoffRun, stopAll } from '../helpers/processes.js';
import { fixtures, repoRoot } from '../helpers/paths.js';

after(() => stopAll());

const dir = join(fixtures, 'config');

test('a valid file: one summary line on stdout, exit 0', async () => {
  const file = join(dir, 'two-frontends.yaml');
  const r = await handoffRun(['check', '-f', file]);
  assert.equal(r.code, 0, r.stderr);
  assert.match(
    r.stdout,
    new RegExp(`^${escapeRegex(file)}: ok \\(2 frontends, 3 listeners, 2 backends, 4 servers, 2 workers, hash [0-9a-f]{12}\\)\\n$`),
  );
  assert.equal(r.stderr, '');
});

test('--file works too, and warnings go to stderr', async () => {
  const file = join(dir, 'unused-backend.yaml');
  const r = await handoffRun(['check', '--file', file]);
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stdout, /: ok \(1 frontend, 1 listener, 2 backends, 2 servers, 1 worker, hash [0-9a-f]{12}\)/);
  assert.equal(r.stderr, `${file}:10:3: backends.spare: warning: backend "spare" is not used by any frontend or route\n`);
});

test('every example is valid', async () => {
  for (const name of ['quickstart.yaml', 'tcp.yaml', 'full.yaml']) {
    const r = await handoffRun(['check', '-f', join(repoRoot, 'examples', name)]);
    assert.equal(r.code, 0, `${name}: ${r.stderr}`);
    assert.equal(r.stderr, '', name);
  }
});

test('an invalid file: every error as FILE:LINE:COL: PATH: MESSAGE, then the count, exit 1', async () => {
  const file = join(dir, 'invalid.yaml');
  const r = await handoffRun(['check', '-f', file]);
  assert.equal(r.code, 1);
  assert.equal(r.stdout, '');
  const lines = r.stderr.trimEnd().split('\n');
  assert.equal(lines.length, 4, r.stderr);
  assert.match(
    lines[0]!,
    new RegExp(`^${escapeRegex(file)}:5:22: frontends\\.web\\.default_backend: unknown backend "ap" \\(backends: app\\)$`),
  );
  assert.match(
    lines[1]!,
    new RegExp(
      `^${escapeRegex(file)}:8:14: backends\\.app\\.balance: expected one of: roundrobin, leastconn, random, source, uri, got "fastest"$`,
    ),
  );
  assert.match(lines[2]!, new RegExp(`^${escapeRegex(file)}:12:16: backends\\.app\\.timeouts\\.connect: expected a duration with a unit`));
  assert.equal(lines[3], '3 errors');
});

test('a missing file: a message, exit 1', async () => {
  const file = join(dir, 'does-not-exist.yaml');
  const r = await handoffRun(['check', '-f', file]);
  assert.equal(r.code, 1);
  assert.match(r.stderr, /cannot read the config file: ENOENT/);
});

test('usage: --help exits 0, no file is a usage error (2)', async () => {
  const help = await handoffRun(['check', '--help']);
  assert.equal(help.code, 0);
  assert.match(help.stdout, /usage: handoff check -f FILE/);
  const none = await handoffRun(['check']);
  assert.equal(none.code, 2);
  assert.match(none.stderr, /check needs a file/);
});

function escapeRegex(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}
