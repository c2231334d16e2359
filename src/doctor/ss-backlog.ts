// The listen() backlog of each socket is not in /proc/net/tcp; `ss` gets it over netlink
// (for a LISTEN socket ss shows it as Send-Q). Optional: without ss the limit stays unknown.
import { execFile } from 'node:child_process';

/** inode -> backlog, from `ss -ltne` output (lines "LISTEN 0 128 0.0.0.0:80 0.0.0.0:* ... ino:1060 ..."). */
export function parseSsListen(text: string): Map<number, number> {
  const out = new Map<number, number>();
  for (const line of text.split('\n')) {
    const f = line.trim().split(/\s+/);
    if (f[0] !== 'LISTEN' || !/^\d+$/.test(f[2] ?? '')) continue;
    const ino = /\bino:(\d+)/.exec(line);
    if (ino && ino[1] !== '0') out.set(Number(ino[1]), Number(f[2]));
  }
  return out;
}

/** Backlogs of this network namespace's TCP listeners, or null when ss is missing or fails. */
export function readBacklogs(timeoutMs = 3000): Promise<Map<number, number> | null> {
  return new Promise((resolve) => {
    execFile('ss', ['-ltne'], { timeout: timeoutMs, maxBuffer: 64 * 1024 * 1024 }, (err, stdout) => {
      resolve(err ? null : parseSsListen(stdout));
    });
  });
}
