// The YAML document behind a config, kept so that any path into the data can be turned back
// into the line:col of the node the user wrote (yaml's LineCounter maps offsets to lines).
import { isAlias, isMap, isPair, isScalar, isSeq, LineCounter, parseDocument, type Document, type Node, type Pair } from 'yaml';
import { formatPath, type ConfigIssue, type PathSegment } from './issue.js';

/** What an issue points at: a mapping key, the value at the path, or the enclosing node (missing keys). */
export type Target = 'key' | 'value' | 'node';

export class YamlSource {
  /** The document as plain data (what the schema validates); undefined when the YAML does not parse. */
  readonly data: unknown;

  private constructor(
    readonly file: string,
    private readonly doc: Document,
    private readonly lines: LineCounter,
  ) {
    this.data = doc.errors.length === 0 ? doc.toJS({ maxAliasCount: 1000 }) : undefined;
  }

  /** Parse text; syntax errors and duplicate keys come back as issues. */
  static parse(text: string, file: string): { source: YamlSource; errors: ConfigIssue[]; warnings: ConfigIssue[] } {
    const lines = new LineCounter();
    // uniqueKeys off: duplicates are found below, with the path and the first occurrence in the message.
    const doc = parseDocument(text, { lineCounter: lines, uniqueKeys: false, prettyErrors: false, strict: true });
    const source = new YamlSource(file, doc, lines);
    const textLines = text.split('\n');
    const errors = doc.errors.map((e) => {
      // yaml reports an unterminated quoted string at the end of the file; point at where it opens.
      const quote = /Missing closing (["'])quote/.exec(e.message)?.[1];
      const opening = quote === undefined ? -1 : text.lastIndexOf(quote, e.pos[0] - 1);
      if (opening >= 0) return source.issueAtOffset(opening, `YAML syntax error: missing closing ${quote} for the string that starts here`);
      const lineText = textLines[lines.linePos(e.pos[0]).line - 1] ?? '';
      return source.issueAtOffset(e.pos[0], `YAML syntax error: ${yamlMessage(e.message, lineText)}`);
    });
    const warnings = doc.warnings.map((e) => source.issueAtOffset(e.pos[0], `YAML: ${e.message}`));
    if (errors.length === 0) source.findDuplicateKeys(doc.contents, [], errors);
    return { source, errors, warnings };
  }

  /** An issue at the node a path leads to; for 'node' and missing keys, the deepest node that exists. */
  issueAt(path: readonly PathSegment[], target: Target, message: string): ConfigIssue {
    return { ...this.position(path, target), path: formatPath(path), message };
  }

  position(path: readonly PathSegment[], target: Target): { file: string; line: number; col: number } {
    let node: unknown = this.doc.contents;
    let offset = rangeStart(node) ?? 0;
    for (let i = 0; i < path.length; i++) {
      node = this.resolve(node);
      const seg = path[i]!;
      const last = i === path.length - 1;
      let next: unknown;
      if (isMap(node)) {
        const pair = node.items.find((p) => keyText(p) === String(seg));
        if (!pair) break;
        if (last && target === 'key') {
          offset = rangeStart(pair.key) ?? offset;
          break;
        }
        // A key with nothing after the colon has no value node: point at the key.
        next = pair.value ?? undefined;
        const start = rangeStart(next) ?? rangeStart(pair.key);
        if (start === undefined) break;
        offset = start;
        if (next === undefined) break;
      } else if (isSeq(node)) {
        next = node.items[Number(seg)];
        const start = rangeStart(next);
        if (start === undefined) break;
        offset = start;
      } else {
        break;
      }
      node = next;
    }
    const { line, col } = this.lines.linePos(offset);
    return { file: this.file, line, col };
  }

  private issueAtOffset(offset: number, message: string): ConfigIssue {
    const { line, col } = this.lines.linePos(offset);
    return { file: this.file, line, col, path: '', message };
  }

  private resolve(node: unknown): unknown {
    return isAlias(node) ? node.resolve(this.doc) : node;
  }

  private findDuplicateKeys(node: unknown, path: PathSegment[], out: ConfigIssue[]): void {
    if (isMap(node)) {
      const seen = new Map<string, Pair>();
      for (const pair of node.items) {
        const key = keyText(pair);
        const first = seen.get(key);
        if (first) {
          const at = this.lines.linePos(rangeStart(first.key) ?? 0);
          const { line, col } = this.lines.linePos(rangeStart(pair.key) ?? 0);
          out.push({
            file: this.file,
            line,
            col,
            path: formatPath([...path, key]),
            message: `duplicate key "${key}" (first at line ${at.line})`,
          });
        } else {
          seen.set(key, pair);
        }
        this.findDuplicateKeys(pair.value, [...path, key], out);
      }
    } else if (isSeq(node)) {
      for (const [i, item] of node.items.entries()) this.findDuplicateKeys(item, [...path, i], out);
    }
  }
}

function keyText(pair: unknown): string {
  if (!isPair(pair)) return '';
  const key = pair.key;
  if (isScalar(key)) return String(key.value);
  return String(key);
}

function rangeStart(node: unknown): number | undefined {
  if (node && typeof node === 'object' && 'range' in node) {
    const range = (node as Node).range;
    if (range) return range[0];
  }
  return undefined;
}

function yamlMessage(message: string, lineText: string): string {
  if (/multiple documents/i.test(message)) return 'a config file holds one YAML document; this is the start of a second one';
  // An unquoted IPv6 address ("bind: [::1]:8080") reads as a YAML list followed by junk.
  const hint = /(^|[\s:,-])\[[0-9A-Fa-f:.]*:[0-9A-Fa-f:.]*\]:\d/.test(lineText) ? ' (quote IPv6 addresses: "[::1]:8080")' : '';
  return `${message.replace(/\s+/g, ' ').trim()}${hint}`;
}
