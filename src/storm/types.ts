// Types of `handoff storm`, the reload-under-load verifier: what the user asked for
// (StormOptions), what a client saw (Outcome), and what the report says (StormReport,
// the --json format handoff-storm/1). Types only; the behaviour lives beside them.
import type { SocketAddress } from '../config/types.js';

/** handoff itself: storm runs `handoff start -f` on the rendered template, reloads by the control socket. */
export interface HandoffTargetSpec {
  readonly kind: 'handoff';
  /** Path of the config template. */
  readonly template: string;
  /** Each reload asks for new worker processes (`handoff reload --restart`) instead of a live apply. */
  readonly restart?: boolean;
}

/** Any proxy, driven by shell commands. */
export interface CommandTargetSpec {
  readonly kind: 'command';
  /** Path of the config template (rendered to {config}); optional for proxies configured on their command line. */
  readonly template?: string;
  readonly start: string;
  /** A command to run per reload, or a signal to send to the pid in pidFile. */
  readonly reload: { readonly command: string } | { readonly signal: NodeJS.Signals; readonly pidFile: string };
  readonly stop?: string;
  /** Addresses to send load to, as templates ("127.0.0.1:${port.web}"). */
  readonly frontends: readonly string[];
  /** How long an old process may live after a reload before it counts as left over. */
  readonly drainDeadlineMs: number;
}

export type TargetSpec = HandoffTargetSpec | CommandTargetSpec;

/** `--route HOST=NAME[+NAME]`: requests for HOST must be answered by one of these backends. */
export interface RouteSpec {
  readonly host: string;
  readonly backends: readonly string[];
}

export interface StormOptions {
  readonly target: TargetSpec;
  /** Template of the config that adds a host and a backend, for the new-route phase. */
  readonly configNext?: string;
  readonly intervalMs: number;
  /** Stop after this many reloads (and/or after durationMs). */
  readonly reloads: number;
  readonly durationMs?: number;
  readonly keepalive: number;
  readonly fresh: number;
  readonly websocket: number;
  /** Per request (connect included) and per WebSocket echo. */
  readonly timeoutMs: number;
  /** Requests per second per client; 0 = as fast as the target answers. */
  readonly rate: number;
  readonly probe: number;
  readonly probeHost?: string;
  readonly probeBackend?: string;
  /** Wait this long after the config-next reload before probing (targets reloaded by a signal cannot say when they are done). */
  readonly probeAfterMs: number;
  /** Generic targets: which backends answer which host. */
  readonly routes: readonly RouteSpec[];
  /** Backends that already run (name → loopback address); the others named in the templates are started by storm. */
  readonly backends: Readonly<Record<string, string>>;
  readonly sampleEveryMs: number;
  /** Keep the work folder (rendered configs, target log) instead of removing it. */
  readonly keepDir: boolean;
  /** --tls: the HTTP clients (keep-alive, fresh, probes) speak TLS to the frontends. */
  readonly tls?: StormTls;
}

export interface StormTls {
  /** --ca: trust only these CAs (else the system roots). */
  readonly caFile?: string;
  /** --sni: the server name of every connection (else the Host it is opened for). */
  readonly sni?: string;
  /** --insecure: no certificate verification. */
  readonly insecure: boolean;
}

export type ClientKind = 'keepalive' | 'fresh' | 'websocket' | 'probe';

export type FailureKind =
  | 'refused' // connect() refused: nothing listening
  | 'reset' // TCP RST before the whole response
  | 'eof' // connection closed before any byte of the response
  | 'truncated' // closed after part of the response
  | 'timeout' // no complete response within the timeout
  | 'http-status' // answered with a status other than 2xx (101 for WebSocket)
  | 'wrong-backend' // answered by a backend the config in force does not route this host to
  | 'bad-response' // not parsable as HTTP/1.x or WebSocket
  | 'ws-mismatch' // an echo out of order or with other content
  | 'ws-closed' // a WebSocket close frame while echoes were outstanding
  | 'tls-handshake' // --tls: the TLS handshake failed, timed out, or the certificate was refused
  | 'socket-error'; // any other socket error (EADDRNOTAVAIL, ...)

export interface Failure {
  readonly kind: FailureKind;
  readonly status?: number;
  /** errno code for reset/refused/socket-error. */
  readonly code?: string;
  readonly detail: string;
}

/** What one request (or one WebSocket echo) came to. */
export type Outcome =
  | { readonly ok: true; readonly latencyMs: number; readonly backend: string | undefined }
  | { readonly ok: false; readonly failure: Failure };

/** Where load goes: a frontend address, a Host header, a path, and who may answer. */
export interface LoadTarget {
  readonly frontend: SocketAddress;
  readonly host: string;
  /** Path prefix of the requests ("/storm", "/api/storm"). */
  readonly path: string;
  /** Stable identity across config versions: "frontend host path". */
  readonly key: string;
}

/** Backend names allowed to answer each target, for one config version; null = not checked. */
export type Routing = ReadonlyMap<string, ReadonlySet<string> | null>;

export interface LatencySummary {
  readonly count: number;
  readonly p50: number | null;
  readonly p99: number | null;
  readonly max: number | null;
}

export interface ClientTotals {
  readonly sent: number;
  readonly ok: number;
  readonly failed: number;
  /** Connections the target closed between requests (legitimate, not failures). */
  readonly closedIdle: number;
  readonly latency: LatencySummary;
}

export interface FailureExample {
  /** ms since the storm started */
  readonly at: number;
  readonly client: ClientKind;
  readonly target: string;
  readonly key: string;
  readonly detail: string;
}

export interface ReloadRecord {
  readonly index: number;
  readonly phase: 'storm' | 'next';
  /** ms since the storm started */
  readonly at: number;
  readonly durationMs: number;
  readonly ok: boolean;
  readonly error?: string;
  /** The generation number, when the target tells (handoff). */
  readonly generation?: number;
}

export interface Sample {
  /** ms since the storm started */
  readonly t: number;
  /** LISTEN sockets per frontend address, in the order of report.listeners.addresses. */
  readonly listen: readonly number[];
  /** Target processes alive. */
  readonly processes: number;
}

export interface TrackedProcessOut {
  readonly pid: number;
  readonly command: string;
  /** How storm came to know it. */
  readonly via: 'started' | 'child' | 'listener' | 'marker';
  /** ms since the storm started (negative: before); from /proc, about ±10 ms. */
  readonly startedAt: number;
  /** ms since the storm started; null while alive. */
  readonly exitedAt: number | null;
}

export interface ProbeReport {
  readonly targets: readonly string[];
  readonly backend: string;
  readonly sent: number;
  readonly reachedNew: number;
  readonly status503: number;
  /** Other statuses by code. */
  readonly otherStatus: Readonly<Record<string, number>>;
  /** 2xx from a backend that is not the new one. */
  readonly wrongBackend: number;
  /** Transport failures by kind. */
  readonly failed: Readonly<Record<string, number>>;
}

export interface StormReport {
  readonly format: 'handoff-storm/1';
  readonly verdict: 'ok' | 'problem' | 'interrupted';
  /** One sentence per problem found (empty when ok). */
  readonly problems: readonly string[];
  readonly target: { readonly kind: TargetSpec['kind']; readonly description: string; readonly workDir: string };
  readonly settings: {
    readonly intervalMs: number;
    readonly reloads: number;
    readonly durationMs: number | null;
    readonly keepalive: number;
    readonly fresh: number;
    readonly websocket: number;
    readonly timeoutMs: number;
    readonly rate: number;
    readonly probe: number;
    readonly drainDeadlineMs: number;
    /** --tls: how the clients spoke TLS ("verified against CA.pem, SNI = Host"), or null. */
    readonly tls: string | null;
  };
  readonly startedAt: string;
  readonly elapsedMs: number;
  readonly interrupted: boolean;
  readonly backends: Readonly<Record<string, string>>;
  readonly loadTargets: readonly string[];
  readonly requests: {
    readonly sent: number;
    readonly ok: number;
    readonly failed: number;
    readonly byClient: Readonly<Record<'keepalive' | 'fresh' | 'websocket', ClientTotals>>;
  };
  readonly failures: {
    /** "refused", "reset", "eof", "truncated", "timeout", "http-503", "wrong-backend", ... */
    readonly byKind: Readonly<Record<string, number>>;
    readonly examples: readonly FailureExample[];
  };
  readonly latency: { readonly overall: LatencySummary; readonly afterReload: LatencySummary };
  readonly reloads: {
    readonly requested: number;
    readonly ok: number;
    readonly failed: number;
    readonly durationMs: LatencySummary;
    readonly list: readonly ReloadRecord[];
  };
  readonly listeners: {
    readonly addresses: readonly string[];
    readonly samples: number;
    /** Per address: fewest and most LISTEN sockets seen in one sample, and in how many samples it was not exactly 1. */
    readonly perAddress: readonly { readonly address: string; readonly min: number; readonly max: number; readonly notOne: number }[];
  };
  readonly processes: {
    readonly maxAlive: number;
    readonly seen: readonly TrackedProcessOut[];
    /** Alive at the drain deadline after the last reload, and neither new nor the parent of a new one. */
    readonly leftovers: readonly TrackedProcessOut[];
    /** Processes storm had to SIGKILL when cleaning up. */
    readonly killed: readonly number[];
  };
  readonly probe: ProbeReport | null;
  readonly samples: readonly Sample[];
}
