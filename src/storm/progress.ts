// The live progress line on a terminal: rewritten in place a few times a second, cleared
// before the report is printed.
import type { StormProgress } from './storm.js';

export function progressLine(p: StormProgress): string {
  const listen = p.listen === undefined ? '-' : p.listen.join('/');
  return `storm ${(p.elapsedMs / 1000).toFixed(1)}s ${p.phase}  reloads ${p.reloads}/${p.reloadsPlanned}  requests ${p.sent} ok ${p.ok} failed ${p.failed}  listen ${listen}  processes ${p.processes ?? '-'}`;
}

export class ProgressLine {
  private shown = false;

  constructor(private readonly stream: NodeJS.WriteStream) {}

  update(p: StormProgress): void {
    const width = Math.max(40, (this.stream.columns || 120) - 1);
    this.stream.write(`\r\x1b[2K${progressLine(p).slice(0, width)}`);
    this.shown = true;
  }

  clear(): void {
    if (this.shown) this.stream.write('\r\x1b[2K');
    this.shown = false;
  }
}
