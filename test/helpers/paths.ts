import { fileURLToPath } from 'node:url';
import { dirname, join } from 'node:path';
import { existsSync } from 'node:fs';

/** The dist folder these tests were compiled into (dist/ or any --outDir). */
export const distRoot = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
/** `node <entry> <command> ...` runs the handoff CLI of this build. */
export const entry = join(distRoot, 'src', 'cli', 'entry.js');
function findRepoRoot(): string {
  // dist/ normally sits in the repository; a build into another --outDir runs from the repo.
  for (let dir = distRoot; dir !== dirname(dir); dir = dirname(dir)) {
    if (existsSync(join(dir, 'package.json'))) return dir;
  }
  return process.cwd();
}

/** The repository root (where package.json, examples/ and test/fixtures live). */
export const repoRoot = findRepoRoot();
export const fixtures = join(repoRoot, 'test', 'fixtures');
