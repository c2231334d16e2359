import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

let cached: string | undefined;

/** The package version, from the package.json above the running code (any build folder), read once. */
export function version(): string {
  if (cached !== undefined) return cached;
  const found = readVersion();
  // A failed read (EMFILE in a master at its fd limit) is tried again next time, never cached.
  if (found !== undefined) cached = found;
  return found ?? '0.0.0-dev';
}

/**
 * The version of the package installed on disk now, read afresh: after an upgrade it differs
 * from version(), and new workers (forked from the files on disk) would run the new code.
 * Undefined when it cannot be read now (half-written during an upgrade, or no fd to spare).
 */
export function versionOnDisk(): string | undefined {
  return readVersion();
}

function readVersion(): string | undefined {
  for (let dir = dirname(fileURLToPath(import.meta.url)); dir !== dirname(dir); dir = dirname(dir)) {
    const file = join(dir, 'package.json');
    if (!existsSync(file)) continue;
    try {
      const pkg = JSON.parse(readFileSync(file, 'utf8')) as { name?: string; version?: string };
      return pkg.name === 'handoff' && pkg.version ? pkg.version : '0.0.0-dev';
    } catch {
      return undefined;
    }
  }
  return '0.0.0-dev';
}
