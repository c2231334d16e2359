// Which config was in force when. A response is checked against every config that could
// have served it: a request in flight while the switch to the next config runs may be
// answered by either; one sent after the reload command returned must follow the new
// config (invariant I6, docs/design.md).
import type { Routing } from './types.js';

interface Version {
  readonly routing: Routing;
  /** ms (monotonic clock) from which this config may answer: its reload was requested. */
  readonly from: number;
  /** ms from which it may no longer answer: the next reload returned. */
  until: number;
}

export class RouteHistory {
  private readonly versions: Version[];

  constructor(initial: Routing) {
    this.versions = [{ routing: initial, from: -Infinity, until: Infinity }];
  }

  /** A reload to `routing` was requested at `at`. Returns a function to call once it has returned. */
  switchTo(routing: Routing, at: number): { done(at: number): void; failed(): void } {
    const previous = this.versions[this.versions.length - 1]!;
    const version: Version = { routing, from: at, until: Infinity };
    this.versions.push(version);
    return {
      done: (t) => {
        previous.until = t;
      },
      failed: () => {
        // never in force: it may not have answered anything
        version.until = version.from;
      },
    };
  }

  /** Names allowed to answer `key` for a request sent at start and answered at end; null = not checked. */
  allowed(key: string, start: number, end: number): ReadonlySet<string> | null {
    const out = new Set<string>();
    for (const v of this.versions) {
      if (v.from > end || v.until < start || v.until === v.from) continue;
      const names = v.routing.get(key);
      if (names === undefined) continue;
      if (names === null) return null;
      for (const n of names) out.add(n);
    }
    return out;
  }
}
