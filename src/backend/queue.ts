// The maxconn wait queue of one backend: requests that found every usable server at
// maxconn wait here in arrival order until a slot is offered to them.
//
//   const q = new WaitQueue<Ticket, Slot>({ backend: 'app', timeoutMs: 5000, maxLength: 100 });
//   const slot = await q.wait(ticket, signal);   // rejects QUEUE_FULL / QUEUE_TIMEOUT / CLIENT_ABORT
//   q.serve((w) => { w.grant(slot); return true; });   // on release: offer, oldest first
//   q.rejectAll(err);                             // shutdown
//
// Bounds: every waiter has its own timer (timeoutMs; 0 = do not wait at all), an optional
// AbortSignal (the client went away), and beyond maxLength new arrivals are turned away at
// once. So no waiter ever waits without a bound. A doubly linked list keeps removal O(1)
// for timeouts and aborts in the middle of the queue.
import { HandoffError } from '../lib/errors.js';
import type { QueueCounters } from './types.js';

export interface QueueOptions {
  /** Backend name, for error messages. */
  readonly backend: string;
  /** Longest wait (timeouts.queue) in milliseconds. */
  readonly timeoutMs: number;
  /** maxqueue: waiters allowed at once; undefined = no limit on the count. */
  readonly maxLength?: number;
}

/** One waiting request, as serve() sees it. */
export interface Waiting<C, T> {
  readonly ticket: C;
  /** Date.now() when it started waiting. */
  readonly enqueuedAt: number;
  /** Hand it a value: it leaves the queue and its promise resolves. */
  grant(value: T): void;
  /** Turn it away: it leaves the queue and its promise rejects. */
  fail(err: Error): void;
}

class Waiter<C, T> implements Waiting<C, T> {
  prev: Waiter<C, T> | undefined;
  next: Waiter<C, T> | undefined;
  timer: NodeJS.Timeout | undefined;
  onAbort: (() => void) | undefined;
  settled = false;
  readonly enqueuedAt = Date.now();

  constructor(
    private readonly queue: WaitQueue<C, T>,
    readonly ticket: C,
    private readonly signal: AbortSignal | undefined,
    private readonly resolve: (value: T) => void,
    private readonly reject: (err: Error) => void,
  ) {}

  grant(value: T): void {
    if (this.finish()) this.resolve(value);
  }

  fail(err: Error): void {
    if (this.finish()) this.reject(err);
  }

  /** Leave the queue and drop the timer and abort listener; false if already settled. */
  private finish(): boolean {
    if (this.settled) return false;
    this.settled = true;
    clearTimeout(this.timer);
    if (this.onAbort) this.signal?.removeEventListener('abort', this.onAbort);
    this.queue.unlink(this);
    return true;
  }
}

export class WaitQueue<C, T> {
  private head: Waiter<C, T> | undefined;
  private tail: Waiter<C, T> | undefined;
  private size = 0;
  private readonly count = { queued: 0, timeouts: 0, full: 0, aborted: 0 };
  private options: QueueOptions;

  constructor(options: QueueOptions) {
    this.options = options;
  }

  /** A live apply changed timeouts.queue or maxqueue: new arrivals use them; waiters keep their deadline. */
  reconfigure(options: QueueOptions): void {
    this.options = options;
  }

  get length(): number {
    return this.size;
  }

  get counters(): QueueCounters {
    return { ...this.count };
  }

  /** Wait for serve() to grant a value. Rejects with QUEUE_FULL, QUEUE_TIMEOUT or CLIENT_ABORT. */
  wait(ticket: C, signal?: AbortSignal): Promise<T> {
    const { backend, timeoutMs, maxLength } = this.options;
    if (signal?.aborted) {
      this.count.aborted++;
      return Promise.reject(aborted(backend));
    }
    if (maxLength !== undefined && this.size >= maxLength) {
      this.count.full++;
      return Promise.reject(
        new HandoffError(
          'HANDOFF_ERR_QUEUE_FULL',
          'server',
          `backend ${backend}: every server is at maxconn and the queue is full (maxqueue ${maxLength})`,
        ),
      );
    }
    if (!(timeoutMs > 0)) {
      this.count.timeouts++;
      return Promise.reject(timedOut(backend, 0));
    }
    return new Promise<T>((resolve, reject) => {
      const w = new Waiter<C, T>(this, ticket, signal, resolve, reject);
      this.count.queued++;
      this.append(w);
      w.timer = setTimeout(() => {
        this.count.timeouts++;
        w.fail(timedOut(backend, timeoutMs));
      }, timeoutMs);
      if (signal) {
        w.onAbort = () => {
          this.count.aborted++;
          w.fail(aborted(backend));
        };
        signal.addEventListener('abort', w.onAbort, { once: true });
      }
    });
  }

  /**
   * Visit the waiters oldest first. `visit` may grant or fail the waiter it is given and
   * returns whether to go on to the next one (false: nothing more to offer).
   */
  serve(visit: (w: Waiting<C, T>) => boolean): void {
    let w = this.head;
    // Bounded: each waiter is visited at most once, and waiters added meanwhile (there are
    // none: promise callbacks run later) would not be reached before `end`.
    const end = this.tail;
    while (w) {
      const next = w.next;
      const last = w === end;
      if (!visit(w)) return;
      if (last) return;
      w = next;
    }
  }

  /** Turn every waiter away (shutdown). */
  rejectAll(err: Error): void {
    while (this.head) this.head.fail(err);
  }

  private append(w: Waiter<C, T>): void {
    w.prev = this.tail;
    if (this.tail) this.tail.next = w;
    else this.head = w;
    this.tail = w;
    this.size++;
  }

  /** For Waiter only. */
  unlink(w: Waiter<C, T>): void {
    if (w.prev) w.prev.next = w.next;
    else if (this.head === w) this.head = w.next;
    else return; // not linked
    if (w.next) w.next.prev = w.prev;
    else this.tail = w.prev;
    w.prev = w.next = undefined;
    this.size--;
  }
}

function timedOut(backend: string, ms: number): HandoffError {
  return new HandoffError('HANDOFF_ERR_QUEUE_TIMEOUT', 'server', `backend ${backend}: no server slot within ${ms}ms (timeouts.queue)`);
}

function aborted(backend: string): HandoffError {
  return new HandoffError('HANDOFF_ERR_CLIENT_ABORT', 'client', `backend ${backend}: the client went away while queued`);
}
