// Sending live connections to the new generation, through the master. The sender has
// already stopped reading and flushed its writes (see node-handles / tunnel), so the
// kernel socket holds everything not yet read; bytes read but not yet processed travel in
// the message. The handle is closed here once the send has completed: the master (and
// then the receiving worker) holds its own copy of the kernel socket by then.
import { closeHandle, type TcpHandle } from '../lib/node-handles.js';
import type { TunnelResume, WorkerMessage } from '../protocol/ipc.js';

export type SendToMaster = (message: WorkerMessage, handle: TcpHandle | undefined, done: (err: Error | null) => void) => void;

export class Migrator {
  private seq = 0;
  inFlight = 0;
  private idleWaiters: (() => void)[] = [];

  constructor(
    private readonly send: SendToMaster,
    private readonly pid: number,
  ) {}

  private id(): string {
    return `${this.pid}-${++this.seq}`;
  }

  /** An idle HTTP client connection (with the bytes read but not parsed). */
  migrateHttp(frontend: string, handle: TcpHandle, unread: Buffer): void {
    this.sendOne({ type: 'migrate', id: this.id(), kind: 'http', frontend, unread: unread.toString('base64') }, handle);
  }

  /** Both sockets of a tunnel; the receiver pairs them by id. */
  migrateTunnel(frontend: string, client: TcpHandle, server: TcpHandle, tunnel: TunnelResume): void {
    const id = this.id();
    this.sendOne({ type: 'migrate', id, kind: 'tunnel-client', frontend, unread: '', tunnel }, client);
    this.sendOne({ type: 'migrate', id, kind: 'tunnel-server', frontend, unread: '', tunnel }, server);
  }

  private held: (() => void)[] | undefined;

  /**
   * Hold migrations back until sendHeld(): child_process queues every message behind a
   * handle still waiting for its acknowledgement, so the drain's `draining` confirmation
   * must leave before the first handle does, or the reload waits for every migration.
   */
  hold(): void {
    this.held ??= [];
  }

  sendHeld(): void {
    const held = this.held;
    this.held = undefined;
    for (const send of held ?? []) send();
  }

  private sendOne(message: WorkerMessage, handle: TcpHandle) {
    if (this.held) {
      this.inFlight++;
      this.held.push(() => {
        this.inFlight--;
        this.sendOne(message, handle);
      });
      return;
    }
    this.inFlight++;
    this.send(message, handle, () => {
      // Sent or failed, our copy goes: after a failure the client sees a close, which a
      // keep-alive client treats as the server closing an idle connection.
      void closeHandle(handle).then(() => {
        if (--this.inFlight === 0) for (const w of this.idleWaiters.splice(0)) w();
      });
    });
  }

  /** Resolves once every send has completed (the worker may then exit). */
  settled(): Promise<void> {
    if (this.inFlight === 0) return Promise.resolve();
    return new Promise((r) => this.idleWaiters.push(r));
  }
}
