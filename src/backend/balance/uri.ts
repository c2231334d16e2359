// URI hashing: the request path (without the query string) picks the server on a
// consistent-hash ring with virtual nodes weighted by weight, so a path keeps hitting the
// same server (cache locality) and adding or removing one server of N moves only about 1/N
// of the paths.
import type { SelectionContext } from '../types.js';
import { ConsistentHashBalancer } from './consistent-hash.js';
import { hash32 } from './hash-ring.js';

export class UriBalancer extends ConsistentHashBalancer {
  readonly algorithm = 'uri' as const;

  protected hash(ctx: SelectionContext): number {
    const uri = ctx.uri;
    const q = uri.indexOf('?');
    return hash32(uri, q < 0 ? uri.length : q);
  }
}
