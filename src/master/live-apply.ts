// A live apply across the workers of the active generation: a two-phase commit.
//
//   prepare on every worker ──all prepared──▶ commit on every worker ──all committed──▶ done
//          └── one fails or does not answer within PREPARE_TIMEOUT_MS ──▶ abort on every worker
//
// Nothing is in force anywhere until every worker has compiled the config and holds the
// sockets of the binds it adds, so a failed apply leaves every worker exactly as it was
// (invariant I5); after the commit step, each worker serves the new config from its
// connections' next request (I8). The cost is one IPC round trip per step per worker:
// it does not depend on the number of connections.
import type { HealthSnapshot } from '../backend/types.js';
import type { Config } from '../config/types.js';
import { HandoffError } from '../lib/errors.js';
import type { ListenerRegistry } from './listener-registry.js';
import type { WorkerProcess } from './worker-process.js';

/** Bound on a worker's prepare (compile + receive sockets): past it the apply aborts. */
export const PREPARE_TIMEOUT_MS = 3000;
/** Bound on a worker's commit answer. */
export const COMMIT_TIMEOUT_MS = 3000;

let nextApplyId = 1;

export interface ApplyRequest {
  readonly generation: number;
  readonly config: Config;
  readonly health: HealthSnapshot;
  readonly listeners: ListenerRegistry;
}

export interface ApplyOutcome {
  /** Workers whose commit did not answer (they are brought up to date or replaced by the caller). */
  readonly lagging: readonly WorkerProcess[];
}

/** The listener keys a config needs. */
export function listenerKeysOf(config: Config): string[] {
  return config.frontends.flatMap((f) => f.binds.map((b) => b.key));
}

/**
 * Prepare then commit `req` on `workers`. Rejects (HANDOFF_ERR_APPLY_FAILED, naming each
 * worker that failed and why) after aborting everywhere if any worker cannot prepare.
 */
export async function applyToWorkers(workers: readonly WorkerProcess[], req: ApplyRequest): Promise<ApplyOutcome> {
  const id = nextApplyId++;
  const keys = listenerKeysOf(req.config);
  const prepared = await Promise.allSettled(
    // async: a missing socket rejects this worker's prepare (and so aborts everywhere)
    // instead of throwing past the workers already asked to prepare.
    workers.map(async (w) => {
      const added = keys
        .filter((k) => !w.listenerKeys.has(k))
        .map((key) => {
          const l = req.listeners.get(key);
          if (!l) throw new Error(`no listening socket for ${key}`);
          return { key, handle: l.handle };
        });
      return w.prepare(id, req.generation, req.config, req.health, added, PREPARE_TIMEOUT_MS);
    }),
  );
  const failures = prepared.flatMap((r) => (r.status === 'rejected' ? [(r.reason as Error).message] : []));
  if (failures.length > 0) {
    for (const w of workers) w.abort(id);
    throw new HandoffError(
      'HANDOFF_ERR_APPLY_FAILED',
      'config',
      `live apply of generation ${req.generation} aborted: ${failures.join('; ')}`,
    );
  }
  const committed = await Promise.allSettled(workers.map((w) => w.commit(id, keys, COMMIT_TIMEOUT_MS)));
  return { lagging: workers.filter((_w, i) => committed[i]!.status === 'rejected') };
}
