// The WebSocket client: upgrade (counted as one request, routed and checked like any
// other), then echo messages numbered in sequence, a few in flight at once, each checked
// for order and content and timed. Every echo outstanding when the connection breaks is a
// failure; a close by the target while nothing was outstanding is not (the client simply
// reconnects). A WebSocket is a long-lived tunnel: the kind of connection a reload must
// not cut short.
import net from 'node:net';
import { eofFailure, failure, socketFailure, statusFailure } from './failure.js';
import { FAILURE_PAUSE_MS, pause } from './keepalive-client.js';
import { answeringBackend, BadResponse, ResponseReader } from './http-response-reader.js';
import { MAX_REQUESTS, pace, type LoadContext } from './load-context.js';
import type { Failure, LoadTarget, Outcome } from './types.js';
import {
  acceptFor,
  BadFrame,
  encodeFrame,
  FrameReader,
  newKey,
  OP_BINARY,
  OP_CLOSE,
  OP_CONTINUATION,
  OP_PING,
  OP_PONG,
  OP_TEXT,
} from './websocket-frames.js';

/** Echoes in flight per connection: enough that an echo out of order would show. */
const WINDOW = 3;
/** Messages per connection before it is closed and a new one opened (new connections see new generations). */
const MESSAGES_PER_CONNECTION = 200;
const CLOSE_WAIT_MS = 1000;

type Handshake = { ok: true; socket: net.Socket; leftover: Buffer; backend: string | undefined } | { ok: false; failure: Failure };

function handshake(target: LoadTarget, path: string, timeoutMs: number): Promise<Handshake> {
  return new Promise((resolve) => {
    const key = newKey();
    const reader = new ResponseReader();
    let connected = false;
    let settled = false;
    const socket = net.connect({ host: target.frontend.host, port: target.frontend.port, family: target.frontend.family });
    const finish = (r: Handshake) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      socket.removeListener('data', onData);
      socket.removeListener('end', onEnd);
      socket.removeListener('error', onError);
      socket.removeListener('close', onEnd);
      if (!r.ok) socket.destroy();
      resolve(r);
    };
    const timer = setTimeout(
      () => finish({ ok: false, failure: failure('timeout', `no WebSocket handshake within ${timeoutMs} ms`) }),
      timeoutMs,
    );
    const onData = (chunk: Buffer) => {
      try {
        const res = reader.feed(chunk);
        if (!res) return;
        const backend = answeringBackend(res);
        if (res.status !== 101)
          return finish({
            ok: false,
            failure: statusFailure(res.status, `upgrade answered with HTTP ${res.status}${backend ? ` from ${backend}` : ''}`),
          });
        if (res.headers.get('sec-websocket-accept') !== acceptFor(key))
          return finish({ ok: false, failure: failure('bad-response', 'wrong Sec-WebSocket-Accept') });
        finish({ ok: true, socket, leftover: reader.leftover(), backend });
      } catch (err) {
        if (!(err instanceof BadResponse)) throw err;
        finish({ ok: false, failure: failure('bad-response', err.message) });
      }
    };
    const onEnd = () => finish({ ok: false, failure: eofFailure(reader.received) });
    const onError = (err: Error) => finish({ ok: false, failure: socketFailure(err, connected ? 'response' : 'connect', reader.received) });
    socket.on('data', onData);
    socket.on('end', onEnd);
    socket.on('close', onEnd);
    socket.on('error', onError);
    socket.once('connect', () => {
      connected = true;
      socket.setNoDelay(true);
      socket.write(
        `GET ${path} HTTP/1.1\r\nHost: ${target.host}\r\nUser-Agent: handoff-storm\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: ${key}\r\nSec-WebSocket-Version: 13\r\n\r\n`,
      );
    });
  });
}

type WsEvent = { kind: 'message'; data: string } | { kind: 'closed'; failure: Failure };

/** An open WebSocket: messages and the end of the connection as a queue of events. */
class WebSocketSession {
  private readonly frames = new FrameReader();
  private fragments: Buffer[] = [];
  private readonly events: WsEvent[] = [];
  private wake: (() => void) | undefined;
  closed = false;
  /** The end came with a close frame from the target. */
  closedByFrame = false;

  constructor(
    private readonly socket: net.Socket,
    leftover: Buffer,
  ) {
    socket.on('data', (c: Buffer) => this.onData(c));
    socket.on('end', () => this.end(failure('eof', 'connection closed with echoes outstanding')));
    socket.on('close', () => this.end(failure('eof', 'connection closed with echoes outstanding')));
    socket.on('error', (err) => this.end(socketFailure(err, 'response', 0)));
    if (leftover.length > 0) this.onData(leftover);
  }

  send(text: string): void {
    if (!this.closed) this.socket.write(encodeFrame(OP_TEXT, Buffer.from(text, 'utf8')));
  }

  /** The next event, or undefined at the deadline (ms since the storm start) or on abort. */
  next(ctx: LoadContext, deadline: number, stopOnAbort: boolean): Promise<WsEvent | undefined> {
    const ready = this.events.shift();
    if (ready) return Promise.resolve(ready);
    return new Promise((resolve) => {
      const done = () => {
        clearTimeout(timer);
        ctx.signal.removeEventListener('abort', onAbort);
        this.wake = undefined;
        resolve(this.events.shift());
      };
      const onAbort = () => {
        if (stopOnAbort) done();
      };
      const timer = setTimeout(done, Math.max(0, deadline - ctx.now()));
      ctx.signal.addEventListener('abort', onAbort, { once: true });
      this.wake = done;
    });
  }

  /** Close politely (close frame, wait for the peer), then make sure the socket is gone. */
  async close(): Promise<void> {
    if (!this.closed) {
      this.socket.write(encodeFrame(OP_CLOSE, Buffer.from([0x03, 0xe8])));
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, CLOSE_WAIT_MS);
        this.socket.once('close', () => {
          clearTimeout(timer);
          resolve();
        });
      });
    }
    this.socket.destroy();
  }

  private push(e: WsEvent): void {
    this.events.push(e);
    this.wake?.();
  }

  private end(f: Failure): void {
    if (this.closed) return;
    this.closed = true;
    this.push({ kind: 'closed', failure: f });
  }

  private onData(chunk: Buffer): void {
    let frames: ReturnType<typeof this.frames.push>;
    try {
      frames = this.frames.push(chunk);
    } catch (err) {
      if (!(err instanceof BadFrame)) throw err;
      this.end(failure('bad-response', `bad WebSocket frame: ${err.message}`));
      this.socket.destroy();
      return;
    }
    for (const f of frames) {
      if (f.opcode === OP_PING) {
        this.socket.write(encodeFrame(OP_PONG, f.payload));
      } else if (f.opcode === OP_CLOSE) {
        const code = f.payload.length >= 2 ? f.payload.readUInt16BE(0) : 1005;
        this.closedByFrame = true;
        this.end(failure('ws-closed', `the target closed the WebSocket (code ${code}) with echoes outstanding`));
        this.socket.end(encodeFrame(OP_CLOSE, f.payload.subarray(0, 2)));
      } else if (f.opcode === OP_TEXT || f.opcode === OP_BINARY || f.opcode === OP_CONTINUATION) {
        this.fragments.push(f.payload);
        if (f.fin) {
          const data = Buffer.concat(this.fragments).toString('utf8');
          this.fragments = [];
          this.push({ kind: 'message', data });
        }
      }
    }
  }
}

function message(id: number, conn: number, seq: number): string {
  // the padding varies the size, so a proxy that mixes up lengths shows too
  return `storm ws ${id}.${conn} #${seq} ${'x'.repeat(seq % 40)}`;
}

export async function runWebSocketClient(ctx: LoadContext, id: number, targets: readonly LoadTarget[]): Promise<void> {
  let sent = 0;
  for (let conn = 0; sent < MAX_REQUESTS && !ctx.signal.aborted; conn++) {
    const target = targets[conn % targets.length]!;
    const start = ctx.now();
    const hs = await handshake(target, `${target.path}/websocket/${id}/${conn}`, ctx.timeoutMs);
    const end = ctx.now();
    sent++;
    const counted = ctx.tally.record(
      'websocket',
      target,
      start,
      end,
      hs.ok ? { ok: true, latencyMs: end - start, backend: hs.backend } : hs,
    );
    if (!hs.ok) {
      await pause(FAILURE_PAUSE_MS);
      continue;
    }
    const session = new WebSocketSession(hs.socket, hs.leftover);
    if (!counted.ok) {
      // answered by the wrong backend: already counted; do not echo through it
      await session.close();
      await pause(FAILURE_PAUSE_MS);
      continue;
    }
    sent += await echoLoop(ctx, id, conn, target, session);
    await session.close();
  }
}

/** Echo messages until the connection's quota, the end of the load, or a failure. Returns the messages counted. */
async function echoLoop(ctx: LoadContext, id: number, conn: number, target: LoadTarget, session: WebSocketSession): Promise<number> {
  const outstanding: { text: string; at: number }[] = [];
  let seq = 0;
  let counted = 0;
  let lastStart = -Infinity;
  const fail = (f: Failure) => {
    // every echo still owed is lost
    for (const m of outstanding.splice(0)) {
      ctx.tally.record('websocket', target, m.at, ctx.now(), { ok: false, failure: f });
      counted++;
    }
  };
  for (let step = 0; step < MESSAGES_PER_CONNECTION * 6; step++) {
    const sending = !ctx.signal.aborted && seq < MESSAGES_PER_CONNECTION;
    if (!sending && outstanding.length === 0) break;
    if (sending && outstanding.length < WINDOW) {
      await pace(ctx, lastStart);
      if (!ctx.signal.aborted && !session.closed) {
        const text = message(id, conn, seq++);
        lastStart = ctx.now();
        outstanding.push({ text, at: lastStart });
        session.send(text);
        continue;
      }
    }
    const oldest = outstanding[0];
    const deadline = oldest ? oldest.at + ctx.timeoutMs : ctx.now() + ctx.timeoutMs;
    const event = await session.next(ctx, deadline, outstanding.length === 0);
    if (!event) {
      if (oldest && ctx.now() >= deadline) {
        fail(failure('timeout', `no echo within ${ctx.timeoutMs} ms`));
        return counted;
      }
      continue; // aborted while idle: the loop ends at the top
    }
    if (event.kind === 'closed') {
      if (outstanding.length === 0) ctx.tally.noteClosedIdle('websocket');
      else fail(event.failure);
      return counted;
    }
    const expected = outstanding.shift();
    counted++;
    if (!expected) {
      ctx.tally.record('websocket', target, ctx.now(), ctx.now(), {
        ok: false,
        failure: failure('ws-mismatch', `unexpected message ${JSON.stringify(event.data.slice(0, 40))}`),
      });
      fail(failure('ws-mismatch', 'connection abandoned after an unexpected message'));
      return counted;
    }
    if (event.data !== expected.text) {
      ctx.tally.record('websocket', target, expected.at, ctx.now(), {
        ok: false,
        failure: failure(
          'ws-mismatch',
          `expected ${JSON.stringify(expected.text.slice(0, 40))}, got ${JSON.stringify(event.data.slice(0, 40))}`,
        ),
      });
      fail(failure('ws-mismatch', 'connection abandoned after an echo out of order'));
      return counted;
    }
    const now = ctx.now();
    ctx.tally.record('websocket', target, expected.at, now, {
      ok: true,
      latencyMs: now - expected.at,
      backend: undefined,
    } satisfies Outcome);
  }
  return counted;
}
