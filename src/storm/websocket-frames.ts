// RFC 6455 framing, the small part a client needs: masked frames out, unmasked frames in.
// storm speaks WebSocket on a raw socket so that a reset, an EOF or a close frame is seen
// exactly as it happened.
import { HandoffError } from '../lib/errors.js';
import { createHash, randomBytes } from 'node:crypto';

export const OP_CONTINUATION = 0x0;
export const OP_TEXT = 0x1;
export const OP_BINARY = 0x2;
export const OP_CLOSE = 0x8;
export const OP_PING = 0x9;
export const OP_PONG = 0xa;

const MAX_FRAME = 1024 * 1024;
const GUID = '258EAFA5-E914-47DA-95CA-C5AB0DC85B11';

/** A WebSocket frame the storm's client refuses (from the proxy or server under test). */
export class BadFrame extends HandoffError {
  constructor(message: string) {
    super('HANDOFF_ERR_BAD_RESPONSE', 'server', message);
    this.name = 'BadFrame';
  }
}

export interface Frame {
  readonly fin: boolean;
  readonly opcode: number;
  readonly payload: Buffer;
}

/** A client frame: FIN set, payload masked with a fresh key. */
export function encodeFrame(opcode: number, payload: Buffer): Buffer {
  const len = payload.length;
  const ext = len < 126 ? 0 : len < 65536 ? 2 : 8;
  const out = Buffer.alloc(2 + ext + 4 + len);
  out[0] = 0x80 | opcode;
  out[1] = 0x80 | (ext === 0 ? len : ext === 2 ? 126 : 127);
  if (ext === 2) out.writeUInt16BE(len, 2);
  if (ext === 8) out.writeBigUInt64BE(BigInt(len), 2);
  const mask = randomBytes(4);
  mask.copy(out, 2 + ext);
  const body = 2 + ext + 4;
  for (let i = 0; i < len; i++) out[body + i] = payload[i]! ^ mask[i & 3]!;
  return out;
}

/** Sec-WebSocket-Accept for a key. */
export function acceptFor(key: string): string {
  return createHash('sha1')
    .update(key + GUID)
    .digest('base64');
}

export function newKey(): string {
  return randomBytes(16).toString('base64');
}

/** Incremental frame parser for what the server sends. */
export class FrameReader {
  private buf: Buffer = Buffer.alloc(0);

  push(chunk: Buffer): Frame[] {
    this.buf = this.buf.length === 0 ? chunk : Buffer.concat([this.buf, chunk]);
    const frames: Frame[] = [];
    for (;;) {
      const f = this.next();
      if (!f) return frames;
      frames.push(f);
    }
  }

  private next(): Frame | undefined {
    const b = this.buf;
    if (b.length < 2) return undefined;
    const fin = (b[0]! & 0x80) !== 0;
    if ((b[0]! & 0x70) !== 0) throw new BadFrame('reserved bits set');
    const opcode = b[0]! & 0x0f;
    const masked = (b[1]! & 0x80) !== 0;
    let len = b[1]! & 0x7f;
    let pos = 2;
    if (len === 126) {
      if (b.length < 4) return undefined;
      len = b.readUInt16BE(2);
      pos = 4;
    } else if (len === 127) {
      if (b.length < 10) return undefined;
      const big = b.readBigUInt64BE(2);
      if (big > BigInt(MAX_FRAME)) throw new BadFrame(`frame of ${big} bytes`);
      len = Number(big);
      pos = 10;
    }
    if (len > MAX_FRAME) throw new BadFrame(`frame of ${len} bytes`);
    const maskAt = pos;
    if (masked) pos += 4;
    if (b.length < pos + len) return undefined;
    const payload = Buffer.from(b.subarray(pos, pos + len));
    if (masked) for (let i = 0; i < len; i++) payload[i] = payload[i]! ^ b[maskAt + (i & 3)]!;
    this.buf = b.subarray(pos + len);
    return { fin, opcode, payload };
  }
}
