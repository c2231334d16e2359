// The master's control socket: a UNIX stream socket, mode 0600 (only the owner may reload
// or stop the service), one JSON request line and one JSON response line per connection.
import net from 'node:net';
import { chmodSync, unlinkSync } from 'node:fs';
import type { Logger } from '../observe/logger.js';
import { parseControlRequest, type ControlRequest, type ControlResponse } from '../protocol/control.js';

/** A request line at most: room for a pushed config document (handoff apply). */
const MAX_REQUEST_BYTES = 8 * 1024 * 1024;

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
    if (await inUse(this.path)) throw new Error(`control socket ${this.path} is in use: is another handoff master running with this config?`);
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
        server.listen(this.path, () => resolve());
      });
    } finally {
      process.umask(oldMask);
    }
    chmodSync(this.path, 0o600);
    this.server = server;
  }

  private serve(socket: net.Socket) {
    let buf = '';
    socket.setEncoding('utf8');
    socket.on('error', () => {});
    const onData = (chunk: string) => {
      buf += chunk;
      const nl = buf.indexOf('\n');
      if (nl < 0) {
        if (buf.length > MAX_REQUEST_BYTES) socket.destroy();
        return;
      }
      socket.off('data', onData);
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
    socket.end(JSON.stringify(res) + '\n');
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
    void this.log;
  }
}
