// Least connections: the available server with the fewest active slots relative to its
// weight (active/weight, compared by cross-multiplying). Ties go round robin: the scan
// starts after the last pick and only a strictly lower load replaces the best so far.
// Fallbacks: the other usable servers, least loaded first.
import type { SelectionContext, ServerState } from '../types.js';
import type { ServerRuntime } from '../server-runtime.js';
import type { Balancer } from './balancer.js';
import { byLoad, lessLoaded, ServerTiers } from './tiers.js';

export class LeastConnBalancer implements Balancer {
  readonly algorithm = 'leastconn' as const;
  private readonly tiers: ServerTiers;
  private readonly next: [number, number] = [0, 0];

  constructor(servers: readonly ServerRuntime[]) {
    this.tiers = new ServerTiers(servers);
  }

  hasUsable(exclude?: ReadonlySet<ServerState>): boolean {
    return this.tiers.hasUsable(exclude);
  }

  pick(_ctx: SelectionContext, exclude?: ReadonlySet<ServerState>): ServerRuntime | undefined {
    const tier = this.tiers.currentIndex();
    const list = tier === 0 ? this.tiers.normal : this.tiers.backup;
    const n = list.length;
    const start = this.next[tier] % Math.max(n, 1);
    let best: ServerRuntime | undefined;
    let bestIndex = -1;
    for (let k = 0; k < n; k++) {
      const i = (start + k) % n;
      const s = list[i]!;
      if (!s.available() || exclude?.has(s)) continue;
      if (best === undefined || lessLoaded(s, best)) {
        best = s;
        bestIndex = i;
      }
    }
    if (best !== undefined) this.next[tier] = bestIndex + 1;
    return best;
  }

  *candidates(ctx: SelectionContext, exclude?: ReadonlySet<ServerState>): Iterable<ServerRuntime> {
    const first = this.pick(ctx, exclude);
    if (first) yield first;
    yield* byLoad(this.tiers.current(), exclude, first);
  }
}
