// Reloads counted for the life of the master (the reload history keeps only the last 20,
// which is not a counter): by kind and outcome, with a duration histogram per kind and the
// time of the last success.
import { RELOAD_BUCKETS, newHistogram, observe, type Histogram } from '../observe/histogram.js';
import type { ReloadRecord, ReloadTotals } from '../protocol/control.js';

/** A reload that failed before its kind was chosen (an invalid config, a file it could not write). */
const NO_KIND = 'none';

export class ReloadMetrics {
  private readonly counts = new Map<string, number>();
  private readonly durations = new Map<string, Histogram>();
  private lastSuccessAt: number | undefined;
  private lastFailureAt: number | undefined;

  /** A reload run ended (ok or failed). */
  ended(r: ReloadRecord): void {
    if (r.outcome === 'running') return;
    const kind = r.kind ?? NO_KIND;
    const key = `${kind} ${r.outcome}`;
    this.counts.set(key, (this.counts.get(key) ?? 0) + 1);
    let h = this.durations.get(kind);
    if (!h) {
      h = newHistogram(RELOAD_BUCKETS);
      this.durations.set(kind, h);
    }
    observe(h, RELOAD_BUCKETS, r.durationMs / 1000);
    const at = r.requestedAt + r.durationMs;
    if (r.outcome === 'ok') this.lastSuccessAt = at;
    else this.lastFailureAt = at;
  }

  report(startedAt: number): ReloadTotals {
    return {
      byKindOutcome: [...this.counts].map(([k, count]) => {
        const [kind, outcome] = k.split(' ') as [string, string];
        return { kind, outcome, count };
      }),
      duration: Object.fromEntries(this.durations),
      // The first config put in force (at start) counts as the first success.
      lastSuccessAt: this.lastSuccessAt ?? startedAt,
      ...(this.lastFailureAt !== undefined ? { lastFailureAt: this.lastFailureAt } : {}),
    };
  }
}
