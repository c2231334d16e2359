// Config files written to a fresh temp folder, for tests that need exact line numbers.
import { mkdtemp, mkdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { loadConfig, type ConfigIssue, type LoadResult } from '../../src/config/load.js';

const dirs: string[] = [];

/** Write `lines` (joined with "\n") as NAME in a new temp folder, plus any extra files; returns the config's path. */
export async function writeConfig(lines: string[] | string, extra: Record<string, string> = {}, name = 'handoff.yaml'): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'handoff-cfg-'));
  dirs.push(dir);
  for (const [rel, text] of Object.entries(extra)) {
    await mkdir(dirname(join(dir, rel)), { recursive: true });
    await writeFile(join(dir, rel), text);
  }
  const file = join(dir, name);
  await writeFile(file, Array.isArray(lines) ? `${lines.join('\n')}\n` : lines);
  return file;
}

export async function loadLines(
  lines: string[] | string,
  extra: Record<string, string> = {},
): Promise<{ file: string; result: LoadResult }> {
  const file = await writeConfig(lines, extra);
  return { file, result: await loadConfig(file) };
}

/** The errors of a load that must have failed. */
export function errorsOf(result: LoadResult): ConfigIssue[] {
  if (result.ok) throw new Error('expected the config to be rejected, it loaded');
  return result.errors;
}

export async function removeTempConfigs(): Promise<void> {
  await Promise.all(dirs.splice(0).map((d) => rm(d, { recursive: true, force: true })));
}
