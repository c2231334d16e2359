// `handoff start --watch`: apply the config file whenever its content changes.
//
// How the file gets replaced decides what can be watched. inotify (fs.watch) watches
// inodes: a watch on the file itself goes stale as soon as an editor or a deploy tool
// renames a new file over it, and a Kubernetes ConfigMap volume never touches the file at
// all: `handoff.yaml -> ..data/handoff.yaml`, `..data -> ..2026_x`, and an update renames
// a new `..data` symlink over the old one. So the watcher watches FOLDERS (their inodes
// stay): the config's folder (atomic replace, in-place write, the `..data` swap) and the
// folder of the file it resolves to now (an in-place write to a symlink's target); both
// are worked out again after every change. A stat poll (fs.watchFile, POLL_MS) is the
// belt and braces for what inotify misses (a full inotify watch table, network file
// systems, a symlink layout these rules do not know).
//
// Every event only marks the file "maybe changed". The watcher waits until no event came
// for SETTLE_MS (a burst of writes settles into one apply; never longer than MAX_SETTLE_MS,
// so a file written without pause is still applied), reads the file, and asks for a reload
// only when its bytes differ from the last ones it saw: no reload and no log line for a
// touch, a poll or a rewrite with the same content. A change that arrives while a reload
// runs is looked at once that reload is done.
//
//   idle ──event──▶ settling ──SETTLE_MS quiet──▶ applying ──done──▶ idle
//                    ▲    └─event: wait again        │ event: dirty
//                    └───────────── dirty ───────────┘
//   any ──close()──▶ closed
import { createHash } from 'node:crypto';
import { watch, watchFile, unwatchFile, type FSWatcher, type Stats } from 'node:fs';
import { readFile, realpath } from 'node:fs/promises';
import { basename, dirname, resolve } from 'node:path';
import { systemCode } from '../lib/errors.js';
import type { Logger } from '../observe/logger.js';

/** Quiet time after the last event before the file is read: lets a burst of writes settle. */
export const SETTLE_MS = 200;
/** A file that keeps changing is read at the latest this long after the first event. */
export const MAX_SETTLE_MS = 2_000;
/** The stat poll behind the inotify watches. */
export const POLL_MS = 2_000;
/** At most this many config errors are logged per rejected file. */
const MAX_LOGGED_ISSUES = 20;

export type WatchState = 'idle' | 'settling' | 'applying' | 'closed';

/** What one apply did, for the log; undefined when the master did not reload (it is stopping). */
export interface ApplyOutcome {
  kind: string;
  generation: number;
  durationMs: number;
}

export interface ConfigWatchOptions {
  /** Ask the master to reload its config file; rejects with the reason (config errors one per line, as file:line:col). */
  apply: () => Promise<ApplyOutcome | undefined>;
  log: Logger;
  settleMs?: number;
  maxSettleMs?: number;
  pollMs?: number;
}

export class ConfigWatch {
  state: WatchState = 'idle';
  private readonly file: string;
  private readonly settleMs: number;
  private readonly maxSettleMs: number;
  private readonly pollMs: number;
  /** Folder → its watch, and which names in it matter. */
  private readonly folders = new Map<string, { watcher: FSWatcher; names: Set<string>; kubernetes: boolean }>();
  private timer: NodeJS.Timeout | undefined;
  private settlingSince = 0;
  private dirty = false;
  /** Digest of the bytes last seen (applied, rejected or found missing). */
  private lastDigest: string | undefined;
  private watchFailureLogged = false;
  private readonly onPoll = (cur: Stats, prev: Stats) => {
    if (cur.ino !== prev.ino || cur.mtimeMs !== prev.mtimeMs || cur.size !== prev.size || cur.ctimeMs !== prev.ctimeMs) this.changed();
  };

  constructor(
    file: string,
    private readonly options: ConfigWatchOptions,
  ) {
    this.file = resolve(file);
    this.settleMs = options.settleMs ?? SETTLE_MS;
    this.maxSettleMs = options.maxSettleMs ?? MAX_SETTLE_MS;
    this.pollMs = options.pollMs ?? POLL_MS;
  }

  /**
   * Start watching. `baseline`: the file's bytes as the master loaded them (read before it
   * started); the file is looked at once now, so a change made while the master started
   * is applied too.
   */
  async start(baseline: Buffer | undefined): Promise<void> {
    if (baseline) this.lastDigest = digest(baseline);
    await this.arm();
    if (this.state === 'closed') return; // closed while starting (a stop signal): nothing to undo
    watchFile(this.file, { persistent: true, interval: this.pollMs }, this.onPoll);
    this.options.log.info('watching the config file', { file: this.file, settle_ms: this.settleMs, poll_ms: this.pollMs });
    this.changed();
  }

  close(): void {
    if (this.state === 'closed') return;
    this.state = 'closed';
    clearTimeout(this.timer);
    unwatchFile(this.file, this.onPoll);
    for (const f of this.folders.values()) f.watcher.close();
    this.folders.clear();
  }

  /** Something may have changed: (re)start the settle timer, or mark dirty while applying. */
  private changed(): void {
    switch (this.state) {
      case 'closed':
        return;
      case 'applying':
        this.dirty = true;
        return;
      case 'idle':
        this.state = 'settling';
        this.settlingSince = Date.now();
        break;
      case 'settling':
        break;
    }
    clearTimeout(this.timer);
    const wait = Math.max(0, Math.min(this.settleMs, this.settlingSince + this.maxSettleMs - Date.now()));
    this.timer = setTimeout(() => void this.settled(), wait);
  }

  private async settled(): Promise<void> {
    if (this.state !== 'settling') return;
    this.state = 'applying';
    this.dirty = false;
    try {
      await this.arm();
      await this.look();
    } catch (err) {
      this.options.log.warn('config watch: unexpected error', { file: this.file, error: (err as Error).message });
    }
    if (this.state !== 'applying') return; // closed meanwhile
    this.state = 'idle';
    if (this.dirty) this.changed();
  }

  /** Read the file; reload if its bytes are new. */
  private async look(): Promise<void> {
    const { log } = this.options;
    let bytes: Buffer;
    try {
      bytes = await readFile(this.file);
    } catch (err) {
      const d = `unreadable:${systemCode(err) ?? 'error'}`;
      if (d !== this.lastDigest)
        log.warn('config file cannot be read; the running config keeps serving', { file: this.file, error: (err as Error).message });
      this.lastDigest = d;
      return;
    }
    const d = digest(bytes);
    if (d === this.lastDigest) {
      log.debug('config file looked at: content unchanged', { file: this.file });
      return;
    }
    this.lastDigest = d;
    log.info('config file changed; reloading', { file: this.file });
    try {
      const outcome = await this.options.apply();
      if (outcome)
        log.info('config file applied', {
          file: this.file,
          kind: outcome.kind,
          generation: outcome.generation,
          duration_ms: outcome.durationMs,
        });
    } catch (err) {
      const lines = (err as Error).message.split('\n').filter((l) => l !== '');
      log.warn('config file rejected; the running config keeps serving', { file: this.file, errors: lines.length });
      for (const line of lines.slice(0, MAX_LOGGED_ISSUES)) log.warn('config error', { issue: line });
    }
  }

  /** Watch the config's folder and the folder of the file it resolves to now; drop other watches. */
  private async arm(): Promise<void> {
    const wanted = new Map<string, { names: Set<string>; kubernetes: boolean }>();
    wanted.set(dirname(this.file), { names: new Set([basename(this.file)]), kubernetes: true });
    try {
      const real = await realpath(this.file);
      const entry = wanted.get(dirname(real));
      if (entry) entry.names.add(basename(real));
      else wanted.set(dirname(real), { names: new Set([basename(real)]), kubernetes: false });
    } catch {
      // Missing for now: the folder watch sees it come back.
    }
    if (this.state === 'closed') return;
    for (const [dir, f] of this.folders) {
      if (!wanted.has(dir)) {
        f.watcher.close();
        this.folders.delete(dir);
      }
    }
    for (const [dir, want] of wanted) {
      const have = this.folders.get(dir);
      if (have) {
        have.names = want.names;
        continue;
      }
      try {
        const watcher = watch(dir, { persistent: true }, (_event, name) => {
          if (name === null || this.relevant(dir, name.toString())) this.changed();
        });
        // A folder that goes away (an old ConfigMap data folder) ends its watch; the next
        // look arms what is needed then.
        watcher.on('error', () => {
          watcher.close();
          if (this.folders.get(dir)?.watcher === watcher) this.folders.delete(dir);
          this.changed();
        });
        this.folders.set(dir, { watcher, ...want });
      } catch (err) {
        // ENOSPC: the inotify watch limit; the stat poll still sees changes.
        if (!this.watchFailureLogged)
          this.options.log.warn('cannot watch a folder; polling only', {
            folder: dir,
            error: (err as Error).message,
            poll_ms: this.pollMs,
          });
        this.watchFailureLogged = true;
      }
    }
  }

  /** Events about other files in the folder (an access log next to the config) are ignored. */
  private relevant(dir: string, name: string): boolean {
    const f = this.folders.get(dir);
    if (!f) return true;
    // Kubernetes' atomic writer: `..data`, `..data_tmp`, `..2026_11_26_16_47_02.123`.
    return f.names.has(name) || (f.kubernetes && name.startsWith('..'));
  }
}

function digest(bytes: Buffer): string {
  return createHash('sha256').update(bytes).digest('hex');
}
