// Counters that only grow, whatever happens to the processes that counted them.
//
// Each worker counts from zero and reports on request (src/protocol/counters.ts). Summing the
// workers alive, as status did, goes back at every process reload and every crash: Prometheus
// sees a counter reset and rate() spikes. The archive keeps, per worker, the newest counters
// it reported, and when the worker's process is gone (its IPC channel closed, so its last
// message has been read) adds them to the totals of the exited workers. Totals are those
// plus every worker still tracked, so each counter is monotonic across live reloads,
// process reloads and crashes.
//
// Where the newest counters come from: a draining worker sends its final counters with its
// 'drained' message (nothing is lost at a graceful exit), and the master samples every
// worker every SAMPLE_INTERVAL_MS (and at each status), so a worker that is SIGKILLed or
// crashes loses at most the traffic of one interval: never counts already reported.
//
// Within one worker a counter can go back only when a live apply removes a server or
// backend and a later one adds it again (its count restarts): the archive then keeps the
// count it had seen as an offset, as Prometheus' rate() would. A counter missing from a
// report (its server removed) keeps its last value.
import { counterVector, inflateTotals, type CounterVector, type LifetimeTotals, type WorkerCounters } from '../protocol/counters.js';
import type { WorkerProcess } from './worker-process.js';

/** How often the master asks every worker for its counters (what a crash can lose at most). */
export const SAMPLE_INTERVAL_MS = 1000;

interface TrackedWorker {
  readonly worker: WorkerProcess;
  /** The report last folded in (an object identity: each report is a new object). */
  folded: WorkerCounters | undefined;
  /** Its counters as last reported (keys missing from a later report keep their value). */
  raw: CounterVector;
  /** Counts seen before a counter of this worker restarted. */
  readonly offset: CounterVector;
}

export class CounterArchive {
  /** The sum over every worker that exited. Bounded by the number of distinct keys (config names), not by workers. */
  private readonly exited: CounterVector = new Map();
  private readonly tracked = new Map<number, TrackedWorker>();
  private sampler: NodeJS.Timeout | undefined;

  /** Follow a worker from its start: its counters count until the master stops. */
  track(worker: WorkerProcess): void {
    this.tracked.set(worker.pid, { worker, folded: undefined, raw: new Map(), offset: new Map() });
    // 'close' comes after 'exit' and after the IPC channel closed: its final message is in.
    worker.child.once('close', () => this.retire(worker.pid));
  }

  /** Ask every tracked worker for its counters every intervalMs (the answers land in worker.lastCounters). */
  startSampling(intervalMs = SAMPLE_INTERVAL_MS): void {
    if (this.sampler) return;
    this.sampler = setInterval(() => {
      for (const t of this.tracked.values())
        if (t.worker.state === 'ready' || t.worker.state === 'draining') void t.worker.counters(intervalMs);
    }, intervalMs);
    this.sampler.unref();
  }

  stopSampling(): void {
    clearInterval(this.sampler);
    this.sampler = undefined;
  }

  /** Every counter since the master started. */
  totals(): LifetimeTotals {
    const sum: CounterVector = new Map(this.exited);
    for (const t of this.tracked.values()) {
      this.fold(t);
      addInto(sum, t.raw);
      addInto(sum, t.offset);
    }
    return inflateTotals(sum);
  }

  /** Workers whose counters are still followed (alive, or exited with their channel not yet closed). */
  get trackedCount(): number {
    return this.tracked.size;
  }

  private retire(pid: number): void {
    const t = this.tracked.get(pid);
    if (!t) return;
    this.fold(t);
    this.tracked.delete(pid);
    addInto(this.exited, t.raw);
    addInto(this.exited, t.offset);
  }

  private fold(t: TrackedWorker): void {
    const c = t.worker.lastCounters;
    if (!c || c === t.folded) return;
    t.folded = c;
    const next = counterVector(c);
    for (const [k, prev] of t.raw) {
      const n = next.get(k);
      if (n === undefined) next.set(k, prev);
      else if (n < prev) t.offset.set(k, (t.offset.get(k) ?? 0) + prev);
    }
    t.raw = next;
  }
}

function addInto(into: CounterVector, v: CounterVector): void {
  for (const [k, n] of v) into.set(k, (into.get(k) ?? 0) + n);
}
