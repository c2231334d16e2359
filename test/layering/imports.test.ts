// The source tree has no import cycle and no lower layer importing a higher one
// (scripts/check-imports.mjs); and the check itself catches both, so it cannot pass vacuously.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import test from 'node:test';
import { repoRoot } from '../helpers/paths.js';

const script = join(repoRoot, 'scripts', 'check-imports.mjs');

function check(dir?: string) {
  return spawnSync(process.execPath, dir ? [script, dir] : [script], { encoding: 'utf8' });
}

test('src/ has no import cycle and respects its layers', () => {
  const r = check();
  assert.equal(r.status, 0, r.stderr);
});

test('the check fails on a cycle and on lib/ importing a higher layer', () => {
  const dir = mkdtempSync(join(tmpdir(), 'handoff-imports-'));
  try {
    mkdirSync(join(dir, 'worker'));
    mkdirSync(join(dir, 'lib'));
    mkdirSync(join(dir, 'config'));
    writeFileSync(join(dir, 'worker', 'a.ts'), "import type { B } from './b.js';\nexport type A = B;\n");
    writeFileSync(join(dir, 'worker', 'b.ts'), "import type { A } from './a.js';\nexport type B = A | 1;\n");
    writeFileSync(join(dir, 'lib', 'low.ts'), "import { x } from '../config/high.js';\nexport const y = x;\n");
    writeFileSync(join(dir, 'config', 'high.ts'), 'export const x = 1;\n');
    const r = check(dir);
    assert.equal(r.status, 1);
    assert.match(r.stderr, /import cycle: .*worker\/a\.ts → .*worker\/b\.ts → .*worker\/a\.ts/);
    assert.match(r.stderr, /lib\/low\.ts: a lower layer imports a higher one/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
