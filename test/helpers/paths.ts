import { fileURLToPath } from 'node:url';
import { dirname, join } from 'node:path';

/** The dist folder these tests were compiled into (dist/ or any --outDir). */
export const distRoot = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
/** `node <entry> <command> ...` runs the handoff CLI of this build. */
export const entry = join(distRoot, 'src', 'cli', 'entry.js');
/** The repository root (where package.json, examples/ and test/fixtures live). */
export const repoRoot = join(distRoot, '..');
export const fixtures = join(repoRoot, 'test', 'fixtures');
