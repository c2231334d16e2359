// The balancing contract. A balancer orders the servers of one backend for one request:
//
//   for (const s of balancer.candidates(ctx, exclude)) ...   // first choice, then fallbacks
//   const s = balancer.pick(ctx, exclude);                     // hot path: first available one
//
// candidates() yields usable servers (up, ready, weight > 0) that are not excluded, each at
// most once: first the server pick() would choose (when one is below maxconn), then the
// others in the algorithm's order (these may be at maxconn: worth queueing for). Normal
// servers only; backups only while no normal server is usable, in the same algorithm's
// order. pick() allocates nothing and counts as a selection (advances round-robin state);
// the iterator is lazy, so an unconsumed candidates() call changes nothing.
import type { BalanceAlgorithm } from '../../config/types.js';
import type { SelectionContext, ServerState } from '../types.js';
import type { ServerRuntime } from '../server-runtime.js';

export interface Balancer {
  readonly algorithm: BalanceAlgorithm;
  /** Usable, non-excluded servers in preference order: first choice, then fallbacks; each once. */
  candidates(ctx: SelectionContext, exclude?: ReadonlySet<ServerState>): Iterable<ServerRuntime>;
  /** The first available (usable and below maxconn) non-excluded candidate, or undefined. */
  pick(ctx: SelectionContext, exclude?: ReadonlySet<ServerState>): ServerRuntime | undefined;
  /** True when candidates() would yield at least one server. */
  hasUsable(exclude?: ReadonlySet<ServerState>): boolean;
}
