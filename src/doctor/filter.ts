// --port / --address: keep the matching sockets, the processes that hold them, and every
// known proxy process (whether an old proxy still listens elsewhere decides if it drains).
import type { Snapshot, SnapshotFilter } from './types.js';

export function filterSnapshot(snapshot: Snapshot, filter: SnapshotFilter): Snapshot {
  const sockets = snapshot.sockets.filter(
    (s) => (filter.port === undefined || s.port === filter.port) && (filter.address === undefined || s.address === filter.address),
  );
  const kept = new Set(sockets.map((s) => s.inode));
  const processes = snapshot.processes.filter((p) => p.proxy !== null || p.listenInodes.some((i) => kept.has(i)));
  return { ...snapshot, filter, sockets, processes };
}
