// What storm needs from the thing it measures: start it, reload it, stop it. handoff is one
// target (handoff-target.ts), any proxy run by shell commands is another (command-target.ts).
import { readFileSync } from 'node:fs';
import net from 'node:net';
import type { SocketAddress } from '../config/types.js';
import { HandoffError } from '../lib/errors.js';
import type { ProcessTracker } from './process-tracker.js';

export interface ReloadResult {
  readonly ok: boolean;
  readonly durationMs: number;
  readonly error?: string;
  readonly generation?: number;
}

export interface Target {
  /** One line for the report: what runs and how it is reloaded. */
  readonly description: string;
  /** How long after a reload an old process may still live (drain deadline, plus grace). */
  readonly drainDeadlineMs: number;
  /** Start the target; resolves once every frontend address accepts connections. Throws HandoffError. */
  start(): Promise<void>;
  /** One reload with the config file as it is now; resolves when the target says it is done. */
  reload(): Promise<ReloadResult>;
  /** Begin a graceful stop (storm then waits for the processes, and kills what stays). */
  stop(): Promise<void>;
}

/** What every target gets from storm. */
export interface TargetContext {
  /** Work folder: rendered configs, pid files, the log. */
  readonly dir: string;
  /** The rendered config file the target runs (rewritten for the config-next reload). */
  readonly configFile: string;
  /** Environment for the target's processes: storm's, plus this run's marker. */
  readonly env: NodeJS.ProcessEnv;
  /** The target's stdout and stderr go here. */
  readonly logFd: number;
  readonly logFile: string;
  readonly tracker: ProcessTracker;
  readonly frontends: readonly SocketAddress[];
  /** Aborted on Ctrl-C: a start still waiting gives up. */
  readonly signal: AbortSignal;
}

/** Bound on a target's start. */
export const START_TIMEOUT_MS = 30_000;
/** Bound on one reload command or control request. */
export const RELOAD_TIMEOUT_MS = 60_000;

/** The end of the target's log, for error messages. */
export function logTail(file: string, bytes = 1500): string {
  try {
    const text = readFileSync(file, 'utf8');
    const tail = text.slice(-bytes).trim();
    return tail === '' ? '(the target printed nothing)' : tail;
  } catch {
    return '(no log)';
  }
}

export function startError(message: string, ctx: TargetContext): HandoffError {
  return new HandoffError('HANDOFF_ERR_INTERNAL', 'server', `${message}\n--- ${ctx.logFile} (end) ---\n${logTail(ctx.logFile)}`);
}

function accepts(address: SocketAddress): Promise<boolean> {
  return new Promise((resolve) => {
    const s = net.connect({ host: address.host, port: address.port, family: address.family });
    s.once('connect', () => {
      s.destroy();
      resolve(true);
    });
    s.once('error', () => resolve(false));
  });
}

/**
 * Resolves once every address accepts a TCP connection; rejects when `failed()` returns a
 * reason (the target died), on abort, or after timeoutMs.
 */
export async function waitAccepting(ctx: TargetContext, failed: () => string | undefined, timeoutMs = START_TIMEOUT_MS): Promise<void> {
  const deadline = performance.now() + timeoutMs;
  const pending = new Set(ctx.frontends);
  for (let attempt = 0; attempt < 100_000; attempt++) {
    for (const a of [...pending]) if (await accepts(a)) pending.delete(a);
    if (pending.size === 0) return;
    const why = failed();
    if (why) throw startError(why, ctx);
    if (ctx.signal.aborted) throw new HandoffError('HANDOFF_ERR_INTERNAL', 'internal', 'interrupted while the target was starting');
    if (performance.now() > deadline) {
      throw startError(
        `the target did not accept connections on ${[...pending].map((a) => a.key).join(', ')} within ${timeoutMs / 1000} s`,
        ctx,
      );
    }
    await new Promise((r) => setTimeout(r, 50));
  }
}
