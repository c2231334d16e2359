// handoff's own view, for the cross-check: each handoff master found in /proc is asked for
// its status on its control socket. The socket is the `control` of the config named by
// the master's command line (`start -f FILE`, relative to the master's working folder), or
// the built-in demo's. What it answers becomes facts beside the kernel's (types.ts
// HandoffMasterView), and diagnose.ts compares the two.
import { readlinkSync } from 'node:fs';
import { isAbsolute, join, resolve } from 'node:path';
import { controlPathOfFile, demoDir } from '../config/control-path.js';
import { controlRequest } from '../protocol/control-client.js';
import type { HandoffMasterView, ProcessInfo } from './types.js';

const ASK_TIMEOUT_MS = 2000;

/** The control socket of the master with this command line and working folder. */
export function controlSocketOf(cmdline: readonly string[], cwd: string): string {
  const i = cmdline.findIndex((a) => a === '-f' || a === '--file');
  const inline = cmdline.find((a) => a.startsWith('--file='));
  const file = i >= 0 ? cmdline[i + 1] : inline?.slice('--file='.length);
  if (!file) return resolve(demoDir(), 'handoff.sock');
  return controlPathOfFile(isAbsolute(file) ? file : join(cwd, file));
}

export async function askHandoffMasters(processes: readonly ProcessInfo[], procRoot: string): Promise<HandoffMasterView[]> {
  const masters = processes.filter((p) => p.proxy?.kind === 'handoff' && p.proxy.role === 'master');
  return Promise.all(
    masters.map(async (m): Promise<HandoffMasterView> => {
      let control: string;
      try {
        control = controlSocketOf(m.cmdline, readlinkSync(join(procRoot, String(m.pid), 'cwd')));
      } catch (err) {
        return { masterPid: m.pid, control: null, status: null, error: `cannot tell its control socket: ${(err as Error).message}` };
      }
      try {
        const res = await controlRequest(control, { type: 'status' }, ASK_TIMEOUT_MS);
        if (!res.ok || res.type !== 'status')
          return { masterPid: m.pid, control, status: null, error: res.ok ? 'unexpected answer' : res.error };
        if (res.status.master.pid !== m.pid)
          return {
            masterPid: m.pid,
            control,
            status: null,
            error: `the socket is answered by another master (pid ${res.status.master.pid})`,
          };
        return {
          masterPid: m.pid,
          control,
          status: {
            listeners: res.status.listeners.map((l) => ({ address: l.address, inode: l.inode ?? null })),
            generations: res.status.generations.map((g) => ({
              number: g.number,
              state: g.state,
              drainDeadline: g.drainDeadline ?? null,
              workers: g.workers.map((w) => w.pid),
            })),
          },
        };
      } catch (err) {
        return { masterPid: m.pid, control, status: null, error: (err as Error).message };
      }
    }),
  );
}
