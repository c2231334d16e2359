// Periodic samples while the storm runs: LISTEN sockets per frontend address (from
// /proc/net/tcp{,6}) and the target's processes alive (ProcessTracker). The samples are
// kept (up to a cap) for --json; the per-address summary is always exact.
import type { SocketAddress } from '../config/types.js';
import { readListenTable } from '../doctor/proc-net.js';
import { countListeners } from './listen-count.js';
import type { ProcessTracker } from './process-tracker.js';
import type { Sample } from './types.js';

const MAX_KEPT = 20_000;
/** Backstop: no storm runs this many samples. */
const MAX_SAMPLES = 10_000_000;

export interface AddressSummary {
  readonly address: string;
  min: number;
  max: number;
  notOne: number;
}

export class Sampler {
  readonly samples: Sample[] = [];
  readonly perAddress: AddressSummary[];
  count = 0;
  maxAlive = 0;
  latest: Sample | undefined;
  private timer: NodeJS.Timeout | undefined;
  private running = false;

  constructor(
    private readonly frontends: readonly SocketAddress[],
    private readonly tracker: ProcessTracker,
    private readonly everyMs: number,
    private readonly now: () => number,
    private readonly procRoot = '/proc',
  ) {
    this.perAddress = frontends.map((f) => ({ address: f.key, min: Infinity, max: 0, notOne: 0 }));
  }

  /** Update the process tracker without recording a sample (before and after the measured run). */
  async refresh(): Promise<void> {
    this.tracker.update(countListeners((await readListenTable(this.procRoot)).listening, this.frontends).inodes);
  }

  /** Take one sample now: also how the tracker learns about new processes between samples. */
  async sample(): Promise<Sample> {
    const { counts, inodes } = countListeners((await readListenTable(this.procRoot)).listening, this.frontends);
    this.tracker.update(inodes);
    const s: Sample = { t: Math.round(this.now()), listen: counts, processes: this.tracker.aliveProcesses().length };
    this.count++;
    this.latest = s;
    if (this.samples.length < MAX_KEPT) this.samples.push(s);
    this.maxAlive = Math.max(this.maxAlive, s.processes);
    counts.forEach((n, i) => {
      const a = this.perAddress[i]!;
      a.min = Math.min(a.min, n);
      a.max = Math.max(a.max, n);
      if (n !== 1) a.notOne++;
    });
    return s;
  }

  start(): void {
    this.running = true;
    const tick = async () => {
      if (!this.running || this.count >= MAX_SAMPLES) return;
      const started = this.now();
      await this.sample();
      if (this.running) this.timer = setTimeout(() => void tick(), Math.max(0, started + this.everyMs - this.now()));
    };
    void tick();
  }

  stop(): void {
    this.running = false;
    if (this.timer) clearTimeout(this.timer);
  }
}
