// Socket addresses as written in the config: "127.0.0.1:8080", "[::1]:8080", and for binds
// a port range "127.0.0.1:8000-8003". IP literals only: resolving names at load time would
// make a reload depend on DNS, and a listener's identity (its key) must not change under it.
import net from 'node:net';
import { HandoffError } from '../lib/errors.js';
import type { SocketAddress } from './types.js';
import { describeValue } from './describe-value.js';

/** A port range in a bind expands to at most this many listeners. */
export const MAX_PORT_RANGE = 1000;

export interface AddressOptions {
  /** Accept "start-end" port ranges (binds). Default false. */
  readonly range?: boolean;
  /** Accept 0.0.0.0 and [::] (binds). Default true. */
  readonly wildcard?: boolean;
}

/** Every address a bind spec stands for (one, or one per port of a range). Throws HandoffError (HANDOFF_ERR_CONFIG). */
export function parseBind(value: unknown): SocketAddress[] {
  return parseAddresses(value, { range: true, wildcard: true });
}

/** Exactly one address (no port range). Throws HandoffError (HANDOFF_ERR_CONFIG). */
export function parseAddress(value: unknown, options: Omit<AddressOptions, 'range'> = {}): SocketAddress {
  return parseAddresses(value, { ...options, range: false })[0]!;
}

export function parseAddresses(value: unknown, options: AddressOptions = {}): SocketAddress[] {
  const example = options.range ? '127.0.0.1:8080, [::1]:8080 or 127.0.0.1:8000-8003' : '127.0.0.1:8080 or [::1]:8080';
  const expected = `expected an address like ${example}`;
  if (typeof value !== 'string') throw fail(`${expected}, got ${describeValue(value)}`);
  const got = `${expected}, got ${describeValue(value)}`;
  const text = value.trim();

  let host: string;
  let portText: string;
  if (text.startsWith('[')) {
    const m = /^\[([^\]]*)\](?::(.*))?$/.exec(text);
    if (!m) throw fail(`${got}: unbalanced brackets`);
    host = m[1]!;
    if (m[2] === undefined) throw fail(`${got}: missing port`);
    portText = m[2];
    if (host.includes('%')) throw fail(`${got}: IPv6 zone ids are not supported`);
    if (!net.isIPv6(host)) throw fail(`${got}: "${host}" is not an IPv6 address`);
  } else {
    const colon = text.lastIndexOf(':');
    if (colon < 0) throw fail(`${got}: missing port`);
    host = text.slice(0, colon);
    portText = text.slice(colon + 1);
    if (host.includes(':')) throw fail(`${got}: an IPv6 address needs brackets ([::1]:8080)`);
    if (!net.isIPv4(host)) {
      throw fail(`${got}: "${host}" is not an IP address (host names are not accepted, use an IP literal such as 127.0.0.1 or [::1])`);
    }
  }

  const family = net.isIPv4(host) ? 4 : 6;
  const canonical = family === 4 ? host : canonicalIPv6(host);
  if (options.wildcard === false && (canonical === '0.0.0.0' || canonical === '::')) {
    throw fail(`${got}: a wildcard address cannot be connected to, name the server's own address`);
  }

  const [first, last] = parsePorts(portText, got, options.range === true);
  const out: SocketAddress[] = [];
  for (let port = first; port <= last; port++) out.push(socketAddress(canonical, port));
  return out;
}

/** The SocketAddress for a canonical host and a port, with its key ("127.0.0.1:80", "[::1]:80"). */
export function socketAddress(host: string, port: number): SocketAddress {
  const family = net.isIPv4(host) ? 4 : 6;
  return { host, port, family, key: family === 4 ? `${host}:${port}` : `[${host}]:${port}` };
}

/** Compressed lower-case form (RFC 5952): "0:0:0:0:0:0:0:1" → "::1". */
export function canonicalIPv6(host: string): string {
  // The WHATWG URL serializer implements RFC 5952 compression; it only misses the dotted tail of IPv4-mapped addresses.
  const out = new URL(`http://[${host}]/`).hostname.slice(1, -1);
  const mapped = /^::ffff:([0-9a-f]{1,4}):([0-9a-f]{1,4})$/.exec(out);
  if (mapped) {
    const hi = parseInt(mapped[1]!, 16);
    const lo = parseInt(mapped[2]!, 16);
    return `::ffff:${hi >> 8}.${hi & 255}.${lo >> 8}.${lo & 255}`;
  }
  return out;
}

function parsePorts(text: string, got: string, range: boolean): [number, number] {
  const single = /^\d+$/.exec(text);
  if (single) {
    const port = checkPort(text, got);
    return [port, port];
  }
  const m = /^(\d+)-(\d+)$/.exec(text);
  if (m) {
    if (!range) throw fail(`${got}: a port range is only allowed in a bind`);
    const first = checkPort(m[1]!, got);
    const last = checkPort(m[2]!, got);
    if (first > last) throw fail(`${got}: the port range is inverted (${first} > ${last})`);
    if (last - first + 1 > MAX_PORT_RANGE)
      throw fail(`${got}: a port range holds at most ${MAX_PORT_RANGE} ports, this one ${last - first + 1}`);
    return [first, last];
  }
  if (text === '') throw fail(`${got}: missing port`);
  throw fail(`${got}: "${text}" is not a port number`);
}

function checkPort(text: string, got: string): number {
  const port = Number(text);
  if (!Number.isInteger(port) || port < 1 || port > 65535) throw fail(`${got}: port ${text} is out of range (1-65535)`);
  return port;
}

function fail(message: string): HandoffError {
  return new HandoffError('HANDOFF_ERR_CONFIG', 'config', message);
}
