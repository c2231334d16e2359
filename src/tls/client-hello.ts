// A strict, bounded parser for the first thing a TLS client sends: its ClientHello, to read
// the server_name (SNI, RFC 6066 §3) without terminating TLS (TCP-mode passthrough routes).
//
//   const r = parseClientHello(bytesSoFar);
//   r.kind === 'incomplete'  // a valid prefix: read more (the caller bounds bytes and time)
//   r.kind === 'hello'       // r.serverName: lower-cased host name, or undefined (no SNI)
//   r.kind === 'invalid'     // r.reason: why this is not a ClientHello we accept
//
// The input is every byte the client sent so far. The handshake message may be split over
// several TLS records (RFC 8446 §5.1) and the records over several TCP segments: the parser
// joins record fragments until the whole handshake message is there. Every length is checked
// against what contains it before it is used; nothing is read past the buffer; no allocation
// grows with a length field (the message size is bounded by `maxBytes` before any copy).

/** Most bytes of ClientHello records accepted (a real one is under 2 KiB; post-quantum key shares reach ~1.8 KiB). */
export const CLIENT_HELLO_MAX_BYTES = 16 * 1024;

export type ClientHelloResult =
  | { readonly kind: 'incomplete' }
  | { readonly kind: 'hello'; readonly serverName: string | undefined }
  | { readonly kind: 'invalid'; readonly reason: string };

const RECORD_HEADER = 5;
const CONTENT_HANDSHAKE = 0x16;
const HANDSHAKE_CLIENT_HELLO = 0x01;
/** TLSPlaintext.length is at most 2^14 (RFC 8446 §5.1). */
const MAX_RECORD_PAYLOAD = 16384;
const EXT_SERVER_NAME = 0x0000;
const NAME_TYPE_HOST = 0x00;
const HOST_LABEL = /^[a-z0-9_](?:[a-z0-9_-]{0,61}[a-z0-9_])?$/;

const INCOMPLETE: ClientHelloResult = { kind: 'incomplete' };
const invalid = (reason: string): ClientHelloResult => ({ kind: 'invalid', reason });

export function parseClientHello(input: Buffer, maxBytes = CLIENT_HELLO_MAX_BYTES): ClientHelloResult {
  // 1. Records: collect handshake payload fragments until the handshake message is whole.
  const fragments: Buffer[] = [];
  let payload = 0;
  let messageLength: number | undefined;
  let at = 0;
  for (;;) {
    if (input.length - at < 1) return INCOMPLETE;
    if (input[at] !== CONTENT_HANDSHAKE) {
      return invalid(at === 0 ? 'not TLS (first byte is not a handshake record)' : 'a record other than handshake inside the ClientHello');
    }
    if (input.length - at >= 2 && input[at + 1] !== 3) return invalid('not TLS (record version major is not 3)');
    if (input.length - at < RECORD_HEADER) return INCOMPLETE;
    const minor = input.readUInt8(at + 2);
    if (minor > 4) return invalid(`unknown record version 3.${minor}`);
    const length = input.readUInt16BE(at + 3);
    if (length === 0) return invalid('empty handshake record');
    if (length > MAX_RECORD_PAYLOAD) return invalid(`record of ${length} bytes (more than 16384)`);
    if (payload + length > maxBytes) return invalid(`ClientHello records larger than ${maxBytes} bytes`);
    const available = Math.min(length, input.length - at - RECORD_HEADER);
    fragments.push(input.subarray(at + RECORD_HEADER, at + RECORD_HEADER + available));
    payload += available;
    // The handshake header (type + 24-bit length) may itself be split across records.
    if (messageLength === undefined && payload >= 4) {
      const head = Buffer.concat(fragments, 4);
      if (head[0] !== HANDSHAKE_CLIENT_HELLO) return invalid(`first handshake message is type ${head[0]}, not ClientHello`);
      messageLength = head.readUIntBE(1, 3);
      if (messageLength > maxBytes) return invalid(`ClientHello of ${messageLength} bytes (more than ${maxBytes})`);
    }
    if (available < length) {
      // This record is not all here yet; a whole message already in the part we have is enough.
      if (messageLength !== undefined && payload >= 4 + messageLength) break;
      return INCOMPLETE;
    }
    at += RECORD_HEADER + length;
    if (messageLength !== undefined && payload >= 4 + messageLength) break;
  }
  const message = Buffer.concat(fragments, payload).subarray(4, 4 + messageLength);
  return parseBody(message);
}

/** ClientHello body (RFC 8446 §4.1.2; TLS 1.0-1.2 share the layout). */
function parseBody(b: Buffer): ClientHelloResult {
  const r = new Reader(b);
  const major = r.u8();
  r.u8(); // legacy_version minor: any (3.0 .. 3.3 in practice)
  if (major !== 3) return invalid(`client version major ${major}`);
  r.skip(32); // random
  const sessionId = r.u8();
  if (sessionId > 32) return invalid(`session id of ${sessionId} bytes`);
  r.skip(sessionId);
  const suites = r.u16();
  if (suites < 2 || suites % 2 !== 0) return invalid(`cipher suites length ${suites}`);
  r.skip(suites);
  const compressions = r.u8();
  if (compressions < 1) return invalid('no compression methods');
  r.skip(compressions);
  if (r.failed) return invalid('truncated ClientHello');
  if (r.remaining === 0) return { kind: 'hello', serverName: undefined }; // no extensions (old clients)
  const extTotal = r.u16();
  if (r.failed || extTotal !== r.remaining) return invalid('extensions length does not match the message');
  const seen = new Set<number>();
  let serverName: string | undefined;
  while (r.remaining > 0) {
    const type = r.u16();
    const len = r.u16();
    if (r.failed || len > r.remaining) return invalid('truncated extension');
    if (seen.has(type)) return invalid(`extension ${type} sent twice`);
    seen.add(type);
    const body = r.take(len);
    if (type === EXT_SERVER_NAME) {
      const sni = parseServerName(body);
      if (typeof sni !== 'string' && sni !== undefined) return sni;
      serverName = sni;
    }
  }
  return { kind: 'hello', serverName };
}

/** server_name extension body: ServerNameList; a host_name at most once (RFC 6066 §3). */
function parseServerName(b: Buffer): string | undefined | ClientHelloResult {
  // An empty extension is how a server acknowledges SNI; a client must not send one.
  if (b.length === 0) return invalid('empty server_name extension');
  const r = new Reader(b);
  const listLength = r.u16();
  if (r.failed || listLength !== r.remaining || listLength === 0) return invalid('server_name list length does not match');
  let name: string | undefined;
  while (r.remaining > 0) {
    const type = r.u8();
    const len = r.u16();
    if (r.failed || len > r.remaining) return invalid('truncated server name');
    const value = r.take(len);
    if (type !== NAME_TYPE_HOST) return invalid(`server name type ${type} (only host_name is defined)`);
    if (name !== undefined) return invalid('two host names in server_name');
    const host = hostName(value);
    if (host === undefined) return invalid('server_name is not a valid host name');
    name = host;
  }
  return name;
}

/** ASCII host name without a trailing dot, lower-cased; undefined when it is not one. */
function hostName(value: Buffer): string | undefined {
  if (value.length === 0 || value.length > 253) return undefined;
  for (const byte of value) if (byte < 0x21 || byte > 0x7e) return undefined;
  const text = value.toString('latin1').toLowerCase();
  return text.split('.').every((label) => HOST_LABEL.test(label)) ? text : undefined;
}

/** Big-endian reads that never pass the end: a read past it sets `failed` and yields 0. */
class Reader {
  private at = 0;
  failed = false;

  constructor(private readonly b: Buffer) {}

  get remaining(): number {
    return this.failed ? 0 : this.b.length - this.at;
  }

  private need(n: number): boolean {
    if (this.failed || this.b.length - this.at < n) {
      this.failed = true;
      return false;
    }
    return true;
  }

  u8(): number {
    if (!this.need(1)) return 0;
    return this.b.readUInt8(this.at++);
  }

  u16(): number {
    if (!this.need(2)) return 0;
    const v = this.b.readUInt16BE(this.at);
    this.at += 2;
    return v;
  }

  skip(n: number): void {
    if (this.need(n)) this.at += n;
  }

  take(n: number): Buffer {
    if (!this.need(n)) return Buffer.alloc(0);
    const out = this.b.subarray(this.at, this.at + n);
    this.at += n;
    return out;
  }
}
