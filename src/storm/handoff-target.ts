// handoff as the target: `handoff start -f CONFIG` of this very build, reloaded through the
// master's control socket (the same request `handoff reload` sends), stopped by SIGTERM
// (graceful drain) like any service manager would.
import { fileURLToPath } from 'node:url';
import { spawn, type ChildProcess } from 'node:child_process';
import { controlRequest, ControlError } from '../protocol/control-client.js';
import { signalGroup } from './shell-command.js';
import {
  RELOAD_TIMEOUT_MS,
  startError,
  START_TIMEOUT_MS,
  waitAccepting,
  type ReloadResult,
  type Target,
  type TargetContext,
} from './target.js';

const ENTRY = fileURLToPath(new URL('../cli/entry.js', import.meta.url));

export class HandoffTarget implements Target {
  readonly description: string;
  private master: ChildProcess | undefined;
  private exitedWith: number | string | undefined;
  private exited: Promise<void> = Promise.resolve();

  constructor(
    private readonly ctx: TargetContext,
    private readonly control: string,
    readonly drainDeadlineMs: number,
    template: string,
    private readonly restart = false,
  ) {
    this.description = `handoff start -f ${template}, reloaded through its control socket${restart ? ' with --restart (new processes each time)' : ''}`;
  }

  async start(): Promise<void> {
    const child = spawn(process.execPath, [ENTRY, 'start', '-f', this.ctx.configFile], {
      cwd: this.ctx.dir,
      env: this.ctx.env,
      stdio: ['ignore', this.ctx.logFd, this.ctx.logFd],
      detached: true,
    });
    if (child.pid === undefined) throw startError('could not start handoff', this.ctx);
    this.master = child;
    this.ctx.tracker.adopt(child.pid);
    this.exited = new Promise((resolve) => {
      child.once('exit', (code, signal) => {
        this.exitedWith = code ?? signal ?? -1;
        resolve();
      });
    });
    const deadline = performance.now() + START_TIMEOUT_MS;
    const died = () => (this.exitedWith === undefined ? undefined : `handoff start exited (${this.exitedWith}) before it was up`);
    // up = the control socket answers; then the listeners must accept
    for (let attempt = 0; ; attempt++) {
      const why = died();
      if (why) throw startError(why, this.ctx);
      if (this.ctx.signal.aborted) throw startError('interrupted while handoff was starting', this.ctx);
      try {
        const res = await controlRequest(this.control, { type: 'status' }, 5_000);
        if (res.ok) break;
      } catch (err) {
        if (!(err instanceof ControlError)) throw err;
      }
      if (performance.now() > deadline || attempt > 10_000)
        throw startError(`handoff did not answer on ${this.control} within ${START_TIMEOUT_MS / 1000} s`, this.ctx);
      await new Promise((r) => setTimeout(r, 50));
    }
    await waitAccepting(this.ctx, died, Math.max(1000, deadline - performance.now()));
  }

  async reload(): Promise<ReloadResult> {
    const started = performance.now();
    try {
      const res = await controlRequest(this.control, { type: 'reload', ...(this.restart ? { restart: true } : {}) }, RELOAD_TIMEOUT_MS);
      const durationMs = performance.now() - started;
      if (!res.ok) return { ok: false, durationMs, error: res.error.split('\n')[0]! };
      return res.type === 'reload'
        ? { ok: true, durationMs, generation: res.generation }
        : { ok: false, durationMs, error: `unexpected answer ${res.type}` };
    } catch (err) {
      return { ok: false, durationMs: performance.now() - started, error: (err as Error).message };
    }
  }

  /** SIGTERM (graceful: the master drains its workers), and wait for the master within the drain deadline. */
  async stop(): Promise<void> {
    const child = this.master;
    if (!child?.pid || this.exitedWith !== undefined) return;
    child.kill('SIGTERM');
    const timer = setTimeout(() => signalGroup(child.pid!, 'SIGKILL'), this.drainDeadlineMs + 5_000);
    await this.exited;
    clearTimeout(timer);
  }
}
