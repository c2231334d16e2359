// Any proxy as the target, driven by the user's commands: --start (foreground or
// daemonizing), --reload CMD or --reload-signal SIG --pid-file F, --stop (default: SIGTERM
// to every process of the target). The commands get this run's marker in their
// environment, so the processes they leave behind can be found and stopped.
import { readFileSync } from 'node:fs';
import { runShell, signalGroup, spawnShell, type ShellProcess } from './shell-command.js';
import { RELOAD_TIMEOUT_MS, waitAccepting, type ReloadResult, type Target, type TargetContext } from './target.js';

const STOP_TIMEOUT_MS = 30_000;

export interface RenderedCommands {
  readonly start: string;
  readonly reload: { readonly command: string } | { readonly signal: NodeJS.Signals; readonly pidFile: string };
  readonly stop?: string;
}

export class CommandTarget implements Target {
  readonly description: string;
  private started: ShellProcess | undefined;
  private startResult: number | string | undefined;

  constructor(
    private readonly ctx: TargetContext,
    private readonly commands: RenderedCommands,
    readonly drainDeadlineMs: number,
  ) {
    const r = commands.reload;
    this.description = `${commands.start}; reload: ${'command' in r ? r.command : `kill -${r.signal.replace(/^SIG/, '')} $(cat ${r.pidFile})`}`;
  }

  async start(): Promise<void> {
    const p = spawnShell(this.commands.start, { env: this.ctx.env, cwd: this.ctx.dir, logFd: this.ctx.logFd });
    this.started = p;
    this.ctx.tracker.adopt(p.pid);
    void p.exited.then((r) => (this.startResult = r));
    // a daemonizing start exits 0 and the daemon listens; anything else that exits failed
    await waitAccepting(this.ctx, () =>
      this.startResult !== undefined && this.startResult !== 0 ? `the start command exited with ${this.startResult}` : undefined,
    );
  }

  async reload(): Promise<ReloadResult> {
    const r = this.commands.reload;
    if ('command' in r) {
      let pid = 0;
      const res = await runShell(r.command, {
        env: this.ctx.env,
        cwd: this.ctx.dir,
        logFd: this.ctx.logFd,
        timeoutMs: RELOAD_TIMEOUT_MS,
        onSpawn: (p) => {
          pid = p;
          this.ctx.tracker.command(p);
        },
      });
      // its children stay tracked (through the marker, and as listeners) after it exits
      this.ctx.tracker.commandDone(pid);
      return res.ok
        ? { ok: true, durationMs: res.durationMs }
        : { ok: false, durationMs: res.durationMs, error: `reload command: ${res.result}` };
    }
    const started = performance.now();
    let pid: number;
    try {
      const text = readFileSync(r.pidFile, 'utf8').trim();
      if (!/^\d+$/.test(text)) throw new Error(`no pid in ${r.pidFile}: ${JSON.stringify(text.slice(0, 40))}`);
      pid = Number(text);
      process.kill(pid, r.signal);
    } catch (err) {
      return { ok: false, durationMs: performance.now() - started, error: `reload signal: ${(err as Error).message}` };
    }
    return { ok: true, durationMs: performance.now() - started };
  }

  async stop(): Promise<void> {
    if (this.commands.stop !== undefined) {
      let pid = 0;
      await runShell(this.commands.stop, {
        env: this.ctx.env,
        cwd: this.ctx.dir,
        logFd: this.ctx.logFd,
        timeoutMs: STOP_TIMEOUT_MS,
        onSpawn: (p) => {
          pid = p;
          this.ctx.tracker.command(p);
        },
      });
      this.ctx.tracker.commandDone(pid);
      return;
    }
    if (this.started && this.startResult === undefined) signalGroup(this.started.pid, 'SIGTERM');
    this.ctx.tracker.signalAll('SIGTERM');
  }
}
