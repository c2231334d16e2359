// What `handoff doctor` prints: a table per address:port, the findings, a one-line verdict;
// or, with --json, the same facts and findings in a stable machine format (handoff-doctor/1:
// fields are only ever added, never renamed or removed).
import { formatAge } from './format-age.js';
import { groupListeners } from './listeners.js';
import { describeProxy } from './proxy-kind.js';
import { verdict } from './diagnose.js';
import type { Finding, ProcessInfo, Snapshot } from './types.js';

export const JSON_FORMAT = 'handoff-doctor/1';

const COMMAND_WIDTH = 100;

function command(p: ProcessInfo): string {
  const text = p.cmdline.length ? p.cmdline.join(' ') : `[${p.comm}]`;
  return text.length > COMMAND_WIDTH ? `${text.slice(0, COMMAND_WIDTH - 3)}...` : text;
}

function table(rows: readonly (readonly string[])[]): string[] {
  const widths = rows[0]!.map((_, col) => Math.max(...rows.map((r) => r[col]!.length)));
  // the last column (the command) is not padded
  return rows.map((r) => `  ${r.map((cell, col) => (col === r.length - 1 ? cell : cell.padEnd(widths[col]!))).join('  ')}`);
}

function plural(n: number, word: string, words = `${word}s`): string {
  return `${n} ${n === 1 ? word : words}`;
}

function filterText(s: Snapshot): string {
  const parts: string[] = [];
  if (s.filter.port !== undefined) parts.push(`--port ${s.filter.port}`);
  if (s.filter.address !== undefined) parts.push(`--address ${s.filter.address}`);
  return parts.join(' ');
}

/** The verdict line, also the last line of the text report. */
export function verdictLine(findings: readonly Finding[]): string {
  const problems = findings.filter((x) => x.severity === 'problem').length;
  const notes = findings.length - problems;
  const noteText = notes ? `, ${plural(notes, 'note')}` : '';
  return problems
    ? `Verdict: PROBLEM: ${plural(problems, 'problem')}${noteText}.`
    : `Verdict: healthy: no stale or duplicate listeners${noteText}.`;
}

export function renderText(snapshot: Snapshot, findings: readonly Finding[]): string {
  const now = snapshot.collectedAt;
  const groups = groupListeners(snapshot);
  const out: string[] = [];
  const filter = filterText(snapshot);
  const socketCount = snapshot.sockets.length;
  out.push(
    `handoff doctor: ${plural(groups.length, 'listening address', 'listening addresses')}, ${plural(socketCount, 'socket')}${filter ? ` (${filter})` : ''}, read from ${snapshot.procRoot}`,
  );
  out.push('');
  if (groups.length === 0) {
    out.push(filter ? `No listening TCP socket matches ${filter}.` : 'No listening TCP sockets.');
    out.push('');
  }
  const shown = new Set<number>();
  for (const g of groups) {
    const split = g.sockets.length > 1 ? ' (SO_REUSEPORT: the kernel splits new connections between them)' : '';
    out.push(`${g.key}  ${plural(g.sockets.length, 'socket')}${split}`);
    const rows: string[][] = [['INODE', 'ACCEPT-Q', 'PID', 'AGE', 'KIND', 'COMMAND']];
    for (const { socket: s, holders } of g.sockets) {
      const queue = `${s.acceptQueue}/${s.backlog ?? '?'}`;
      if (holders.length === 0) rows.push([String(s.inode), queue, '?', '', '', '(no visible process holds it)']);
      holders.forEach((p, i) => {
        shown.add(p.pid);
        rows.push([
          i === 0 ? String(s.inode) : '',
          i === 0 ? queue : '',
          String(p.pid),
          formatAge(now - p.startedAt),
          describeProxy(p.proxy),
          command(p),
        ]);
      });
    }
    out.push(...table(rows), '');
  }
  // under a filter, only the proxy processes a finding names (the rest belong to other ports)
  const named = new Set(findings.flatMap((x) => x.pids));
  const filtered = snapshot.filter.port !== undefined || snapshot.filter.address !== undefined;
  const others = snapshot.processes
    .filter((p) => p.proxy && !shown.has(p.pid) && (!filtered || named.has(p.pid)))
    .sort((a, b) => a.startTicks - b.startTicks || a.pid - b.pid);
  if (others.length) {
    out.push('Other proxy processes (no listening socket shown above)');
    const rows: string[][] = [['PID', 'PPID', 'AGE', 'KIND', 'LISTENS', 'COMMAND']];
    for (const p of others) {
      const listens = !p.fdsReadable ? '?' : p.listenInodes.length ? 'elsewhere' : 'no';
      rows.push([String(p.pid), String(p.ppid), formatAge(now - p.startedAt), describeProxy(p.proxy), listens, command(p)]);
    }
    out.push(...table(rows), '');
  }
  for (const h of snapshot.handoff ?? []) {
    if (!h.status) {
      out.push(`handoff master ${h.masterPid}: no answer on its control socket${h.control ? ` ${h.control}` : ''} (${h.error ?? '?'})`, '');
      continue;
    }
    const gens = h.status.generations
      .filter((g) => g.workers.length > 0)
      .map((g) => `#${g.number} ${g.state} (${plural(g.workers.length, 'worker')})`);
    out.push(
      `handoff master ${h.masterPid} says (control ${h.control}): ${gens.join(', ') || 'no generation alive'}; listeners ${h.status.listeners.map((l) => `${l.address} inode ${l.inode ?? '?'}`).join(', ') || 'none'}`,
      '',
    );
  }
  if (socketCount > 0 && snapshot.backlogSource === null) {
    out.push(
      'ACCEPT-Q is queued/backlog; the backlog limit is not in /proc/net/tcp and ss (iproute2) was not available, so it shows as ?.',
      '',
    );
  }
  if (findings.length) {
    out.push('Findings');
    for (const x of findings) {
      out.push(`  ${x.severity === 'problem' ? 'PROBLEM' : 'note   '}  ${x.code}${x.listener ? `  ${x.listener}` : ''}`);
      out.push(`    ${x.message}`);
      out.push(`    Fix: ${x.fix}`);
    }
    out.push('');
  }
  out.push(verdictLine(findings));
  return `${out.join('\n')}\n`;
}

/** The --json document: every collected fact, the findings and the verdict. */
export function toJson(snapshot: Snapshot, findings: readonly Finding[]): unknown {
  const problems = findings.filter((x) => x.severity === 'problem').length;
  return {
    format: JSON_FORMAT,
    verdict: verdict(findings),
    problems,
    notes: findings.length - problems,
    collectedAt: new Date(snapshot.collectedAt).toISOString(),
    procRoot: snapshot.procRoot,
    filter: { port: snapshot.filter.port ?? null, address: snapshot.filter.address ?? null },
    bootTime: snapshot.bootTime,
    clockTicksPerSecond: snapshot.clockTicksPerSecond,
    backlogSource: snapshot.backlogSource,
    ipv6: snapshot.ipv6,
    unreadableProcesses: snapshot.unreadableProcesses,
    listeners: groupListeners(snapshot).map((g) => ({
      listener: g.key,
      family: g.family,
      address: g.address,
      port: g.port,
      sockets: g.sockets.map(({ socket: s, holders }) => ({
        inode: s.inode,
        uid: s.uid,
        acceptQueue: s.acceptQueue,
        acceptQueueSamples: [...s.acceptQueueSamples],
        backlog: s.backlog,
        pids: holders.map((p) => p.pid),
      })),
    })),
    processes: snapshot.processes
      .slice()
      .sort((a, b) => a.startTicks - b.startTicks || a.pid - b.pid)
      .map((p) => ({
        pid: p.pid,
        ppid: p.ppid,
        comm: p.comm,
        cmdline: [...p.cmdline],
        startTicks: p.startTicks,
        startedAt: new Date(p.startedAt).toISOString(),
        ageSeconds: Math.max(0, Math.round((snapshot.collectedAt - p.startedAt) / 1000)),
        listenInodes: [...p.listenInodes],
        fdsReadable: p.fdsReadable,
        kind: p.proxy?.kind ?? null,
        role: p.proxy?.role ?? null,
        generation: p.proxy?.generation ?? null,
        masterPid: p.proxy?.masterPid ?? null,
        shuttingDown: p.proxy?.shuttingDown ?? false,
      })),
    handoff: (snapshot.handoff ?? []).map((h) => ({
      masterPid: h.masterPid,
      control: h.control,
      status: h.status,
      error: h.error ?? null,
    })),
    findings: findings.map((x) => ({
      code: x.code,
      severity: x.severity,
      listener: x.listener ?? null,
      pids: [...x.pids],
      inodes: [...x.inodes],
      message: x.message,
      fix: x.fix,
    })),
  };
}
