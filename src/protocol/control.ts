// The control protocol between the CLI (or any client) and the master, over the UNIX
// control socket: one JSON object per line each way, one request per connection.
// Requests and responses are validated at the boundary.
import type { ConnectionState } from './counters.js';
import type { BackendCounters, LogDropped } from './counters.js';

export type ControlRequest =
  /** Reload; answered once the new generation is active (or the reload failed). `file`: load this config instead of the current one. */
  | { readonly type: 'reload'; readonly file?: string }
  | { readonly type: 'status' }
  /** Graceful stop (drain), or immediate with now. Answered before the master exits. */
  | { readonly type: 'stop'; readonly now?: boolean };

export interface ConfigIssueOut {
  readonly file: string;
  readonly line: number;
  readonly col: number;
  readonly path: string;
  readonly message: string;
}

export type ReloadOutcome = 'ok' | 'failed';

export interface ReloadRecord {
  readonly id: number;
  readonly requestedAt: number;
  /** How many requests this run answered (requests that arrived during a run are coalesced). */
  readonly requests: number;
  outcome: ReloadOutcome | 'running';
  durationMs: number;
  generation?: number;
  reason?: string;
  /** Filled in when the generations this reload drained have exited. */
  drained?: { migrated: number; closedIdle: number; timedOut: number; killed: number };
}

export type GenerationState = 'starting' | 'active' | 'draining' | 'stopped' | 'failed';
export type WorkerState = 'starting' | 'ready' | 'draining' | 'exited';

export interface WorkerStatus {
  readonly pid: number;
  readonly generation: number;
  readonly state: WorkerState;
  readonly startedAt: number;
  readonly connections: Record<ConnectionState, number> | undefined;
  readonly requests: number | undefined;
  readonly restarts: number;
}

export interface GenerationStatus {
  readonly number: number;
  readonly state: GenerationState;
  readonly startedAt: number;
  readonly configHash: string;
  readonly configFile: string;
  readonly drainDeadline?: number;
  readonly workers: readonly WorkerStatus[];
  /** Workers of this generation that crashed and were replaced. */
  readonly crashes: number;
}

export interface ListenerStatus {
  readonly address: string;
  readonly frontend: string;
  readonly inode: number | undefined;
}

export interface StatusReport {
  readonly master: {
    readonly pid: number;
    readonly startedAt: number;
    readonly configFile: string;
    readonly version: string;
    readonly control: string;
    /** The master's own memory in bytes: it must stay flat however many reloads it runs. */
    readonly memory: { readonly rss: number; readonly heapUsed: number };
  };
  readonly generations: readonly GenerationStatus[];
  readonly listeners: readonly ListenerStatus[];
  readonly reloads: readonly ReloadRecord[];
  readonly backends: Readonly<Record<string, BackendCounters>>;
  readonly totals: {
    readonly accepted: number;
    readonly requests: number;
    readonly byClass: Readonly<Record<string, number>>;
    readonly connections: Record<ConnectionState, number>;
    readonly retries: number;
    readonly migratedOut: number;
    readonly migratedIn: number;
    /** Log lines lost by the master and the workers alive (their buffer was full, or a write failed). */
    readonly logDropped: LogDropped;
  };
}

export type ControlResponse =
  | { readonly ok: true; readonly type: 'reload'; readonly generation: number; readonly durationMs: number; readonly warnings: readonly string[]; readonly coalesced: number }
  | { readonly ok: true; readonly type: 'status'; readonly status: StatusReport }
  | { readonly ok: true; readonly type: 'stop' }
  | { readonly ok: false; readonly error: string; readonly issues?: readonly ConfigIssueOut[] };

function isObj(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

export function parseControlRequest(v: unknown): ControlRequest | undefined {
  if (!isObj(v)) return undefined;
  switch (v.type) {
    case 'reload':
      return v.file === undefined || typeof v.file === 'string' ? (v as ControlRequest) : undefined;
    case 'status':
      return v as ControlRequest;
    case 'stop':
      return v.now === undefined || typeof v.now === 'boolean' ? (v as ControlRequest) : undefined;
    default:
      return undefined;
  }
}

export function parseControlResponse(v: unknown): ControlResponse | undefined {
  if (!isObj(v) || typeof v.ok !== 'boolean') return undefined;
  if (!v.ok) return typeof v.error === 'string' ? (v as ControlResponse) : undefined;
  switch (v.type) {
    case 'reload':
      return typeof v.generation === 'number' && typeof v.durationMs === 'number' ? (v as ControlResponse) : undefined;
    case 'status':
      return isObj(v.status) ? (v as ControlResponse) : undefined;
    case 'stop':
      return v as ControlResponse;
    default:
      return undefined;
  }
}
