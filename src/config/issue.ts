// A problem found in a config file, pointing at the line and column of the node at fault.

export interface ConfigIssue {
  readonly file: string;
  /** 1-based; 0 when the issue is about the file as a whole (e.g. it cannot be read). */
  readonly line: number;
  /** 1-based; 0 with line 0. */
  readonly col: number;
  /** Where in the document, e.g. "backends.app.servers[1].address"; "" for the document itself. */
  readonly path: string;
  readonly message: string;
}

/** One step into the document: a mapping key or a list index. */
export type PathSegment = string | number;

/** `FILE:LINE:COL: PATH: MESSAGE` (parts that do not apply are left out). */
export function formatIssue(issue: ConfigIssue): string {
  const where = issue.line > 0 ? `${issue.file}:${issue.line}:${issue.col}` : issue.file;
  return issue.path ? `${where}: ${issue.path}: ${issue.message}` : `${where}: ${issue.message}`;
}

/** "backends.app.servers[1].address"; keys that are not plain words are quoted: frontends["my web"]. */
export function formatPath(segments: readonly PathSegment[]): string {
  let out = '';
  for (const s of segments) {
    if (typeof s === 'number') out += `[${s}]`;
    else if (/^[A-Za-z0-9_-]+$/.test(s)) out += out ? `.${s}` : s;
    else out += `[${JSON.stringify(s)}]`;
  }
  return out;
}

/** Position order (file, line, column); issues at the same place keep the order they were found in. */
export function sortIssues(issues: readonly ConfigIssue[]): ConfigIssue[] {
  return issues
    .map((issue, index) => ({ issue, index }))
    .sort(
      (a, b) => a.issue.file.localeCompare(b.issue.file) || a.issue.line - b.issue.line || a.issue.col - b.issue.col || a.index - b.index,
    )
    .map((x) => x.issue);
}
