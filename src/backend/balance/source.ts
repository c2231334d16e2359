// Source hashing: the client's IP address picks the server on a consistent-hash ring, so a
// client sticks to one server while the set of usable servers is unchanged, and a server
// going down or coming back moves only its own share of clients.
import type { SelectionContext } from '../types.js';
import { ConsistentHashBalancer } from './consistent-hash.js';
import { hash32 } from './hash-ring.js';

// An IPv4 client seen on a dual-stack socket ("::ffff:10.0.0.1") is the same client as "10.0.0.1".
const MAPPED = '::ffff:';

export class SourceBalancer extends ConsistentHashBalancer {
  readonly algorithm = 'source' as const;

  protected hash(ctx: SelectionContext): number {
    const a = ctx.clientAddress;
    return hash32(a.startsWith(MAPPED) && a.includes('.') ? a.slice(MAPPED.length) : a);
  }
}
