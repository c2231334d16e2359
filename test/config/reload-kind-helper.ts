// The reload kind the master would choose between two configs loaded from files (same folder).
import { chooseReloadKind } from '../../src/master/reload-kind.js';
import type { ReloadKind } from '../../src/protocol/control.js';
import { loadLines } from './temp-config.js';
import { loadConfig } from '../../src/config/load.js';
import { writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';

/** Load `a` (with files), then rewrite the same file as `b` (files `bFiles` written over) and choose. */
export async function chooseKind(
  a: string[],
  b: string[],
  files: Record<string, string>,
  bFiles: Record<string, string> = {},
): Promise<ReloadKind> {
  const { file, result: first } = await loadLines(a, files);
  if (!first.ok) throw new Error('first config invalid');
  await writeFile(file, `${b.join('\n')}\n`);
  for (const [rel, text] of Object.entries(bFiles)) await writeFile(join(dirname(file), rel), text);
  const second = await loadConfig(file);
  if (!second.ok) throw new Error('second config invalid');
  return chooseReloadKind(first.config, second.config, { restart: false, runningVersion: 'x', diskVersion: 'x' }).kind;
}
