// Addresses as /proc/net/tcp{,6} prints them, and as people type them. The kernel prints
// each 32-bit word of the address with %08X of its in-memory value, so on a little-endian
// host every word's bytes come out reversed: 127.0.0.1 is "0100007F".
import { isIP, SocketAddress } from 'node:net';
import { endianness } from 'node:os';
import type { IpFamily } from './types.js';

const LITTLE_ENDIAN = endianness() === 'LE';

/** The 4 (IPv4) or 16 (IPv6) address bytes in network order from the kernel's hex text. */
export function addressBytes(hex: string): Buffer {
  if (!/^[0-9A-Fa-f]+$/.test(hex) || (hex.length !== 8 && hex.length !== 32)) {
    throw new Error(`not a /proc/net/tcp address: ${JSON.stringify(hex)}`);
  }
  const out = Buffer.alloc(hex.length / 2);
  for (let word = 0; word < hex.length / 8; word++) {
    out.writeUInt32BE(Number.parseInt(hex.slice(word * 8, word * 8 + 8), 16), word * 4);
    // written big-endian, the bytes are in printing order; in memory (network order) they
    // are the reverse on a little-endian host
    if (LITTLE_ENDIAN) out.subarray(word * 4, word * 4 + 4).reverse();
  }
  return out;
}

/** Canonical text of address bytes: dotted quad, or RFC 5952 IPv6 (::ffff:a.b.c.d for mapped). */
export function formatAddress(bytes: Buffer): string {
  if (bytes.length === 4) return [...bytes].join('.');
  const groups: string[] = [];
  for (let i = 0; i < 16; i += 2) groups.push(bytes.readUInt16BE(i).toString(16));
  // inet_ntop does the compression and the IPv4-mapped form.
  return new SocketAddress({ address: groups.join(':'), family: 'ipv6' }).address;
}

/** Decode the kernel's "ADDR:PORT" (hex, ADDR in per-word host byte order). */
export function decodeEndpoint(text: string): { family: IpFamily; address: string; port: number } {
  const colon = text.indexOf(':');
  if (colon < 0) throw new Error(`not a /proc/net/tcp endpoint: ${JSON.stringify(text)}`);
  const bytes = addressBytes(text.slice(0, colon));
  const portHex = text.slice(colon + 1);
  if (!/^[0-9A-Fa-f]{1,4}$/.test(portHex)) throw new Error(`not a /proc/net/tcp port: ${JSON.stringify(portHex)}`);
  return { family: bytes.length === 4 ? 'ipv4' : 'ipv6', address: formatAddress(bytes), port: Number.parseInt(portHex, 16) };
}

/** A user's address ("::1", "[::1]", "0:0::1", "127.0.0.1") in canonical text, or undefined if not an IP. */
export function normalizeAddress(input: string): string | undefined {
  const bare = input.startsWith('[') && input.endsWith(']') ? input.slice(1, -1) : input;
  const version = isIP(bare);
  if (version === 4) return bare.split('.').map(Number).join('.');
  if (version === 6) return new SocketAddress({ address: bare, family: 'ipv6' }).address;
  return undefined;
}

/** "127.0.0.1:80", "[::1]:80": how a listener is named in reports. */
export function listenerKey(address: string, port: number): string {
  return address.includes(':') ? `[${address}]:${port}` : `${address}:${port}`;
}
