// storm only ever loads a proxy on this host: every frontend and backend address must be a
// loopback address, so a mistyped address can never turn it into a load generator aimed at
// someone else's service.
import { parseAddress } from '../config/address.js';
import type { SocketAddress } from '../config/types.js';
import { HandoffError } from '../lib/errors.js';

/** 127.0.0.0/8, ::1 and IPv4-mapped 127.x. */
export function isLoopbackHost(host: string): boolean {
  const h = host.toLowerCase();
  if (h === '::1') return true;
  const v4 = h.startsWith('::ffff:') ? h.slice('::ffff:'.length) : h;
  return /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(v4);
}

/** "127.0.0.1:8080" / "[::1]:8080" → SocketAddress; throws HandoffError for other text or a non-loopback address. */
export function loopbackAddress(text: string, what: string): SocketAddress {
  let address: SocketAddress;
  try {
    address = parseAddress(text, { wildcard: false });
  } catch (err) {
    throw new HandoffError('HANDOFF_ERR_CONFIG', 'config', `${what}: ${(err as Error).message}`);
  }
  if (!isLoopbackHost(address.host)) {
    throw new HandoffError(
      'HANDOFF_ERR_CONFIG',
      'config',
      `${what}: ${address.key} is not a loopback address; storm only loads targets on this host (127.0.0.0/8, [::1])`,
    );
  }
  return address;
}
