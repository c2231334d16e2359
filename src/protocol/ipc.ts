// Typed messages between the master and its workers (child_process IPC, JSON lines with
// optional SCM_RIGHTS handles). Each side validates what it receives with parseMasterMessage /
// parseWorkerMessage: an unexpected message is a bug worth a log line, never a crash.
import type { AccessEntry } from '../observe/access-entry.js';
import type { Config } from '../config/types.js';
import type { HealthSnapshot, StateChange } from '../backend/types.js';
import type { WorkerCounters } from './counters.js';

/** What a migrated connection was doing when it left; decides how the receiver resumes it. */
export type MigrationKind = 'http' | 'tunnel-client' | 'tunnel-server';

export interface TunnelResume {
  /** Backend and server the tunnel's server side is connected to (logging; the receiver may no longer have them). */
  readonly backend: string;
  readonly server: string;
  /** 'tcp' for a TCP-mode frontend, 'upgrade' for an HTTP Upgrade (WebSocket) tunnel. */
  readonly origin: 'tcp' | 'upgrade';
  /** Epoch ms of the last byte seen in either direction (the inactivity timeout continues). */
  readonly lastActivity: number;
  /** Client address for logs. */
  readonly clientAddress: string;
  /**
   * The access-log entry so far (start time, the upgrade request's fields, bytes moved
   * before the move): the receiver writes the one entry when the tunnel ends, with
   * `migrated`. Absent from an older handoff: the receiver starts one from the fields above.
   */
  readonly entry?: AccessEntry;
}

// ---- master → worker -------------------------------------------------------------------

export type MasterMessage =
  /** First message: everything a worker needs except the listening handles. */
  | {
      readonly type: 'init';
      /** The process generation. */
      readonly generation: number;
      /** The generation of `config` (greater than `generation` once configs were applied live). */
      readonly configGeneration: number;
      readonly index: number;
      readonly config: Config;
      readonly health: HealthSnapshot;
      /** Keys of the listeners that will follow as 'listener' messages. */
      readonly listeners: readonly string[];
    }
  /** One listening socket (the handle travels with the message); `apply`: for that live apply's new bind. */
  | { readonly type: 'listener'; readonly key: string; readonly apply?: number }
  /**
   * Live apply, step 1: compile `config` beside the one in force and answer 'prepared' (or
   * 'prepare-failed'). The sockets of the binds it adds follow as 'listener' messages with
   * `apply: id`, one per key in `listeners`.
   */
  | {
      readonly type: 'prepare';
      readonly id: number;
      readonly generation: number;
      readonly config: Config;
      readonly health: HealthSnapshot;
      readonly listeners: readonly string[];
    }
  /** Live apply, step 2: every worker prepared; put it in force and answer 'committed'. */
  | { readonly type: 'commit'; readonly id: number }
  /** Live apply abandoned (another worker failed): drop the prepared config. */
  | { readonly type: 'abort'; readonly id: number }
  /** Server health decided by the master's checks. */
  | { readonly type: 'health'; readonly changes: readonly StateChange[] }
  /** Stop accepting at once; finish, migrate or close connections; exit by the deadline. */
  | {
      readonly type: 'drain';
      readonly migrate: boolean;
      readonly deadline: number;
      readonly reload: number;
      /** The generation taking over runs the same config: a TLS connection may answer its next request here (see HttpConnection.leave). */
      readonly sameConfig: boolean;
    }
  /** A migrated connection for this worker to adopt (the handle travels with the message). */
  | {
      readonly type: 'adopt';
      readonly id: string;
      readonly kind: MigrationKind;
      readonly frontend: string;
      /** Bytes read from this socket but not processed by the sender, base64. */
      readonly unread: string;
      readonly tunnel?: TunnelResume;
    }
  /** Ask for counters now (status); answered by 'counters' with the same id. */
  | { readonly type: 'counters?'; readonly id: number }
  /**
   * Answers 'listener?': the listening socket again (handle attached when `granted`). Not
   * granted: the key is gone, or the worker's generation no longer takes traffic.
   */
  | { readonly type: 'listener-again'; readonly key: string; readonly granted: boolean }
  /** Open the access log file again (SIGUSR1 to the master: logrotate renamed it). */
  | { readonly type: 'reopen-logs' }
  /** Stop now: close everything and exit. */
  | { readonly type: 'stop' };

// ---- worker → master -------------------------------------------------------------------

export type WorkerMessage =
  /** Listening on every listener: ready to take traffic. */
  | { readonly type: 'ready' }
  /** Start failed (bad handle, listen error, exception): the reload aborts. */
  | { readonly type: 'failed'; readonly error: string }
  /** A live apply's config is compiled and its sockets received: ready to commit. */
  | { readonly type: 'prepared'; readonly id: number }
  /** A live apply's config could not be prepared here: the master aborts it everywhere. */
  | { readonly type: 'prepare-failed'; readonly id: number; readonly error: string }
  /** A live apply is in force in this worker. */
  | { readonly type: 'committed'; readonly id: number; readonly generation: number }
  /** Confirms 'drain': this worker no longer accepts. */
  | { readonly type: 'draining' }
  /** A connection leaving this worker (handle attached); the master forwards it as 'adopt'. */
  | {
      readonly type: 'migrate';
      readonly id: string;
      readonly kind: MigrationKind;
      readonly frontend: string;
      readonly unread: string;
      readonly tunnel?: TunnelResume;
    }
  /** Answers 'counters?'. */
  | { readonly type: 'counters'; readonly id: number; readonly counters: WorkerCounters }
  /** Passive health seen by this worker's traffic. */
  | { readonly type: 'health'; readonly change: StateChange }
  /**
   * The worker closed its copy of a listening socket at a frontend's maxconn (so excess
   * clients wait in the kernel backlog) and is below it again: send the socket once more.
   */
  | { readonly type: 'listener?'; readonly key: string }
  /** Drain finished (about to exit): what happened to its connections, and its final counters (so the master loses none). */
  | {
      readonly type: 'drained';
      readonly migrated: number;
      readonly closedIdle: number;
      readonly timedOut: number;
      readonly counters?: WorkerCounters;
    };

// ---- validation at the boundary --------------------------------------------------------

function isObj(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}
const str = (v: unknown) => typeof v === 'string';
const num = (v: unknown) => typeof v === 'number' && Number.isFinite(v);
const KINDS: readonly unknown[] = ['http', 'tunnel-client', 'tunnel-server'];

function validTunnel(v: unknown): boolean {
  return (
    v === undefined ||
    (isObj(v) &&
      str(v.backend) &&
      str(v.server) &&
      (v.origin === 'tcp' || v.origin === 'upgrade') &&
      num(v.lastActivity) &&
      (v.entry === undefined ||
        (isObj(v.entry) && str(v.entry.time) && num(v.entry.bytes_in) && num(v.entry.bytes_out) && isObj(v.entry.timings))))
  );
}

/** Returns the message if it is a well-formed MasterMessage, else undefined. */
export function parseMasterMessage(v: unknown): MasterMessage | undefined {
  if (!isObj(v)) return undefined;
  switch (v.type) {
    case 'init':
      return num(v.generation) &&
        num(v.configGeneration) &&
        num(v.index) &&
        isObj(v.config) &&
        isObj(v.health) &&
        Array.isArray(v.listeners)
        ? (v as MasterMessage)
        : undefined;
    case 'listener':
      return str(v.key) && (v.apply === undefined || num(v.apply)) ? (v as MasterMessage) : undefined;
    case 'prepare':
      return num(v.id) && num(v.generation) && isObj(v.config) && isObj(v.health) && Array.isArray(v.listeners) && v.listeners.every(str)
        ? (v as MasterMessage)
        : undefined;
    case 'commit':
    case 'abort':
      return num(v.id) ? (v as MasterMessage) : undefined;
    case 'health':
      return Array.isArray(v.changes) ? (v as MasterMessage) : undefined;
    case 'drain':
      return typeof v.migrate === 'boolean' && num(v.deadline) && num(v.reload) && typeof v.sameConfig === 'boolean'
        ? (v as MasterMessage)
        : undefined;
    case 'adopt':
      return str(v.id) && KINDS.includes(v.kind) && str(v.frontend) && str(v.unread) && validTunnel(v.tunnel)
        ? (v as MasterMessage)
        : undefined;
    case 'counters?':
      return num(v.id) ? (v as MasterMessage) : undefined;
    case 'listener-again':
      return str(v.key) && typeof v.granted === 'boolean' ? (v as MasterMessage) : undefined;
    case 'stop':
    case 'reopen-logs':
      return v as MasterMessage;
    default:
      return undefined;
  }
}

/** Returns the message if it is a well-formed WorkerMessage, else undefined. */
export function parseWorkerMessage(v: unknown): WorkerMessage | undefined {
  if (!isObj(v)) return undefined;
  switch (v.type) {
    case 'ready':
    case 'draining':
      return v as WorkerMessage;
    case 'failed':
      return str(v.error) ? (v as WorkerMessage) : undefined;
    case 'prepared':
      return num(v.id) ? (v as WorkerMessage) : undefined;
    case 'prepare-failed':
      return num(v.id) && str(v.error) ? (v as WorkerMessage) : undefined;
    case 'committed':
      return num(v.id) && num(v.generation) ? (v as WorkerMessage) : undefined;
    case 'migrate':
      return str(v.id) && KINDS.includes(v.kind) && str(v.frontend) && str(v.unread) && validTunnel(v.tunnel)
        ? (v as WorkerMessage)
        : undefined;
    case 'counters':
      return num(v.id) && isObj(v.counters) ? (v as WorkerMessage) : undefined;
    case 'health':
      return isObj(v.change) ? (v as WorkerMessage) : undefined;
    case 'listener?':
      return str(v.key) ? (v as WorkerMessage) : undefined;
    case 'drained':
      return num(v.migrated) && num(v.closedIdle) && num(v.timedOut) && (v.counters === undefined || isObj(v.counters))
        ? (v as WorkerMessage)
        : undefined;
    default:
      return undefined;
  }
}
