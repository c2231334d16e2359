// Server health for the whole service lives in the master: one set of active checks per
// backend (not one per worker and generation, which would multiply the probes), a state
// per server that survives reloads, and every change broadcast to the workers. A new
// generation starts with the current snapshot, so a server known down stays down and a
// known-up server gets traffic at once; servers new in a reload are checked before the
// generation starts, so a backend added by a reload serves from the first request, but a
// reload waits FIRST_CHECK_WAIT_MS at most: a server whose first check has not answered by
// then stays `starting` (no traffic) until its first check passes, so a check that never
// answers cannot hold a reload, and the reloads queued behind it. stop() ends every check
// and every wait at once.
import type { Backend, Config } from '../config/types.js';
import { HealthChecker } from '../backend/health-check.js';
import { healthKey } from '../backend/health-key.js';
import type { HealthKey, HealthSnapshot, OperationalState, StateCause, StateChange } from '../backend/types.js';
import type { Logger } from '../observe/logger.js';

/** The longest a reload (or the start) waits for the first check of servers it adds. */
export const FIRST_CHECK_WAIT_MS = 1000;

interface Tracked {
  backend: string;
  server: string;
  address: string;
  operational: OperationalState;
  since: number;
}

function fingerprint(b: Backend): string {
  // tls included: a checker made for other TLS settings is replaced by a live apply.
  return JSON.stringify([b.name, b.health, b.servers.map((s) => [s.name, s.address.key, s.tls ?? null])]);
}

export class HealthService {
  private readonly states = new Map<HealthKey, Tracked>();
  private readonly checkers = new Map<string, HealthChecker>();
  private waiters: (() => void)[] = [];
  private stopped = false;

  constructor(
    private readonly log: Logger,
    private readonly broadcast: (changes: StateChange[]) => void,
  ) {}

  snapshot(): HealthSnapshot {
    const servers: Record<string, { operational: OperationalState; since: number }> = {};
    for (const [k, t] of this.states) servers[k] = { operational: t.operational, since: t.since };
    return { servers };
  }

  /**
   * Start the checks `config` needs that are not running yet (a reload may still fail:
   * nothing is stopped here, see commit). Resolves once every server that has never been
   * checked has a first result, or after FIRST_CHECK_WAIT_MS (it stays `starting`), or at stop().
   */
  async prepare(config: Config): Promise<void> {
    if (this.stopped) return;
    const pending: HealthKey[] = [];
    for (const b of config.backends) {
      if (!b.health) continue;
      for (const s of b.servers) {
        const key = healthKey(b.name, s);
        if (!this.states.has(key))
          this.states.set(key, { backend: b.name, server: s.name, address: s.address.key, operational: 'starting', since: Date.now() });
        if (this.states.get(key)!.operational === 'starting') pending.push(key);
      }
      const fp = fingerprint(b);
      if (this.checkers.has(fp)) continue;
      const checker = new HealthChecker(b, {
        applyState: (key, op, cause) => this.applyState(key, op, cause),
        currentState: (key) => this.states.get(key)?.operational,
      });
      this.checkers.set(fp, checker.start());
    }
    if (pending.length === 0) return;
    const deadline = Date.now() + FIRST_CHECK_WAIT_MS;
    while (!this.stopped && pending.some((k) => this.states.get(k)?.operational === 'starting') && Date.now() < deadline) {
      await new Promise<void>((resolve) => {
        const t = setTimeout(resolve, Math.max(1, deadline - Date.now()));
        this.waiters.push(() => {
          clearTimeout(t);
          resolve();
        });
      });
    }
  }

  /** `config` is the one in force: stop the checks and forget the servers it does not have. */
  commit(config: Config): void {
    const wanted = new Set(config.backends.filter((b) => b.health).map(fingerprint));
    for (const [fp, checker] of this.checkers) {
      if (!wanted.has(fp)) {
        checker.stop();
        this.checkers.delete(fp);
      }
    }
    const keys = new Set(config.backends.filter((b) => b.health).flatMap((b) => b.servers.map((s) => healthKey(b.name, s))));
    for (const k of this.states.keys()) if (!keys.has(k)) this.states.delete(k);
  }

  /** A result from a check, or a passive failure reported by a worker. */
  applyState(key: HealthKey, operational: OperationalState, cause: StateCause): void {
    const t = this.states.get(key);
    if (!t || t.operational === operational) return;
    const change: StateChange = {
      backend: t.backend,
      server: t.server,
      address: t.address,
      from: { operational: t.operational, admin: 'ready' },
      to: { operational, admin: 'ready' },
      cause,
      at: Date.now(),
    };
    t.operational = operational;
    t.since = change.at;
    const detail = 'detail' in cause ? cause.detail : undefined;
    this.log[operational === 'down' ? 'warn' : 'info']('server state changed', {
      backend: t.backend,
      server: t.server,
      address: t.address,
      from: change.from.operational,
      to: operational,
      cause: cause.kind,
      detail,
    });
    this.broadcast([change]);
    for (const w of this.waiters.splice(0)) w();
  }

  /** A worker saw consecutive connection failures: with active checks, the server is down for everyone until its checks rise. */
  passive(change: StateChange): void {
    const key = `${change.backend}/${change.server}@${change.address}`;
    if (!this.states.has(key)) return; // no active checks: the worker's own cooldown handles it
    this.applyState(key, change.to.operational, change.cause);
  }

  /** End every check (sockets destroyed, timers cleared) and every wait in prepare(), for good. */
  stop(): void {
    this.stopped = true;
    for (const c of this.checkers.values()) c.stop();
    this.checkers.clear();
    for (const w of this.waiters.splice(0)) w();
  }
}
