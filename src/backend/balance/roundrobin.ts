// Smooth weighted round robin, as nginx does it: each pick adds every eligible server's
// weight to its running score, takes the highest score and subtracts the total from it.
// Weights 2,1 give a,b,a,a,b,a...: the heavy server never runs 3 in a row, and over
// sum(weights) picks each server gets exactly its weight.
// Only available servers (below maxconn, not excluded) take part, so a full server does not
// lose its turn to a request it could not take. Fallbacks: the other usable servers in
// config order, starting after the first choice.
import type { SelectionContext, ServerState } from '../types.js';
import type { ServerRuntime } from '../server-runtime.js';
import type { Balancer } from './balancer.js';
import { eligible, ServerTiers, type Exclude } from './tiers.js';

export class RoundRobinBalancer implements Balancer {
  readonly algorithm = 'roundrobin' as const;
  private readonly tiers: ServerTiers;
  private readonly scores: [Float64Array, Float64Array];
  private readonly last: [number, number] = [-1, -1];

  constructor(servers: readonly ServerRuntime[]) {
    this.tiers = new ServerTiers(servers);
    this.scores = [new Float64Array(this.tiers.normal.length), new Float64Array(this.tiers.backup.length)];
  }

  hasUsable(exclude?: ReadonlySet<ServerState>): boolean {
    return this.tiers.hasUsable(exclude);
  }

  pick(_ctx: SelectionContext, exclude?: ReadonlySet<ServerState>): ServerRuntime | undefined {
    const tier = this.tiers.currentIndex();
    const list = tier === 0 ? this.tiers.normal : this.tiers.backup;
    const score = this.scores[tier];
    let total = 0;
    let best = -1;
    for (let i = 0; i < list.length; i++) {
      const s = list[i]!;
      if (!s.available() || exclude?.has(s)) continue;
      const w = s.config.weight;
      score[i]! += w;
      total += w;
      if (best < 0 || score[i]! > score[best]!) best = i;
    }
    if (best < 0) return undefined;
    score[best]! -= total;
    this.last[tier] = best;
    return list[best];
  }

  *candidates(ctx: SelectionContext, exclude?: ReadonlySet<ServerState>): Iterable<ServerRuntime> {
    const first = this.pick(ctx, exclude);
    if (first) yield first;
    yield* this.fallbacks(first, exclude);
  }

  private *fallbacks(first: ServerRuntime | undefined, exclude: Exclude): Generator<ServerRuntime> {
    const tier = this.tiers.currentIndex();
    const list = tier === 0 ? this.tiers.normal : this.tiers.backup;
    const start = this.last[tier] + 1;
    for (let k = 0; k < list.length; k++) {
      const s = list[(start + k) % list.length]!;
      if (eligible(s, exclude, first)) yield s;
    }
  }
}
