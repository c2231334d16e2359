// Which kind of reload a new config needs. Live (in place, in the running workers) whenever
// it can be; new worker processes only for what a running worker cannot change in itself:
//
//   unchanged  the config hash equals the one in force (and no restart was asked): nothing to do
//   process    --restart; another `workers` count; another handoff version on disk (new code);
//              another access log target or buffer (the log file is opened once per process;
//              log.format alone is applied live)
//   live       everything else: routes, rules, backends, servers, balancing, health, timeouts,
//              limits, error pages, binds added or removed, drain settings, TLS certificates
//              and settings (their files' bytes are in the hash; the workers build new
//              contexts at prepare, open TLS connections keep theirs),
//              TLS to servers (`tls`, CA files likewise) and tcp routes by sni
import type { Config } from '../config/types.js';
import { versionOnDisk } from '../lib/version.js';
import type { ReloadKind } from '../protocol/control.js';

export interface ReloadChoice {
  readonly kind: ReloadKind;
  /** Why, for the log and the answer. */
  readonly reason: string;
}

export function chooseReloadKind(
  current: Config,
  next: Config,
  o: { restart: boolean; runningVersion: string; diskVersion?: string },
): ReloadChoice {
  if (o.restart) return { kind: 'process', reason: 'restart requested' };
  // Unreadable now (an upgrade half-written, no fd to spare): judge by the config alone.
  const disk = o.diskVersion ?? versionOnDisk() ?? o.runningVersion;
  if (disk !== o.runningVersion) return { kind: 'process', reason: `handoff ${disk} on disk (running ${o.runningVersion})` };
  if (next.hash === current.hash && next.source === current.source) return { kind: 'unchanged', reason: 'same config' };
  if (next.workers !== current.workers) return { kind: 'process', reason: `workers ${current.workers} → ${next.workers}` };
  if (!sameAccessLogFile(current, next)) return { kind: 'process', reason: 'access log target changed' };
  return { kind: 'live', reason: 'config applied in place' };
}

/** Same access log destination and buffer: only `log.format` may differ in a live apply. */
function sameAccessLogFile(a: Config, b: Config): boolean {
  return JSON.stringify(a.log.target) === JSON.stringify(b.log.target) && a.log.buffer === b.log.buffer;
}

/** Whether two configs have the same stats listener (the master binds it once, at start). */
export function sameStats(a: Config, b: Config): boolean {
  return a.stats?.bind.key === b.stats?.bind.key;
}
