// Live apply inside a worker, in two steps the master drives for every worker at once:
//
//   prepare(config) ──compiled beside the one in force──▶ prepared ──commit──▶ in force
//                                                            └──abort──▶ dropped (no trace)
//
// prepare compiles everything a request will need (routers, header rules, error pages,
// timeouts, the servers new to this config with their health) and touches nothing in
// force: a failure here aborts the reload everywhere and the running config stays.
// commit is synchronous and cheap: backends take over the live state by identity (servers
// by backend + name + address: health, slots, counters, pooled connections; the wait queue
// by backend name), and the frontends in force are swapped in one assignment. No
// connection is closed, moved or paused: each picks the new config at its next request
// (invariants I8, I9 in docs/design.md).
import type { Config } from '../config/types.js';
import { BackendRuntime } from '../backend/backend-runtime.js';
import { healthKey } from '../backend/health-key.js';
import { ServerRuntime } from '../backend/server-runtime.js';
import type { HealthKey, HealthSnapshot, StateChange } from '../backend/types.js';
import type { Logger } from '../observe/logger.js';
import type { CompiledFrontend, ConfigVersion, LiveConfig, WorkerContext } from './context.js';
import { HttpFrontend } from './http-frontend.js';
import { TcpFrontend } from './tcp-frontend.js';

/** A config compiled and waiting for commit (or abort). */
export interface PreparedConfig {
  readonly version: ConfigVersion;
  readonly frontends: ReadonlyMap<string, CompiledFrontend>;
  /** Servers new to this config, created (with their health) at prepare. */
  readonly created: ReadonlyMap<HealthKey, ServerRuntime>;
}

export interface CompileOptions {
  readonly config: Config;
  readonly generation: number;
  readonly ctx: WorkerContext;
  /** The config in force, if any (none for a worker's first config). */
  readonly current: LiveConfig | undefined;
  readonly health: HealthSnapshot | undefined;
  readonly backendLog: Logger | undefined;
}

/** Compile a config beside the one in force. Throws (with the cause) if it cannot be compiled. */
export function prepareConfig(o: CompileOptions): PreparedConfig {
  const version: ConfigVersion = { generation: o.generation, config: o.config, backends: new Map() };
  const created = new Map<HealthKey, ServerRuntime>();
  for (const b of o.config.backends) {
    const previous = o.current?.version.backends.get(b.name);
    for (const s of b.servers) {
      const key = healthKey(b.name, s);
      if (previous?.server(s.name)?.key === key) continue;
      const server = new ServerRuntime(s, b.name, {
        initial: b.health ? 'starting' : 'up',
        ...(o.backendLog ? { logger: o.backendLog } : {}),
      });
      const known = o.health?.servers[key];
      if (known) server.setState({ operational: known.operational }, { kind: 'snapshot' }, known.since);
      created.set(key, server);
    }
  }
  const frontends = new Map<string, CompiledFrontend>();
  for (const f of o.config.frontends) {
    frontends.set(f.name, f.mode === 'tcp' ? new TcpFrontend(f, version, o.ctx) : new HttpFrontend(f, version, o.ctx));
  }
  return { version, frontends, created };
}

/** Health decided while a config waits for commit reaches its new servers too. */
export function applyHealthToPrepared(prepared: PreparedConfig, change: StateChange): void {
  prepared.created
    .get(`${change.backend}/${change.server}@${change.address}`)
    ?.setState({ operational: change.to.operational }, change.cause);
}

export interface CommitOptions {
  readonly ctx: WorkerContext;
  readonly backendLog: Logger | undefined;
  /** Subscribed to every backend in force (passive health for the master). */
  readonly onStateChange: ((change: StateChange) => void) | undefined;
  /** Standalone (no master): this process runs the active health checks. */
  readonly runHealthChecks: boolean;
}

/** Put a prepared config in force. Synchronous: no request sees half of it. */
export function commitConfig(prepared: PreparedConfig, o: CommitOptions): LiveConfig {
  const { ctx } = o;
  const previous = ctx.live?.version.backends;
  const backends = prepared.version.backends;
  const successor = (name: string) => ctx.live.version.backends.get(name);
  for (const b of prepared.version.config.backends) {
    const rt = new BackendRuntime(b, {
      ...(o.backendLog ? { logger: o.backendLog } : {}),
      ...(previous?.get(b.name) ? { previous: previous.get(b.name)! } : {}),
      created: prepared.created,
      successor,
    });
    if (o.onStateChange) rt.onStateChange(o.onStateChange);
    if (o.runHealthChecks) rt.startHealthChecks();
    backends.set(b.name, rt);
  }
  if (previous) for (const [name, old] of previous) if (!backends.has(name)) old.remove();
  const live: LiveConfig = { version: prepared.version, frontends: prepared.frontends };
  ctx.live = live;
  // Queued requests are offered the new server set now: another server, or the 503 page at
  // once when none is left; never a wait for a server that is gone.
  for (const b of backends.values()) b.serveQueue();
  ctx.pool.closeRetired();
  return live;
}
