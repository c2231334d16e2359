// What every benchmark needs from a proxy under test (handoff, HAProxy, nginx), so that
// the same measurement runs against each of them.
import { processTree } from './proc-stat.js';
import type { ServiceProcess } from './service-process.js';

export interface ReloadAnswer {
  /** handoff: how the master applied it (live, process, unchanged); others: undefined. */
  readonly kind?: 'live' | 'process' | 'unchanged';
  /** handoff: the generation now active; others: undefined (a signal has no answer). */
  readonly generation?: number;
  /** handoff: the master's own duration of the run; others: undefined. */
  readonly durationMs?: number;
  /** handoff: how many requests the run answered together. */
  readonly coalesced?: number;
}

export interface ProxyUnderTest {
  /** Row label, e.g. "handoff (2 workers)". */
  readonly label: string;
  readonly kind: 'handoff' | 'haproxy' | 'nginx';
  /** The HTTP port clients use on 127.0.0.1. */
  readonly port: number;
  readonly masterPid: number;
  /** The master and every live worker now. */
  pids(): number[];
  /** handoff: resolves when the new config is in force (a live apply); HAProxy/nginx: once the signal is sent. */
  reload(): Promise<ReloadAnswer>;
  /**
   * Reloads the proxy says it carried out since it started (handoff: generations started
   * after the first; HAProxy: the master's reload counter; nginx: "reconfiguring" log lines).
   * A reload request does not always become a reload: handoff coalesces on purpose, and a
   * signal that arrives while HAProxy or nginx is busy with one may be lost.
   */
  reloadsDone(): Promise<number | undefined>;
  stop(): Promise<void>;
}

/** A proxy reloaded by a signal to its master (HAProxy -W: SIGUSR2, nginx: SIGHUP). */
export function signalReloadedProxy(
  service: ServiceProcess,
  o: { label: string; kind: 'haproxy' | 'nginx'; port: number; signal: NodeJS.Signals },
): ProxyUnderTest {
  return {
    label: o.label,
    kind: o.kind,
    port: o.port,
    masterPid: service.pid,
    pids: () => processTree(service.pid),
    reload: async () => {
      process.kill(service.pid, o.signal);
      return {};
    },
    reloadsDone: async () => service.count('reloads'),
    stop: () => service.stop('SIGTERM', 5_000),
  };
}
