// Normal servers apart from backup servers. Backups take traffic only while no normal
// server is usable (up, ready, weight > 0); then they are balanced like normal servers.
// Which tier is in use is cached and revalidated by stateEpoch(), so asking costs one
// integer compare per request.
import type { ServerState } from '../types.js';
import { stateEpoch, type ServerRuntime } from '../server-runtime.js';

export type Exclude = ReadonlySet<ServerState> | undefined;

export class ServerTiers {
  readonly normal: readonly ServerRuntime[];
  readonly backup: readonly ServerRuntime[];
  private seen = -1;
  private useBackup = false;

  constructor(servers: readonly ServerRuntime[]) {
    this.normal = servers.filter((s) => !s.config.backup);
    this.backup = servers.filter((s) => s.config.backup);
  }

  /** 0 while a normal server is usable, else 1 (backups): index for per-tier state. */
  currentIndex(): 0 | 1 {
    const e = stateEpoch();
    if (e !== this.seen) {
      this.seen = e;
      this.useBackup = !this.normal.some((s) => s.usable());
    }
    return this.useBackup ? 1 : 0;
  }

  /** The servers balanced now: normal ones, or backups when no normal server is usable. */
  current(): readonly ServerRuntime[] {
    return this.currentIndex() === 0 ? this.normal : this.backup;
  }

  /** True when the current tier has a usable server that is not excluded. */
  hasUsable(exclude: Exclude): boolean {
    for (const s of this.current()) if (s.usable() && !exclude?.has(s)) return true;
    return false;
  }

  /** True when the current tier has an available (below maxconn) server that is not excluded. */
  hasAvailable(exclude: Exclude): boolean {
    for (const s of this.current()) if (s.available() && !exclude?.has(s)) return true;
    return false;
  }
}

/** Usable, not excluded, not yet yielded: what every candidates() walk checks. */
export function eligible(s: ServerRuntime, exclude: Exclude, first: ServerRuntime | undefined): boolean {
  return s !== first && s.usable() && !exclude?.has(s);
}

/** Cross-multiplied active/weight comparison: true when a is strictly less loaded than b. */
export function lessLoaded(a: ServerRuntime, b: ServerRuntime): boolean {
  return a.active * b.config.weight < b.active * a.config.weight;
}

/** The usable, non-excluded servers other than `first`, least loaded first (stable). */
export function byLoad(list: readonly ServerRuntime[], exclude: Exclude, first: ServerRuntime | undefined): ServerRuntime[] {
  const rest = list.filter((s) => eligible(s, exclude, first));
  return rest.sort((a, b) => a.active * b.config.weight - b.active * a.config.weight);
}
