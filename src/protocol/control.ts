// The control protocol between the CLI (or any client) and the master, over the UNIX
// control socket: one JSON object per line each way, one request per connection.
// Requests and responses are validated at the boundary.
import type { ConnectionState } from './counters.js';
import type { BackendCounters, LifetimeTotals, LogDropped } from './counters.js';
import type { Histogram } from '../observe/histogram.js';
import type { TlsCertificateStatus } from '../tls/status.js';

export type ControlRequest =
  /**
   * Reload; answered once the new config is in force (or the reload failed). `file`: load
   * this config instead of the current one. `restart`: new worker processes even when the
   * change could be applied live.
   */
  | { readonly type: 'reload'; readonly file?: string; readonly restart?: boolean }
  /** Push a config document (YAML text): validated like `handoff check`, written over the master's config file, then reloaded. */
  | { readonly type: 'apply'; readonly config: string; readonly restart?: boolean }
  | { readonly type: 'status' }
  /** Reopen the access log files (as SIGUSR1 does): answered once every live worker is told. */
  | { readonly type: 'reopen-logs' }
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

/** live: applied in the running workers; process: a new generation of workers (with migration); unchanged: same config, nothing done. */
export type ReloadKind = 'live' | 'process' | 'unchanged';

export interface ReloadRecord {
  readonly id: number;
  readonly requestedAt: number;
  /** How many requests this run answered (requests that arrived during a run are coalesced). */
  readonly requests: number;
  outcome: ReloadOutcome | 'running';
  /** Decided once the config is loaded. */
  kind?: ReloadKind;
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
  /** Process generation: the one it was started as. */
  readonly generation: number;
  /** Config generation: the config it runs (raised by live applies). */
  readonly configGeneration: number;
  readonly state: WorkerState;
  readonly startedAt: number;
  readonly connections: Record<ConnectionState, number> | undefined;
  readonly requests: number | undefined;
  /** Replacement workers started for this worker's slot since its generation started (crashes, failed starts). */
  readonly restarts: number;
}

export interface GenerationStatus {
  readonly number: number;
  readonly state: GenerationState;
  readonly startedAt: number;
  /** The config in force in this process generation (its own number until a live apply). */
  readonly configGeneration: number;
  readonly configHash: string;
  readonly configFile: string;
  readonly drainDeadline?: number;
  /** When it was told to drain (epoch ms). */
  readonly drainStartedAt?: number;
  readonly workers: readonly WorkerStatus[];
  /** Workers of this generation that crashed and were replaced. */
  readonly crashes: number;
  /** Workers the config asks for (`workers`): more than `workers.length` while some are being replaced. */
  readonly workersWanted: number;
  /** An active generation replacing lost workers, or that failed to: see src/master/spawn-backoff.ts. */
  readonly respawn?: RespawnStatus;
}

export interface RespawnStatus {
  /** Attempts to start a replacement worker that failed (fork failed, or it never became ready). */
  readonly failures: number;
  /** The last failure ("spawn EMFILE", "worker 123 not ready after 15000ms", ...) and when (epoch ms). */
  readonly lastError?: string;
  readonly lastErrorAt?: number;
  /** When the next attempt to start a replacement is due (epoch ms), while one is pending. */
  readonly nextAttemptAt?: number;
}

export interface ListenerStatus {
  readonly address: string;
  readonly frontend: string;
  readonly inode: number | undefined;
}

/** Reloads since the master started (the history above keeps only the last ones). */
export interface ReloadTotals {
  /** kind: live | process | unchanged | none (failed before a kind was chosen); outcome: ok | failed. */
  readonly byKindOutcome: readonly { readonly kind: string; readonly outcome: string; readonly count: number }[];
  /** Durations by kind (RELOAD_BUCKETS). */
  readonly duration: Readonly<Record<string, Histogram>>;
  /** Epoch ms of the last successful reload (the start counts as one). */
  readonly lastSuccessAt: number;
  readonly lastFailureAt?: number;
}

export interface StatusReport {
  readonly master: {
    /** starting | running | stopping | stopped: readiness (stats /ready) is 'running'. */
    readonly state: string;
    /** The Node.js version the master runs. */
    readonly node: string;
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
  readonly reloadTotals: ReloadTotals;
  /** Gauges from the workers alive, with server states and queue counters. */
  readonly backends: Readonly<Record<string, BackendCounters>>;
  /** Every counter since the master started, including workers that exited (src/master/counter-archive.ts). */
  readonly lifetime: LifetimeTotals;
  /** Connections by state are the workers' alive now; every other figure is since the master started. */
  readonly totals: {
    readonly accepted: number;
    readonly requests: number;
    readonly byClass: Readonly<Record<string, number>>;
    readonly connections: Record<ConnectionState, number>;
    readonly retries: number;
    readonly migratedOut: number;
    readonly migratedIn: number;
    /** Log lines lost by the master and the workers (their buffer was full, or a write failed). */
    readonly logDropped: LogDropped;
  };
  /** TLS certificates in force (issue 11): names, expiry, serial; never a key. */
  readonly tls?: readonly TlsCertificateStatus[];
}

export type ControlResponse =
  | {
      readonly ok: true;
      readonly type: 'reload';
      readonly kind: ReloadKind;
      readonly generation: number;
      readonly durationMs: number;
      readonly warnings: readonly string[];
      readonly coalesced: number;
    }
  | { readonly ok: true; readonly type: 'status'; readonly status: StatusReport }
  | { readonly ok: true; readonly type: 'stop' }
  | { readonly ok: true; readonly type: 'reopen-logs'; readonly workers: number }
  | { readonly ok: false; readonly error: string; readonly issues?: readonly ConfigIssueOut[] };

function isObj(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

export function parseControlRequest(v: unknown): ControlRequest | undefined {
  if (!isObj(v)) return undefined;
  switch (v.type) {
    case 'reload':
      return (v.file === undefined || typeof v.file === 'string') && (v.restart === undefined || typeof v.restart === 'boolean')
        ? (v as ControlRequest)
        : undefined;
    case 'apply':
      return typeof v.config === 'string' && (v.restart === undefined || typeof v.restart === 'boolean')
        ? (v as ControlRequest)
        : undefined;
    case 'status':
    case 'reopen-logs':
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
    case 'reopen-logs':
      return typeof v.workers === 'number' ? (v as ControlResponse) : undefined;
    default:
      return undefined;
  }
}
