// Every client connection a worker holds is registered here, with its state, so that a
// drain can ask each one to go (close or migrate at its next safe point), status can count
// them by state, and nothing is ever forgotten at the deadline.
import type { ConnectionState } from '../protocol/counters.js';

export type LeaveMode = 'close' | 'migrate';

export interface ClientConnection {
  readonly id: number;
  readonly frontend: string;
  readonly state: ConnectionState;
  /**
   * A drain asks the connection to leave at its next safe point: 'close' = Connection:
   * close on the response in flight and close when idle (tunnels run on until the
   * deadline); 'migrate' = hand itself to the new generation when idle (tunnels at once).
   * The connection unregisters itself when it is gone, whichever way.
   */
  leave(mode: LeaveMode, sameConfig: boolean): void;
  /** Close now: the drain deadline passed or the worker stops. */
  kill(): void;
}

/** 'handed-over': a TLS handshake that became an HttpConnection (src/worker/tls-accept.ts); not an end, not counted. */
export type ConnectionEnd = 'closed' | 'migrated' | 'killed' | 'handed-over';

export class ConnectionRegistry {
  private readonly live = new Set<ClientConnection>();
  private nextId = 1;
  private emptyWaiters: (() => void)[] = [];
  /** How connections left once a drain began: counted for the reload's report. */
  readonly ends = { migrated: 0, closed: 0, killed: 0 };
  private draining: LeaveMode | undefined;
  private drainSameConfig = false;
  private readonly perFrontend = new Map<string, number>();
  /** Called after a connection left (frontend limits admit the next waiting one). */
  onRemoved: ((frontend: string) => void) | undefined;

  newId(): number {
    return this.nextId++;
  }

  get size(): number {
    return this.live.size;
  }

  /** Connections of one frontend now in this worker. */
  countFor(frontend: string): number {
    return this.perFrontend.get(frontend) ?? 0;
  }

  add(conn: ClientConnection): void {
    this.live.add(conn);
    this.perFrontend.set(conn.frontend, (this.perFrontend.get(conn.frontend) ?? 0) + 1);
    // A connection that arrives while draining (adopted, or accepted just before the
    // listener closed) is asked to go at once.
    if (this.draining) conn.leave(this.draining, this.drainSameConfig);
  }

  /**
   * `next` takes over `prev`'s place (an HTTP connection that became a tunnel): neither
   * counted as an end nor as a new connection; a draining registry asks it to leave.
   */
  replace(prev: ClientConnection, next: ClientConnection): void {
    if (!this.live.delete(prev)) return;
    this.live.add(next);
    if (this.draining) next.leave(this.draining, this.drainSameConfig);
  }

  remove(conn: ClientConnection, how: ConnectionEnd): void {
    if (!this.live.delete(conn)) return;
    this.perFrontend.set(conn.frontend, (this.perFrontend.get(conn.frontend) ?? 1) - 1);
    if (this.draining && how !== 'handed-over') this.ends[how]++;
    this.onRemoved?.(conn.frontend);
    if (this.live.size === 0) for (const w of this.emptyWaiters.splice(0)) w();
  }

  countByState(): Record<ConnectionState, number> {
    const counts: Record<ConnectionState, number> = { reading: 0, waiting: 0, writing: 0, idle: 0, tunnel: 0, closing: 0 };
    for (const c of this.live) counts[c.state]++;
    return counts;
  }

  /**
   * Ask every connection (and every later one) to leave. `sameConfig`: the generation taking
   * over runs the same config, so an answer from here is the answer it would give.
   */
  askAllToLeave(mode: LeaveMode, sameConfig = false): void {
    this.draining = mode;
    this.drainSameConfig = sameConfig;
    for (const c of [...this.live]) c.leave(mode, sameConfig);
  }

  killAll(): void {
    for (const c of [...this.live]) c.kill();
  }

  /** Resolves once no connection is left. */
  whenEmpty(): Promise<void> {
    if (this.live.size === 0) return Promise.resolve();
    return new Promise((resolve) => this.emptyWaiters.push(resolve));
  }
}
