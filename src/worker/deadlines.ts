// Connection timeouts without a timer per request. Node's http pays for a timer per
// request and per socket; here each connection just stores an absolute deadline (cheap to
// move on every chunk), and one sweep every TICK_MS calls onDeadline() on the connections
// whose deadline has passed. Deadlines are set from `now`, which may be up to one tick
// behind the real clock, so a deadline only counts as passed one tick after it: a timeout
// never fires early, and at most two ticks late, far below any sensible timeout value.
export const TICK_MS = 100;

export interface HasDeadline {
  /** Epoch ms after which onDeadline() is called; 0 = none. */
  deadline: number;
  onDeadline(now: number): void;
}

export class DeadlineSweeper {
  /** A clock updated every tick: reading it costs nothing on the hot path. */
  now = Date.now();
  private readonly members = new Set<HasDeadline>();
  private timer: NodeJS.Timeout | undefined;

  add(m: HasDeadline): void {
    this.members.add(m);
    if (!this.timer) {
      this.now = Date.now();
      this.timer = setInterval(this.sweep, TICK_MS);
    }
  }

  delete(m: HasDeadline): void {
    this.members.delete(m);
    if (this.members.size === 0 && this.timer) {
      clearInterval(this.timer);
      this.timer = undefined;
    }
  }

  private readonly sweep = () => {
    const now = Date.now();
    this.now = now;
    for (const m of this.members) {
      if (m.deadline !== 0 && now - TICK_MS >= m.deadline) m.onDeadline(now);
    }
  };
}
