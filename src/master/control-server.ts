// The master's control socket: a UNIX stream socket, mode 0600 (only the owner may reload
// or stop the service), one JSON request line and one JSON response line per connection.
// Bounded so that clients that connect and never finish cannot take the master's file
// descriptors: at most CONTROL_MAXCONN connections at once (the master closes more at once),
// the request line must arrive within CONTROL_REQUEST_TIMEOUT_MS, and a client that does not
// read its answer is dropped that long after it was sent. The wait for the answer itself (a
// reload) is bounded by the operation.
import net from 'node:net';
import { chmodSync, unlinkSync } from 'node:fs';
import type { Logger } from '../observe/logger.js';
import { parseControlRequest, type ControlRequest, type ControlResponse } from '../protocol/control.js';

/** A request line at most: room for a pushed config document (handoff apply). */
const MAX_REQUEST_BYTES = 8 * 1024 * 1024;
/** Control connections held at once: well above a burst of concurrent reload requests (each waits for its answer), well below any fd limit. */
export const CONTROL_MAXCONN = 256;
/** Time to send the request line, and to take the answer once sent. */
export const CONTROL_REQUEST_TIMEOUT_MS = 5_000;

export type ControlHandler = (req: ControlRequest) => Promise<ControlResponse>;

/** True when something accepts connections on the UNIX socket at `path`. */
function inUse(path: string): Promise<boolean> {
  return new Promise((resolve) => {
    const s = net.connect(path);
    s.once('connect', () => {
      s.destroy();
      resolve(true);
    });
    s.once('error', () => resolve(false));
  });
}

export class ControlServer {
  private server: net.Server | undefined;

  constructor(
    readonly path: string,
    private readonly handler: ControlHandler,
    private readonly log: Logger,
  ) {}

  async start(): Promise<void> {
    if (await inUse(this.path))
      throw new Error(`control socket ${this.path} is in use: is another handoff master running with this config?`);
    try {
      unlinkSync(this.path); // a stale socket file from a master that was killed
    } catch {
      // none
    }
    const server = net.createServer((socket) => this.serve(socket));
    const oldMask = process.umask(0o177);
    try {
      await new Promise<void>((resolve, reject) => {
        server.once('error', reject);
        server.listen(this.path, () => {
          server.off('error', reject);
          resolve();
        });
      });
    } finally {
      process.umask(oldMask);
    }
    chmodSync(this.path, 0o600);
    server.maxConnections = CONTROL_MAXCONN;
    // accept() errors (EMFILE at the fd limit) must not end the master: the socket goes on.
    server.on('error', (err) => this.log.warn('control socket error', { error: err.message }));
    this.server = server;
  }

  private serve(socket: net.Socket) {
    let buf = '';
    socket.setEncoding('utf8');
    socket.on('error', () => {});
    socket.setTimeout(CONTROL_REQUEST_TIMEOUT_MS, () => socket.destroy());
    const onData = (chunk: string) => {
      buf += chunk;
      const nl = buf.indexOf('\n');
      if (nl < 0) {
        if (buf.length > MAX_REQUEST_BYTES) socket.destroy();
        return;
      }
      socket.off('data', onData);
      socket.setTimeout(0); // the request is in: the answer takes as long as the operation (bounded there)
      let parsed: unknown;
      try {
        parsed = JSON.parse(buf.slice(0, nl));
      } catch {
        parsed = undefined;
      }
      const req = parseControlRequest(parsed);
      if (!req) {
        this.reply(socket, { ok: false, error: 'malformed control request' });
        return;
      }
      this.handler(req).then(
        (res) => this.reply(socket, res),
        (err: unknown) => this.reply(socket, { ok: false, error: err instanceof Error ? err.message : String(err) }),
      );
    };
    socket.on('data', onData);
  }

  private reply(socket: net.Socket, res: ControlResponse) {
    if (socket.destroyed) return;
    socket.setTimeout(CONTROL_REQUEST_TIMEOUT_MS, () => socket.destroy());
    socket.end(`${JSON.stringify(res)}\n`);
  }

  async close(): Promise<void> {
    const s = this.server;
    this.server = undefined;
    if (!s) return;
    await new Promise<void>((resolve) => s.close(() => resolve()));
    try {
      unlinkSync(this.path);
    } catch {
      // already gone
    }
  }
}
