// No unused file, export, type or dependency: knip (knip.jsonc names the entry points).
// Dead code fails the suite here instead of piling up.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import test from 'node:test';
import { repoRoot } from '../helpers/paths.js';

test('knip finds no unused code', { timeout: 120_000 }, () => {
  const knip = join(repoRoot, 'node_modules', 'knip', 'bin', 'knip.js');
  const r = spawnSync(process.execPath, [knip, '--no-progress'], { cwd: repoRoot, encoding: 'utf8' });
  assert.equal(r.status, 0, `knip:\n${r.stdout}${r.stderr}`);
});
