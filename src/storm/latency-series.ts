// Latencies for percentiles with bounded memory: every value up to a cap, then a uniform
// reservoir sample of them (the max stays exact).
import type { LatencySummary } from './types.js';

const CAP = 200_000;

export class LatencySeries {
  private values = new Float64Array(1024);
  private stored = 0;
  private seen = 0;
  private maxValue = -Infinity;

  add(ms: number): void {
    this.seen++;
    if (ms > this.maxValue) this.maxValue = ms;
    if (this.stored < CAP) {
      if (this.stored === this.values.length) {
        const bigger = new Float64Array(Math.min(CAP, this.values.length * 2));
        bigger.set(this.values);
        this.values = bigger;
      }
      this.values[this.stored++] = ms;
      return;
    }
    const slot = Math.floor(Math.random() * this.seen);
    if (slot < CAP) this.values[slot] = ms;
  }

  get count(): number {
    return this.seen;
  }

  summary(): LatencySummary {
    if (this.stored === 0) return { count: 0, p50: null, p99: null, max: null };
    const sorted = this.values.slice(0, this.stored).sort();
    const at = (q: number) => round(sorted[Math.min(sorted.length - 1, Math.ceil(q * sorted.length) - 1)]!);
    return { count: this.seen, p50: at(0.5), p99: at(0.99), max: round(this.maxValue) };
  }
}

function round(ms: number): number {
  return Math.round(ms * 100) / 100;
}
