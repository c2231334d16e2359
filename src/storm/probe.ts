// The new-route phase's probes: N fresh requests (like the 30 curls of docs/origin.md) to the
// host the next config added, one at a time, each on a new connection so the kernel picks a
// listening socket anew. Each either reached the new backend, got a 503 (an old process
// that never heard of the host), some other status, another backend, or failed outright.
import type { ClientTls } from './client-tls.js';
import { failureKey } from './failure.js';
import { freshRequest } from './fresh-client.js';
import { describeTarget } from './routing.js';
import type { LoadTarget, ProbeReport, Routing } from './types.js';

export async function runProbes(
  ctx: { readonly now: () => number; readonly timeoutMs: number; readonly signal: AbortSignal; readonly tls?: ClientTls },
  targets: readonly LoadTarget[],
  expected: Routing,
  count: number,
): Promise<ProbeReport> {
  const names = new Set<string>();
  for (const t of targets) for (const n of expected.get(t.key) ?? []) names.add(n);
  let sent = 0;
  let reachedNew = 0;
  let status503 = 0;
  let wrongBackend = 0;
  const otherStatus: Record<string, number> = {};
  const failed: Record<string, number> = {};
  for (let i = 0; i < count && !ctx.signal.aborted; i++) {
    const target = targets[i % targets.length]!;
    const { outcome } = await freshRequest(ctx, target, `${target.path}/probe/${i}`);
    sent++;
    if (outcome.ok) {
      const allowed = expected.get(target.key);
      if (outcome.backend !== undefined && (allowed === null || allowed?.has(outcome.backend))) reachedNew++;
      else wrongBackend++;
    } else if (outcome.failure.kind === 'http-status') {
      if (outcome.failure.status === 503) status503++;
      else otherStatus[String(outcome.failure.status)] = (otherStatus[String(outcome.failure.status)] ?? 0) + 1;
    } else {
      const key = failureKey(outcome.failure);
      failed[key] = (failed[key] ?? 0) + 1;
    }
  }
  return {
    targets: targets.map(describeTarget),
    backend: [...names].sort().join(' or '),
    sent,
    reachedNew,
    status503,
    otherStatus,
    wrongBackend,
    failed,
  };
}
