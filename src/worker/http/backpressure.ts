// Flow-control bounds of one HTTP client connection: how much the engine lets pile up before
// it stops reading a side. Every byte handoff holds for a peer that does not read is a byte
// another client cannot have, so each direction has a bound:
//
// - output: bytes queued to the client (stream buffer + libuv queue). Above OUTPUT_BOUND the
//   server side is not read (a response body, or an endless run of 1xx interim responses)
//   and the next pipelined request is not started, until the client's 'drain'.
// - input: bytes read from the client and not yet parsed (pipelined requests). Above the
//   byte bound, or with `limits.pipeline` complete request heads waiting, the client is not
//   read until the queue shrinks. The connection is never failed for it: a client that
//   pipelines simply waits, like behind a full TCP window.
import type net from 'node:net';
import { pendingWriteBytes } from '../../lib/node-handles.js';

/** Bytes queued to a client above which handoff stops producing more for it. */
export const OUTPUT_BOUND = 64 * 1024;

/**
 * True when the socket's queued output is above OUTPUT_BOUND and a 'drain' will follow.
 * Only a write that returned false promises a 'drain' (writableNeedDrain): waiting for one
 * otherwise would wait forever. That happens when the bytes sit below the stream (the libuv
 * queue, a TLSWrap's) while the stream's own buffer is under its highWaterMark, which is
 * 64 KiB since Node 22: a pipelined TLS connection stalled on it. Without a pending
 * 'drain', the next response's own writes pause the server side once the stream is full.
 */
export function outputBacklogged(socket: net.Socket): boolean {
  return socket.writableNeedDrain && pendingWriteBytes(socket) > OUTPUT_BOUND;
}

const HEAD_END = Buffer.from('\r\n\r\n', 'latin1');

/**
 * Complete request heads in the unparsed input, counting up to `max` (then it stops). An
 * estimate for flow control only: a body that contains CRLFCRLF counts as one more, which
 * at worst pauses reading a little early; the parser decides what the bytes really are.
 */
export function waitingHeads(buf: Buffer | undefined, max: number): number {
  if (buf === undefined) return 0;
  let n = 0;
  let i = buf.indexOf(HEAD_END);
  while (i >= 0 && n < max) {
    n++;
    i = buf.indexOf(HEAD_END, i + 4);
  }
  return n;
}

/** Whether unparsed client input has room for more: under the byte bound and fewer than `pipeline` heads waiting. */
export function inputHasRoom(buf: Buffer | undefined, byteBound: number, pipeline: number): boolean {
  if (buf === undefined || buf.length === 0) return true;
  return buf.length <= byteBound && waitingHeads(buf, pipeline) < pipeline;
}
