// Random with two choices: draw two different available servers at random, in proportion
// to their weights, and take the less loaded (active/weight). Cheap, needs no shared
// state, and steers away from a loaded server without herding onto one.
// Fallbacks: the other usable servers, least loaded first.
import type { SelectionContext, ServerState } from '../types.js';
import type { ServerRuntime } from '../server-runtime.js';
import type { Balancer } from './balancer.js';
import { byLoad, lessLoaded, ServerTiers, type Exclude } from './tiers.js';

export class RandomBalancer implements Balancer {
  readonly algorithm = 'random' as const;
  private readonly tiers: ServerTiers;
  private readonly random: () => number;

  /** `random` returns [0, 1) like Math.random (the default); injectable for reproducible runs. */
  constructor(servers: readonly ServerRuntime[], random: () => number = Math.random) {
    this.tiers = new ServerTiers(servers);
    this.random = random;
  }

  hasUsable(exclude?: ReadonlySet<ServerState>): boolean {
    return this.tiers.hasUsable(exclude);
  }

  pick(_ctx: SelectionContext, exclude?: ReadonlySet<ServerState>): ServerRuntime | undefined {
    const list = this.tiers.current();
    let total = 0;
    let count = 0;
    for (const s of list) {
      if (!s.available() || exclude?.has(s)) continue;
      total += s.config.weight;
      count++;
    }
    if (count === 0) return undefined;
    const a = draw(list, exclude, undefined, this.random() * total);
    if (count === 1 || a === undefined) return a;
    const b = draw(list, exclude, a, this.random() * (total - a.config.weight));
    if (b === undefined) return a;
    return lessLoaded(b, a) ? b : a;
  }

  *candidates(ctx: SelectionContext, exclude?: ReadonlySet<ServerState>): Iterable<ServerRuntime> {
    const first = this.pick(ctx, exclude);
    if (first) yield first;
    yield* byLoad(this.tiers.current(), exclude, first);
  }
}

/** The available, non-excluded server (other than `skip`) at `point` of the weight line. */
function draw(list: readonly ServerRuntime[], exclude: Exclude, skip: ServerRuntime | undefined, point: number): ServerRuntime | undefined {
  let last: ServerRuntime | undefined;
  for (const s of list) {
    if (s === skip || !s.available() || exclude?.has(s)) continue;
    last = s;
    point -= s.config.weight;
    if (point < 0) return s;
  }
  return last; // floating-point edge: the point fell on the very end
}
