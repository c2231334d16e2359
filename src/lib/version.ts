import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

let cached: string | undefined;

/** The package version, from the package.json above the running code (any build folder), read once. */
export function version(): string {
  cached ??= versionOnDisk();
  return cached;
}

/**
 * The version of the package installed on disk now, read afresh: after an upgrade it differs
 * from version(), and new workers (forked from the files on disk) would run the new code.
 */
export function versionOnDisk(): string {
  let found = '0.0.0-dev';
  for (let dir = dirname(fileURLToPath(import.meta.url)); dir !== dirname(dir); dir = dirname(dir)) {
    const file = join(dir, 'package.json');
    if (!existsSync(file)) continue;
    try {
      const pkg = JSON.parse(readFileSync(file, 'utf8')) as { name?: string; version?: string };
      if (pkg.name === 'handoff' && pkg.version) found = pkg.version;
    } catch {
      // Half-written during an upgrade: treat as unknown (a process reload picks up whatever is there).
      found = 'unreadable';
    }
    break;
  }
  return found;
}
