// Collect the facts from a /proc tree (the real one, or a fixture tree in tests): the LISTEN
// sockets (sampled twice, to tell a growing accept queue from a momentary one), who holds
// them, and every process of a known proxy. The only impure part of `handoff doctor`.
import { setTimeout as sleep } from 'node:timers/promises';
import { resolve } from 'node:path';
import { filterSnapshot } from './filter.js';
import { readListenTable, type NetEntry } from './proc-net.js';
import { CLOCK_TICKS_PER_SECOND, listPids, readBootTime, readCmdline, readSocketInodes, readStat } from './proc-processes.js';
import { identifyProxy } from './proxy-kind.js';
import { askHandoffMasters } from './handoff-control.js';
import { readBacklogs } from './ss-backlog.js';
import type { ListenSocket, ProcessInfo, Snapshot, SnapshotFilter } from './types.js';

export interface CollectOptions {
  /** default /proc */
  readonly procRoot?: string;
  readonly filter?: SnapshotFilter;
  /** Time between the two accept-queue samples; 0 takes one sample. default 200 ms */
  readonly sampleIntervalMs?: number;
  /** Ask `ss` for backlog limits; default: only when procRoot is the real /proc (ss knows nothing of fixtures). */
  readonly useSs?: boolean;
  /** Ask each handoff master for its status on its control socket; default: only for the real /proc. */
  readonly askHandoff?: boolean;
}

function processesHolding(
  procRoot: string,
  bootTime: number,
  listening: ReadonlySet<number>,
): { processes: ProcessInfo[]; unreadable: number } {
  const processes: ProcessInfo[] = [];
  let unreadable = 0;
  for (const pid of listPids(procRoot)) {
    const fds = readSocketInodes(procRoot, pid);
    if (fds === undefined) continue; // gone
    const listenInodes = fds.readable ? fds.inodes.filter((i) => listening.has(i)) : [];
    const cmdline = readCmdline(procRoot, pid);
    if (cmdline === undefined) continue;
    if (!fds.readable && cmdline.length > 0) unreadable++; // kernel threads (no cmdline) hold no sockets
    const proxy = identifyProxy(cmdline);
    if (listenInodes.length === 0 && proxy === null) continue;
    const stat = readStat(procRoot, pid);
    if (stat === undefined) continue;
    processes.push({
      pid,
      ppid: stat.ppid,
      comm: stat.comm,
      cmdline,
      startTicks: stat.startTicks,
      startedAt: Math.round(bootTime * 1000 + (stat.startTicks * 1000) / CLOCK_TICKS_PER_SECOND),
      listenInodes,
      fdsReadable: fds.readable,
      proxy,
    });
  }
  return { processes, unreadable };
}

/** Read the facts. Throws ProcUnreadableError when procRoot/net/tcp, /stat or the pid list cannot be read. */
export async function collectSnapshot(options: CollectOptions = {}): Promise<Snapshot> {
  const procRoot = resolve(options.procRoot ?? '/proc');
  const interval = options.sampleIntervalMs ?? 200;
  const first = await readListenTable(procRoot);
  const bootTime = readBootTime(procRoot);
  const firstAt = Date.now();
  const { processes, unreadable } = processesHolding(procRoot, bootTime, new Set(first.listening.map((e) => e.inode)));
  const useSs = options.useSs ?? procRoot === '/proc';
  const backlogs = useSs ? await readBacklogs() : null;

  let latest: readonly NetEntry[] = first.listening;
  if (interval > 0) {
    await sleep(Math.max(0, firstAt + interval - Date.now()));
    latest = (await readListenTable(procRoot)).listening;
  }
  // Sockets present in both samples: one that closed meanwhile is gone, one that opened
  // meanwhile was not there when the holders were read.
  const earlier = new Map(first.listening.map((e) => [e.inode, e]));
  const sockets: ListenSocket[] = [];
  for (const e of latest) {
    const before = earlier.get(e.inode);
    if (!before) continue;
    sockets.push({
      family: e.family,
      address: e.address,
      port: e.port,
      inode: e.inode,
      uid: e.uid,
      acceptQueue: e.rxQueue,
      acceptQueueSamples: interval > 0 ? [before.rxQueue, e.rxQueue] : [e.rxQueue],
      backlog: backlogs?.get(e.inode) ?? null,
    });
  }
  const snapshot: Snapshot = {
    collectedAt: Date.now(),
    procRoot,
    bootTime,
    clockTicksPerSecond: CLOCK_TICKS_PER_SECOND,
    backlogSource: backlogs ? 'ss' : null,
    ipv6: first.ipv6,
    filter: {},
    sockets,
    processes,
    unreadableProcesses: unreadable,
    ...((options.askHandoff ?? procRoot === '/proc') ? { handoff: await askHandoffMasters(processes, procRoot) } : {}),
  };
  return filterSnapshot(snapshot, options.filter ?? {});
}
