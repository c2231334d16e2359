// A worker process that could not be started. `fork` reports most causes (EMFILE, ENFILE,
// EAGAIN, ENOENT) without a pid and emits them as an 'error' event on the next tick: this
// error listens for it, so the event never goes unhandled (which would kill the master),
// and adds its code to the message. `cause` resolves with that code once known.
import type { ChildProcess } from 'node:child_process';
import { HandoffError, systemCode } from '../lib/errors.js';

export class WorkerSpawnError extends HandoffError {
  /** The OS's reason ("EMFILE", ...), or "unknown" when fork gave none. */
  readonly reason: Promise<string>;

  constructor(child: ChildProcess) {
    super('HANDOFF_ERR_SPAWN', 'internal', 'could not start a worker process', { retryable: true });
    this.reason = new Promise((resolve) => {
      // The event comes on the next tick; setImmediate runs after it, so this is bounded.
      const fallback = setImmediate(() => resolve('unknown'));
      child.once('error', (err) => {
        clearImmediate(fallback);
        const code = systemCode(err) ?? err.message;
        this.message = `could not start a worker process: ${code}`;
        resolve(code);
      });
    });
  }
}

/** The short reason to log and show for a failure to start a worker: "spawn EMFILE", "not ready after 15000ms", ... */
export async function spawnFailureDetail(err: unknown): Promise<string> {
  if (err instanceof WorkerSpawnError) return `spawn ${await err.reason}`;
  const code = systemCode(err);
  if (code) return `spawn ${code}`;
  return err instanceof Error ? err.message : String(err);
}
