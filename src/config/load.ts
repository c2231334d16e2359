// Loading a config: YAML (with positions) → schema → semantic checks → the frozen model.
// Every problem is collected and reported at once, sorted by position, so one `handoff check`
// run shows everything to fix.
import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { dirname, isAbsolute, resolve } from 'node:path';
import type { Config } from './types.js';
import type { RawConfig } from './file-types.js';
import { deepFreeze } from './deep-freeze.js';
import { sortIssues, type ConfigIssue, type PathSegment } from './issue.js';
import { normalizeConfig } from './normalize.js';
import { validateSchema } from './schema-validator.js';
import { checkSemantics } from './semantic-checks.js';
import { checkRedirects } from './redirect.js';
import { loadFrontendTls } from './tls.js';
import { YamlSource, type Target } from './yaml-source.js';

export { formatIssue, type ConfigIssue } from './issue.js';

export type LoadResult = { ok: true; config: Config; warnings: ConfigIssue[] } | { ok: false; errors: ConfigIssue[] };

/** Load and validate a config file; relative paths in it are relative to its folder. */
export async function loadConfig(file: string): Promise<LoadResult> {
  let bytes: Buffer;
  try {
    bytes = await readFile(file);
  } catch (err) {
    return { ok: false, errors: [{ file, line: 0, col: 0, path: '', message: `cannot read the config file: ${(err as Error).message}` }] };
  }
  return loadBytes(bytes, file, dirname(resolve(file)));
}

/**
 * Load a config from text (the built-in demo builds its config this way). `file` names it in
 * messages (and becomes Config.source: resolved to an absolute path unless it looks like
 * "<demo>"); relative paths in it are resolved against baseDir.
 */
export async function loadConfigText(text: string, file: string, baseDir: string): Promise<LoadResult> {
  return loadBytes(Buffer.from(text, 'utf8'), file, baseDir);
}

async function loadBytes(bytes: Buffer, file: string, baseDir: string): Promise<LoadResult> {
  const parsed = YamlSource.parse(bytes.toString('utf8'), file);
  if (parsed.errors.length > 0 || parsed.source.data === undefined) return { ok: false, errors: sortIssues(parsed.errors) };
  const { source } = parsed;
  const errors: ConfigIssue[] = [...parsed.errors];
  const warnings: ConfigIssue[] = [...parsed.warnings];

  for (const p of validateSchema(source.data)) errors.push(source.issueAt(p.path, p.target, p.message));
  const reporter = {
    error: (path: PathSegment[], target: Target, message: string) => errors.push(source.issueAt(path, target, message)),
    warning: (path: PathSegment[], target: Target, message: string) => warnings.push(source.issueAt(path, target, message)),
  };
  const files = await checkSemantics(source.data, baseDir, reporter);
  // TLS (issue 11): certificates and keys are read and checked here, by the master, and their
  // bytes join the config hash (a renewed certificate is a change to apply).
  const tls = await loadFrontendTls(source.data, baseDir, reporter);
  for (const [path, content] of tls.files) files.set(path, content);
  checkRedirects(source.data, reporter);
  if (errors.length > 0) return { ok: false, errors: sortIssues(dedupe(errors)) };

  const config = normalizeConfig(source.data as RawConfig, {
    source: file.startsWith('<') || isAbsolute(file) ? file : resolve(file),
    hash: configHash(bytes, files),
    baseDir,
    files,
    tls: tls.frontends,
  });
  return { ok: true, config: deepFreeze(config), warnings: sortIssues(warnings) };
}

/** First 12 hex chars of sha256 over the file and every file it references (in path order). */
function configHash(bytes: Buffer, files: ReadonlyMap<string, Buffer>): string {
  const hash = createHash('sha256').update(bytes);
  for (const path of [...files.keys()].sort()) hash.update(files.get(path)!);
  return hash.digest('hex').slice(0, 12);
}

/** The same message at the same place once (a value can fail in the schema and in a check the same way). */
function dedupe(issues: ConfigIssue[]): ConfigIssue[] {
  const seen = new Set<string>();
  return issues.filter((i) => {
    const key = `${i.line}:${i.col}:${i.path}:${i.message}`;
    if (seen.has(key)) return false;
    seen.add(key);
    return true;
  });
}
