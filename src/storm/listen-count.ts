// How many LISTEN sockets could take a new connection to each frontend address: the exact
// address, or a wildcard of its family on the same port. One is right (one kernel accept
// queue); more means the kernel spreads new connections over several (SO_REUSEPORT, as in
// docs/origin.md); none means connections are refused.
import type { SocketAddress } from '../config/types.js';
import type { NetEntry } from '../doctor/proc-net.js';

export function listenMatches(entry: NetEntry, address: SocketAddress): boolean {
  if (entry.port !== address.port) return false;
  if (address.family === 4)
    return entry.family === 'ipv4'
      ? entry.address === address.host || entry.address === '0.0.0.0'
      : entry.address === `::ffff:${address.host}`;
  return entry.family === 'ipv6' && (entry.address === address.host || entry.address === '::');
}

/** Per address (same order), the LISTEN sockets that serve it, and the inodes of all of them. */
export function countListeners(
  listening: readonly NetEntry[],
  addresses: readonly SocketAddress[],
): { counts: number[]; inodes: Set<number> } {
  const inodes = new Set<number>();
  const counts = addresses.map((a) => {
    let n = 0;
    for (const e of listening) {
      if (!listenMatches(e, a)) continue;
      n++;
      inodes.add(e.inode);
    }
    return n;
  });
  return { counts, inodes };
}
