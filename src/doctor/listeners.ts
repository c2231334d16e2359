// The sockets of a snapshot grouped per address:port (a "listener" as a client sees it),
// each socket with the processes that hold it, oldest first.
import { listenerKey } from './ip-address.js';
import type { IpFamily, ListenSocket, ProcessInfo, Snapshot } from './types.js';

export interface HeldSocket {
  readonly socket: ListenSocket;
  /** Processes holding an fd on it, oldest first; empty when no visible process does. */
  readonly holders: readonly ProcessInfo[];
}

export interface ListenerGroup {
  readonly key: string;
  readonly family: IpFamily;
  readonly address: string;
  readonly port: number;
  /** Ordered by their oldest holder (unowned sockets last), then inode. */
  readonly sockets: readonly HeldSocket[];
}

/** Oldest first: start ticks are exact, the pid breaks ties. */
export function byAge(a: ProcessInfo, b: ProcessInfo): number {
  return a.startTicks - b.startTicks || a.pid - b.pid;
}

export function groupListeners(snapshot: Snapshot): ListenerGroup[] {
  const holders = new Map<number, ProcessInfo[]>();
  for (const p of snapshot.processes) {
    for (const inode of p.listenInodes) {
      const list = holders.get(inode) ?? [];
      list.push(p);
      holders.set(inode, list);
    }
  }
  const groups = new Map<string, { family: IpFamily; address: string; port: number; sockets: HeldSocket[] }>();
  for (const socket of snapshot.sockets) {
    const key = listenerKey(socket.address, socket.port);
    const g = groups.get(key) ?? { family: socket.family, address: socket.address, port: socket.port, sockets: [] };
    g.sockets.push({ socket, holders: (holders.get(socket.inode) ?? []).slice().sort(byAge) });
    groups.set(key, g);
  }
  const oldest = (h: HeldSocket) => h.holders[0]?.startTicks ?? Number.POSITIVE_INFINITY;
  return [...groups.entries()]
    .map(([key, g]) => ({ key, ...g, sockets: g.sockets.sort((a, b) => oldest(a) - oldest(b) || a.socket.inode - b.socket.inode) }))
    .sort((a, b) => a.port - b.port || (a.family === b.family ? 0 : a.family === 'ipv4' ? -1 : 1) || a.address.localeCompare(b.address));
}
