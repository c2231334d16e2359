// The one place that knows every balancing policy: the algorithm named in the config
// becomes its Balancer. Kept apart from the contract (balancer.ts) so that the policies,
// which implement the contract, do not import the factory that imports them.
import type { BalanceAlgorithm } from '../../config/types.js';
import type { ServerRuntime } from '../server-runtime.js';
import type { Balancer } from './balancer.js';
import { LeastConnBalancer } from './leastconn.js';
import { RandomBalancer } from './random.js';
import { RoundRobinBalancer } from './roundrobin.js';
import { SourceBalancer } from './source.js';
import { UriBalancer } from './uri.js';

export function createBalancer(algorithm: BalanceAlgorithm, servers: readonly ServerRuntime[]): Balancer {
  switch (algorithm) {
    case 'roundrobin':
      return new RoundRobinBalancer(servers);
    case 'leastconn':
      return new LeastConnBalancer(servers);
    case 'random':
      return new RandomBalancer(servers);
    case 'source':
      return new SourceBalancer(servers);
    case 'uri':
      return new UriBalancer(servers);
  }
}
