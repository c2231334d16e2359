// The common part of `source` and `uri`: a hash ring per tier (normal, backup) and a key
// per request. The first choice is the first available server on the ring from the key's
// hash: the same key keeps going to the same server while the set of usable servers stays
// (a full server passes the request on to the next one on the ring). Fallbacks: the rest of
// the ring walk.
import type { BalanceAlgorithm } from '../../config/types.js';
import type { SelectionContext, ServerState } from '../types.js';
import type { ServerRuntime } from '../server-runtime.js';
import type { Balancer } from './balancer.js';
import { HashRing } from './hash-ring.js';
import { ServerTiers } from './tiers.js';

export abstract class ConsistentHashBalancer implements Balancer {
  abstract readonly algorithm: BalanceAlgorithm;
  private readonly tiers: ServerTiers;
  private readonly rings: [HashRing, HashRing];

  constructor(servers: readonly ServerRuntime[]) {
    this.tiers = new ServerTiers(servers);
    this.rings = [new HashRing(this.tiers.normal), new HashRing(this.tiers.backup)];
  }

  /** The 32-bit hash of what this algorithm keys on. */
  protected abstract hash(ctx: SelectionContext): number;

  hasUsable(exclude?: ReadonlySet<ServerState>): boolean {
    return this.tiers.hasUsable(exclude);
  }

  pick(ctx: SelectionContext, exclude?: ReadonlySet<ServerState>): ServerRuntime | undefined {
    return this.rings[this.tiers.currentIndex()].pick(this.hash(ctx), exclude);
  }

  *candidates(ctx: SelectionContext, exclude?: ReadonlySet<ServerState>): Iterable<ServerRuntime> {
    const ring = this.rings[this.tiers.currentIndex()];
    const hash = this.hash(ctx);
    const first = ring.pick(hash, exclude);
    if (first) yield first;
    yield* ring.walk(hash, exclude, first);
  }
}
