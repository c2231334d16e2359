// Reload requests at a fixed rate (every intervalMs, on a schedule that does not drift),
// whether or not the previous one has been answered: that is what an operator's script
// or a control plane does. handoff coalesces what arrives during a run; HAProxy and nginx
// get one signal per tick. In-flight requests are bounded so a stuck master cannot pile
// them up without limit.
import type { ReloadAnswer } from './proxy.js';

export interface StormResult {
  readonly requested: number;
  readonly answered: number;
  readonly failed: number;
  /** Requests not sent because maxInFlight were still unanswered. */
  readonly skipped: number;
  readonly firstFailures: readonly string[];
  /** handoff: the config generation after the first and the last answered reload. */
  readonly generations?: { readonly first: number; readonly last: number };
  /** handoff: answers by kind (live, process, unchanged). */
  readonly kinds: Readonly<Record<string, number>>;
  /** Request-to-answer time of each answered reload (handoff: new config in force). */
  readonly latencyMs: readonly number[];
  /** handoff: the master's own duration of each answered run (durationMs). */
  readonly masterMs: readonly number[];
}

export interface RunningStorm {
  stop(): Promise<StormResult>;
}

/** `reload` is one reload request (a signal, or a control request that changes the config). */
export function startReloadStorm(reload: () => Promise<ReloadAnswer>, intervalMs: number, maxInFlight = 20): RunningStorm {
  const started = performance.now();
  const inFlight = new Set<Promise<void>>();
  const latencyMs: number[] = [];
  const masterMs: number[] = [];
  const kinds: Record<string, number> = {};
  const firstFailures: string[] = [];
  let requested = 0;
  let answered = 0;
  let failed = 0;
  let skipped = 0;
  let firstGen: number | undefined;
  let lastGen: number | undefined;
  let stopped = false;
  let timer: NodeJS.Timeout | undefined;

  const fire = () => {
    if (inFlight.size >= maxInFlight) {
      skipped++;
      return;
    }
    requested++;
    const t0 = performance.now();
    const p = reload().then(
      (a) => {
        answered++;
        latencyMs.push(performance.now() - t0);
        if (a.durationMs !== undefined) masterMs.push(a.durationMs);
        if (a.kind !== undefined) kinds[a.kind] = (kinds[a.kind] ?? 0) + 1;
        if (a.generation !== undefined) {
          firstGen ??= a.generation;
          lastGen = Math.max(lastGen ?? 0, a.generation);
        }
      },
      (err: Error) => {
        failed++;
        if (firstFailures.length < 5) firstFailures.push(err.message.split('\n')[0] ?? '');
      },
    );
    const tracked = p.finally(() => inFlight.delete(tracked));
    inFlight.add(tracked);
  };
  const tick = (k: number) => {
    if (stopped) return;
    fire();
    timer = setTimeout(() => tick(k + 1), Math.max(0, started + (k + 1) * intervalMs - performance.now()));
  };
  tick(0);

  return {
    async stop() {
      stopped = true;
      clearTimeout(timer);
      await Promise.all([...inFlight]);
      return {
        requested,
        answered,
        failed,
        skipped,
        firstFailures,
        generations: firstGen === undefined ? undefined : { first: firstGen, last: lastGen ?? firstGen },
        kinds,
        latencyMs,
        masterMs,
      };
    },
  };
}
