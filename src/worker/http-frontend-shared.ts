// What an HTTP connection needs from its frontend (HttpFrontend implements it). An interface
// of its own so that the engine (http-connection.ts, exchange.ts) does not import the
// frontend that creates it.
import type { Limits, Route, Frontend } from '../config/types.js';
import type { ConfigVersion, WorkerContext } from './context.js';
import type { DeadlineSweeper } from './deadlines.js';
import type { CompiledRules } from './header-rules.js';
import type { ParseLimits } from './http/limits.js';
import type { Router } from './router.js';
import type { UpstreamPool } from './upstream-pool.js';

export interface HttpFrontendShared {
  readonly config: Frontend;
  readonly version: ConfigVersion;
  readonly ctx: WorkerContext;
  readonly router: Router;
  readonly limits: ParseLimits & Pick<Limits, 'pipeline'>;
  readonly frontendRules: CompiledRules;
  readonly pool: UpstreamPool;
  readonly sweeper: DeadlineSweeper;
  routeRules(route: Route): CompiledRules;
  nextRequestId(): string;
  /** This frontend as compiled for the config in force now; undefined if a live apply removed it. */
  latest(): HttpFrontendShared | undefined;
}
