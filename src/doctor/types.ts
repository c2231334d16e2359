// The facts `handoff doctor` collects from /proc and the findings it derives from them.
// Everything here is plain data (the --json output is built from it), so the diagnosis
// stays a pure function of a Snapshot and new facts can be added as optional fields.

export type IpFamily = 'ipv4' | 'ipv6';

/** One LISTEN socket from /proc/net/tcp or /proc/net/tcp6. */
export interface ListenSocket {
  readonly family: IpFamily;
  /** Canonical text: "127.0.0.1", "::", "::1", "::ffff:127.0.0.1". */
  readonly address: string;
  readonly port: number;
  /** The kernel socket's inode: processes holding an fd on it see `socket:[inode]`. */
  readonly inode: number;
  readonly uid: number;
  /** Connections waiting to be accepted (rx_queue of a LISTEN line), latest sample. */
  readonly acceptQueue: number;
  /** Every sample taken, oldest first (a queue that only grows is not being accepted). */
  readonly acceptQueueSamples: readonly number[];
  /** listen() backlog limit; not in /proc/net/tcp, so null unless `ss` told us. */
  readonly backlog: number | null;
}

export type ProxyKind = 'haproxy' | 'nginx' | 'envoy' | 'handoff';

/**
 * master: owns the workers (nginx master, handoff master); worker: serves traffic for a
 * master; helper: a child that never listens (nginx cache manager/loader); single: one
 * process on its own (envoy); unknown: the command line does not say (haproxy: -W masters
 * and their workers look alike, so the process tree decides).
 */
export type ProxyRole = 'master' | 'worker' | 'helper' | 'single' | 'unknown';

export interface ProxyIdentity {
  readonly kind: ProxyKind;
  readonly role: ProxyRole;
  /** handoff worker --generation, envoy --restart-epoch. */
  readonly generation?: number;
  /** handoff worker --master PID. */
  readonly masterPid?: number;
  /** nginx retitles a worker that drains: "nginx: worker process is shutting down". */
  readonly shuttingDown?: boolean;
}

export interface ProcessInfo {
  readonly pid: number;
  readonly ppid: number;
  /** /proc/PID/comm (the kernel's short name). */
  readonly comm: string;
  /** /proc/PID/cmdline split at NUL; programs may rewrite it (nginx does). */
  readonly cmdline: readonly string[];
  /** Field 22 of /proc/PID/stat: clock ticks after boot; orders processes exactly. */
  readonly startTicks: number;
  /** Wall clock start, ms since the epoch (boot time + ticks; about ±1s). */
  readonly startedAt: number;
  /**
   * Inodes of every LISTEN socket this process holds an fd on, also those outside the
   * --port/--address filter (so "listens nowhere" stays true under a filter).
   */
  readonly listenInodes: readonly number[];
  /** False when /proc/PID/fd was not readable (another user's process): listenInodes is then unknown, not empty. */
  readonly fdsReadable: boolean;
  readonly proxy: ProxyIdentity | null;
}

export interface SnapshotFilter {
  readonly port?: number;
  /** Canonical address text (see ListenSocket.address). */
  readonly address?: string;
}

export interface Snapshot {
  /** ms since the epoch when collection finished: the "now" that ages are measured from. */
  readonly collectedAt: number;
  readonly procRoot: string;
  /** /proc/stat btime, seconds since the epoch. */
  readonly bootTime: number;
  readonly clockTicksPerSecond: number;
  /** Where backlog limits came from; null when unknown. */
  readonly backlogSource: 'ss' | null;
  /** Whether /proc/net/tcp6 was there (absent when IPv6 is disabled). */
  readonly ipv6: boolean;
  readonly filter: SnapshotFilter;
  readonly sockets: readonly ListenSocket[];
  /** Processes that hold a socket of `sockets`, and every known proxy process (wherever it listens, if at all). */
  readonly processes: readonly ProcessInfo[];
  /** Processes whose fds we were not allowed to read (not root): their sockets have no visible owner. */
  readonly unreadableProcesses: number;
  /** What each handoff master says about itself on its control socket (real /proc only). */
  readonly handoff?: readonly HandoffMasterView[];
}

/** One handoff master's own view, from `handoff status` on its control socket. */
export interface HandoffMasterView {
  readonly masterPid: number;
  /** The control socket asked; null when it could not be told. */
  readonly control: string | null;
  /** null when the master did not answer (then `error` says why). */
  readonly status: {
    readonly listeners: readonly { readonly address: string; readonly inode: number | null }[];
    readonly generations: readonly {
      readonly number: number;
      readonly state: string;
      readonly drainDeadline: number | null;
      readonly workers: readonly number[];
    }[];
  } | null;
  readonly error?: string;
}

export type Severity = 'problem' | 'note';

export type FindingCode =
  | 'reuseport-split' // several sockets on one address, held by different programs
  | 'reuseport-shards' // several sockets on one address, one program's deliberate sharding
  | 'stale-generation' // an older proxy instance still listens next to a newer one
  | 'draining' // an older proxy process no longer listens but is still alive
  | 'handoff-old-generation' // handoff workers of an older generation still alive
  | 'handoff-old-generation-listening' // ... and still holding a listening socket
  | 'handoff-orphan-worker' // a handoff worker whose master is gone
  | 'handoff-control-unreachable' // a handoff master that does not answer on its control socket
  | 'handoff-listener-mismatch' // the master's socket for an address is not the one the kernel has listening
  | 'handoff-untracked-worker' // a worker of a master that the master's status does not list
  | 'handoff-overdue-generation' // a draining generation alive past its deadline and the kill grace
  | 'accept-queue-full'
  | 'accept-queue-growing'
  | 'accept-queue-waiting'
  | 'owner-unknown';

export interface Finding {
  readonly code: FindingCode;
  readonly severity: Severity;
  /** "address:port" ("[::1]:8080" for IPv6), when the finding is about one listener. */
  readonly listener?: string;
  readonly pids: readonly number[];
  readonly inodes: readonly number[];
  /** One sentence: what is wrong and what it does to clients. */
  readonly message: string;
  /** One sentence: what to do about it. */
  readonly fix: string;
}
