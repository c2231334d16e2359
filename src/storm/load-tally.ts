// What the clients saw, counted as it happens: requests sent and ok per client kind,
// failures by kind (with the first few as examples), latencies overall and in the second
// after each reload. Answers are checked here against the routing in force (RouteHistory):
// a 2xx from a backend the config does not route the host to is a failure too.
import { failure, failureKey } from './failure.js';
import { LatencySeries } from './latency-series.js';
import type { RouteHistory } from './route-history.js';
import { describeTarget } from './routing.js';
import type { ClientKind, ClientTotals, FailureExample, LoadTarget, Outcome } from './types.js';

const MAX_EXAMPLES = 20;
/** "In the second after each reload". */
export const AFTER_RELOAD_MS = 1000;

type LoadKind = Exclude<ClientKind, 'probe'>;

class ClientCounters {
  sent = 0;
  ok = 0;
  failed = 0;
  closedIdle = 0;
  readonly latency = new LatencySeries();

  totals(): ClientTotals {
    return { sent: this.sent, ok: this.ok, failed: this.failed, closedIdle: this.closedIdle, latency: this.latency.summary() };
  }
}

export class LoadTally {
  private readonly clients: Record<LoadKind, ClientCounters> = {
    keepalive: new ClientCounters(),
    fresh: new ClientCounters(),
    websocket: new ClientCounters(),
  };
  readonly overall = new LatencySeries();
  readonly afterReload = new LatencySeries();
  readonly byKind = new Map<string, number>();
  readonly examples: FailureExample[] = [];
  private readonly reloadTimes: number[] = [];

  constructor(private readonly history: RouteHistory) {}

  /** A reload was requested at `at` (ms since the start). */
  noteReload(at: number): void {
    this.reloadTimes.push(at);
  }

  noteClosedIdle(kind: LoadKind): void {
    this.clients[kind].closedIdle++;
  }

  /**
   * Count one request sent at `start` and finished at `end` (ms since the start). An ok
   * answer from a backend outside the routing in force becomes a wrong-backend failure.
   * Returns the outcome as counted.
   */
  record(kind: LoadKind, target: LoadTarget, start: number, end: number, outcome: Outcome): Outcome {
    const c = this.clients[kind];
    c.sent++;
    let counted = outcome;
    if (outcome.ok && outcome.backend !== undefined) {
      const allowed = this.history.allowed(target.key, start, end);
      if (allowed !== null && !allowed.has(outcome.backend)) {
        const expected = allowed.size === 0 ? 'no backend (not routed)' : [...allowed].sort().join(' or ');
        counted = {
          ok: false,
          failure: failure('wrong-backend', `answered by ${outcome.backend}, the config in force routes it to ${expected}`),
        };
      }
    }
    if (counted.ok) {
      c.ok++;
      c.latency.add(counted.latencyMs);
      this.overall.add(counted.latencyMs);
      if (this.withinAfterReload(start)) this.afterReload.add(counted.latencyMs);
    } else {
      c.failed++;
      const key = failureKey(counted.failure);
      this.byKind.set(key, (this.byKind.get(key) ?? 0) + 1);
      if (this.examples.length < MAX_EXAMPLES) {
        this.examples.push({ at: Math.round(start), client: kind, target: describeTarget(target), key, detail: counted.failure.detail });
      }
    }
    return counted;
  }

  private withinAfterReload(start: number): boolean {
    // the latest reload requested at or before `start` (reload times only grow)
    let lo = 0;
    let hi = this.reloadTimes.length - 1;
    let found = -1;
    while (lo <= hi) {
      const mid = (lo + hi) >> 1;
      if (this.reloadTimes[mid]! <= start) {
        found = mid;
        lo = mid + 1;
      } else hi = mid - 1;
    }
    return found >= 0 && start - this.reloadTimes[found]! <= AFTER_RELOAD_MS;
  }

  totals(): Record<LoadKind, ClientTotals> {
    return { keepalive: this.clients.keepalive.totals(), fresh: this.clients.fresh.totals(), websocket: this.clients.websocket.totals() };
  }

  get sent(): number {
    return this.clients.keepalive.sent + this.clients.fresh.sent + this.clients.websocket.sent;
  }

  get ok(): number {
    return this.clients.keepalive.ok + this.clients.fresh.ok + this.clients.websocket.ok;
  }

  get failed(): number {
    return this.sent - this.ok;
  }
}
