import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

let cached: string | undefined;

/** The package version, from the package.json above the running code (any build folder). */
export function version(): string {
  if (cached !== undefined) return cached;
  let found = '0.0.0-dev';
  for (let dir = dirname(fileURLToPath(import.meta.url)); dir !== dirname(dir); dir = dirname(dir)) {
    const file = join(dir, 'package.json');
    if (!existsSync(file)) continue;
    let pkg: { name?: string; version?: string };
    try {
      pkg = JSON.parse(readFileSync(file, 'utf8')) as typeof pkg;
    } catch {
      return found; // e.g. EMFILE in a master at its fd limit: try again next time, never cache a guess
    }
    if (pkg.name === 'handoff' && pkg.version) found = pkg.version;
    break;
  }
  cached = found;
  return cached;
}
