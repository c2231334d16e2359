// The diagnosis: a pure function of the collected facts. Each rule reads the Snapshot and
// returns findings; a new fact (say, handoff's own view from its control socket) is a new
// optional Snapshot field and a new rule here, nothing else changes.
//
// Healthy shapes this must not flag:
//   handoff   one kernel socket per address, held by the master and its workers
//   nginx     master + workers sharing the master's sockets (also reuseport shards, all
//             held by the master); old workers retitled "shutting down" after a reload
//   haproxy   -W master (holds no listener or the same one) + the worker of the last reload
//   envoy     one process; several sockets per address with reuse_port, all its own
import { formatAge } from './format-age.js';
import { listenerKey } from './ip-address.js';
import { byAge, groupListeners, type ListenerGroup } from './listeners.js';
import type { Finding, ProcessInfo, ProxyKind, Snapshot } from './types.js';

const KIND_NAME: Record<ProxyKind, string> = { haproxy: 'HAProxy', nginx: 'nginx', envoy: 'Envoy', handoff: 'handoff' };
const KINDS: readonly ProxyKind[] = ['haproxy', 'nginx', 'envoy', 'handoff'];

function pids(list: readonly ProcessInfo[]): number[] {
  return [...new Set(list.map((p) => p.pid))];
}

function plural(n: number, one: string, many: string): string {
  return n === 1 ? one : many;
}

function pidText(list: readonly number[]): string {
  return `${plural(list.length, 'pid', 'pids')} ${list.join(', ')}`;
}

/** Lookups over one snapshot that several rules share. */
class Facts {
  readonly byPid = new Map<number, ProcessInfo>();
  /** pids of processes that are a same-kind ancestor of a listening process (masters, wrappers). */
  readonly parentsOfListeners = new Set<number>();
  readonly withSameKindChild = new Set<number>();

  /** Inodes of the sockets in view (all, or those that pass --port/--address). */
  readonly inView: ReadonlySet<number>;
  readonly filtered: boolean;

  constructor(readonly snapshot: Snapshot) {
    this.inView = new Set(snapshot.sockets.map((s) => s.inode));
    this.filtered = snapshot.filter.port !== undefined || snapshot.filter.address !== undefined;
    for (const p of snapshot.processes) this.byPid.set(p.pid, p);
    for (const p of snapshot.processes) {
      const parent = this.sameKindParent(p);
      if (parent) this.withSameKindChild.add(parent.pid);
      if (p.listenInodes.length === 0) continue;
      // bounded by the number of processes, so a pid cycle in a fixture cannot loop forever
      for (let cur = parent, n = 0; cur && n < snapshot.processes.length; cur = this.sameKindParent(cur), n++) {
        this.parentsOfListeners.add(cur.pid);
      }
    }
  }

  /** Holds a listening socket that is in view. */
  listensInView(p: ProcessInfo): boolean {
    return p.listenInodes.some((i) => this.inView.has(i));
  }

  /** Process-level findings concern only processes tied to the listeners in view (all without a filter). */
  inScope(list: readonly ProcessInfo[]): boolean {
    return !this.filtered || list.some((p) => this.listensInView(p));
  }

  sameKindParent(p: ProcessInfo): ProcessInfo | undefined {
    const parent = this.byPid.get(p.ppid);
    return parent && parent.pid !== p.pid && parent.proxy && parent.proxy.kind === p.proxy?.kind ? parent : undefined;
  }

  age(p: ProcessInfo): string {
    return formatAge(this.snapshot.collectedAt - p.startedAt);
  }

  since(at: number): string {
    return formatAge(this.snapshot.collectedAt - at);
  }

  /**
   * The "generation" a listening process belongs to, as one deployment of the proxy: an
   * nginx master with its workers, a handoff master with its workers, one haproxy or envoy
   * process. null for processes that never count as one (helpers, haproxy -W masters).
   */
  generationOf(p: ProcessInfo): { key: string; rootPid: number; root: ProcessInfo | undefined; epoch?: number } | null {
    const proxy = p.proxy;
    if (!proxy) return null;
    switch (proxy.kind) {
      case 'nginx': {
        if (proxy.role === 'helper') return null;
        let cur = p;
        // a worker belongs to the nearest master above it; a master started by another
        // master (binary upgrade, USR2) is a generation of its own
        for (let n = 0; cur.proxy?.role !== 'master' && n < this.snapshot.processes.length; n++) {
          const parent = this.sameKindParent(cur);
          if (!parent) break;
          cur = parent;
        }
        return { key: `nginx:${cur.pid}`, rootPid: cur.pid, root: cur };
      }
      case 'haproxy':
        if (proxy.role === 'master' || this.withSameKindChild.has(p.pid)) return null;
        return { key: `haproxy:${p.pid}`, rootPid: p.pid, root: p };
      case 'envoy':
        return { key: `envoy:${p.pid}`, rootPid: p.pid, root: p, ...(proxy.generation === undefined ? {} : { epoch: proxy.generation }) };
      case 'handoff': {
        if (proxy.role === 'master') return { key: `handoff:${p.pid}`, rootPid: p.pid, root: p };
        const masterPid = proxy.masterPid ?? p.ppid;
        return { key: `handoff:${masterPid}`, rootPid: masterPid, root: this.handoffMaster(masterPid) };
      }
    }
  }

  handoffMaster(pid: number): ProcessInfo | undefined {
    const p = this.byPid.get(pid);
    return p?.proxy?.kind === 'handoff' && p.proxy.role === 'master' ? p : undefined;
  }
}

// ---- fixes, one sentence each -------------------------------------------------------------

function staleFix(kind: ProxyKind, stale: readonly number[], newest: number): string {
  switch (kind) {
    case 'haproxy':
      return `Run HAProxy in master-worker mode (-W, or -Ws under systemd) so each reload hands the sockets to the new worker, or pass -sf the pids of ALL running haproxy processes at every reload (-sf $(pidof haproxy)), not just the last one; to clean up now: kill -USR1 ${stale.join(' ')}.`;
    case 'nginx':
      return `These are an old nginx master and workers left by a failed binary upgrade or reload: if the newer master ${newest} serves correctly, stop the old one gracefully (kill -QUIT ${stale[0]}), otherwise stop the new one (kill -QUIT ${newest}).`;
    case 'envoy':
      return `An older restart epoch should stop listening once the hot restart hands its sockets over: check that both use the same --base-id, then stop the old one (kill -TERM ${stale.join(' ')}).`;
    case 'handoff':
      return `handoff reloads in place (handoff reload) and never needs a second master on an address: stop the older master (kill -TERM ${stale[0]}).`;
  }
}

function splitFix(kinds: ReadonlySet<ProxyKind | null>, holders: readonly number[]): string {
  const only = kinds.size === 1 ? [...kinds][0] : undefined;
  switch (only) {
    case 'haproxy':
      return 'Run HAProxy in master-worker mode (-W or -Ws) so reloads hand the sockets over instead of binding new ones, or pass -sf the pids of ALL running haproxy processes at every reload, not just the last one.';
    case 'nginx':
      return 'Two nginx masters bound this address (an unfinished binary upgrade, or a second nginx started by hand): keep the one that serves correctly and stop the other (kill -QUIT its master).';
    case 'envoy':
      return 'Two Envoy instances bound this address: make the new one a hot restart of the old (same --base-id, --restart-epoch + 1) or stop the one that should not serve.';
    case 'handoff':
      return 'handoff binds each address once and never with SO_REUSEPORT: stop the second handoff master on this address and use handoff reload instead.';
    default:
      return `Decide which program should serve this address and stop the others (${pidText(holders)}): different programs sharing one port through SO_REUSEPORT is almost never intended.`;
  }
}

function drainingFix(kind: ProxyKind, list: readonly number[]): string {
  switch (kind) {
    case 'haproxy':
      return `Set hard-stop-after in the global section to bound how long an old process may serve open connections, or stop them now (kill -USR1 ${list.join(' ')} to ask again, kill -TERM for a hard stop).`;
    case 'nginx':
      return `Set worker_shutdown_timeout to bound how long old workers serve open connections, or stop them now (kill -TERM ${list.join(' ')}).`;
    case 'envoy':
      return `The hot-restart parent exits after --parent-shutdown-time-s (default 900s): lower it (and --drain-time-s) if that is too long, or stop it now (kill -TERM ${list.join(' ')}).`;
    case 'handoff':
      return `Stop them if they outlived their drain (kill -TERM ${list.join(' ')}).`;
  }
}

// ---- rules --------------------------------------------------------------------------------

/** More than one kernel socket on one address: SO_REUSEPORT in use. */
function reuseportRule(g: ListenerGroup): Finding[] {
  if (g.sockets.length < 2) return [];
  const inodes = g.sockets.map((h) => h.socket.inode);
  const allHolders = pids(g.sockets.flatMap((h) => h.holders));
  const spread = `with SO_REUSEPORT the kernel spreads new connections over them by a hash of each connection's addresses and ports, so a client reaches whichever one it hashes to`;
  const common = g.sockets[0]!.holders.filter((p) => g.sockets.every((h) => h.holders.some((q) => q.pid === p.pid)));
  if (common.length > 0) {
    const owner = common[0]!;
    if (owner.proxy?.kind === 'handoff') {
      return [
        {
          code: 'reuseport-split',
          severity: 'problem',
          listener: g.key,
          pids: allHolders,
          inodes,
          message: `${g.key} has ${g.sockets.length} listening sockets in one handoff service (pid ${owner.pid}), but handoff keeps exactly one socket per address for its whole life.`,
          fix: splitFix(new Set(['handoff']), allHolders),
        },
      ];
    }
    return [
      {
        code: 'reuseport-shards',
        severity: 'note',
        listener: g.key,
        pids: allHolders,
        inodes,
        message: `${g.key} has ${g.sockets.length} listening sockets all held by pid ${owner.pid} (${owner.proxy?.kind ?? owner.comm}): one program sharding its own accept queues with SO_REUSEPORT, which is fine.`,
        fix: 'Nothing to do.',
      },
    ];
  }
  const owned = g.sockets.filter((h) => h.holders.length > 0);
  const unowned = g.sockets.length - owned.length;
  const who = g.sockets
    .map((h) => (h.holders.length === 0 ? `an unseen process (inode ${h.socket.inode})` : pidText(pids(h.holders))))
    .join('; ');
  if (owned.length < 2 && unowned > 0) {
    return [
      {
        code: 'reuseport-split',
        severity: 'note',
        listener: g.key,
        pids: allHolders,
        inodes,
        message: `${g.key} has ${g.sockets.length} listening sockets (held by ${who}); ${spread}, and doctor cannot see who holds ${unowned} of them to tell one program's shards from a split.`,
        fix: 'Run handoff doctor as root (or as the user of those processes) to see every holder.',
      },
    ];
  }
  return [
    {
      code: 'reuseport-split',
      severity: 'problem',
      listener: g.key,
      pids: allHolders,
      inodes,
      message: `${g.key} has ${g.sockets.length} listening sockets held by different processes (${who}): ${spread}.`,
      fix: splitFix(new Set(g.sockets.flatMap((h) => h.holders.map((p) => p.proxy?.kind ?? null))), allHolders),
    },
  ];
}

/** An older deployment of a proxy still listening on an address next to a newer one of the same kind. */
function staleGenerationRule(f: Facts, g: ListenerGroup): Finding[] {
  const out: Finding[] = [];
  const holders = pids(g.sockets.flatMap((h) => h.holders)).map((pid) => f.byPid.get(pid)!);
  for (const kind of KINDS) {
    const units = new Map<string, { rootPid: number; order: number; epoch: number | undefined; members: ProcessInfo[] }>();
    for (const p of holders) {
      if (p.proxy?.kind !== kind) continue;
      const gen = f.generationOf(p);
      if (!gen) continue;
      const unit = units.get(gen.key) ?? {
        rootPid: gen.rootPid,
        order: gen.root?.startTicks ?? p.startTicks,
        epoch: gen.epoch,
        members: [],
      };
      unit.order = Math.min(unit.order, gen.root?.startTicks ?? p.startTicks);
      unit.members.push(p);
      units.set(gen.key, unit);
    }
    if (units.size < 2) continue;
    const byEpoch = [...units.values()].every((u) => u.epoch !== undefined);
    const ordered = [...units.values()].sort((a, b) => (byEpoch ? a.epoch! - b.epoch! : 0) || a.order - b.order || a.rootPid - b.rootPid);
    const newest = ordered[ordered.length - 1]!;
    const stale = ordered.slice(0, -1);
    const stalePids = stale.flatMap((u) =>
      u.members
        .slice()
        .sort(byAge)
        .map((p) => p.pid),
    );
    const oldest = stale[0]!.members.slice().sort(byAge)[0]!;
    const newestRoot = f.byPid.get(newest.rootPid) ?? newest.members.slice().sort(byAge)[0]!;
    out.push({
      code: 'stale-generation',
      severity: 'problem',
      listener: g.key,
      pids: stalePids,
      inodes: g.sockets.filter((h) => h.holders.some((p) => stalePids.includes(p.pid))).map((h) => h.socket.inode),
      message: `${KIND_NAME[kind]} ${pidText(stalePids)} (${stalePids.length === 1 ? 'started' : 'the oldest started'} ${f.age(oldest)} ago) still ${plural(stalePids.length, 'listens', 'listen')} on ${g.key} next to the newer ${kind} pid ${newest.rootPid} (started ${f.age(newestRoot)} ago): ${plural(stalePids.length, 'it gets', 'they get')} a share of new connections and ${plural(stalePids.length, 'answers', 'answer')} them with an old configuration.`,
      fix: staleFix(
        kind,
        stale.map((u) => u.rootPid),
        newest.rootPid,
      ),
    });
  }
  return out;
}

/** Old haproxy/nginx/envoy processes that no longer listen but are still alive. */
function drainingRule(f: Facts): Finding[] {
  const out: Finding[] = [];
  for (const kind of ['haproxy', 'nginx', 'envoy'] as const) {
    const all = f.snapshot.processes.filter((p) => p.proxy?.kind === kind);
    // the newer listeners that make an old process a leftover: those in view, so that
    // --port N reports only what happened on N
    const listeners = all.filter((p) => f.listensInView(p));
    const draining: { p: ProcessInfo; since: number | undefined }[] = [];
    for (const p of all) {
      const role = p.proxy!.role;
      // a live master or wrapper above the listeners is the normal shape, not a leftover
      if (!p.fdsReadable || p.listenInodes.length > 0 || role === 'helper' || role === 'master') continue;
      if (f.parentsOfListeners.has(p.pid) || f.withSameKindChild.has(p.pid)) continue;
      const newer = listeners.filter((q) => byAge(q, p) > 0);
      if (newer.length === 0 && !p.proxy!.shuttingDown) continue;
      draining.push({ p, since: newer.length ? Math.min(...newer.map((q) => q.startedAt)) : undefined });
    }
    if (draining.length === 0) continue;
    draining.sort((a, b) => byAge(a.p, b.p));
    const list = draining.map((d) => d.p.pid);
    const each = draining
      .map(
        (d) => `pid ${d.p.pid} ${d.since === undefined ? `(shutting down, started ${f.age(d.p)} ago)` : `for about ${f.since(d.since)}`}`,
      )
      .join(', ');
    out.push({
      code: 'draining',
      severity: 'note',
      pids: list,
      inodes: [],
      message: `${draining.length} old ${kind} ${plural(draining.length, 'process no longer listens but is', 'processes no longer listen but are')} still alive since a newer one took over (${each}): ${plural(draining.length, 'it keeps', 'they keep')} serving open (keep-alive) connections with the old configuration.`,
      fix: drainingFix(kind, list),
    });
  }
  return out;
}

/** handoff workers of an older generation than their master's newest, and workers without a master. */
function handoffGenerationsRule(f: Facts): Finding[] {
  const out: Finding[] = [];
  const inSnapshot = new Set(f.snapshot.sockets.map((s) => s.inode));
  const listenersOf = (list: readonly ProcessInfo[]) => {
    const keys = new Set<string>();
    for (const s of f.snapshot.sockets) if (list.some((p) => p.listenInodes.includes(s.inode))) keys.add(listenerKey(s.address, s.port));
    return [...keys];
  };
  const byMaster = new Map<number, ProcessInfo[]>();
  for (const p of f.snapshot.processes) {
    if (p.proxy?.kind !== 'handoff' || p.proxy.role !== 'worker') continue;
    const master = p.proxy.masterPid ?? p.ppid;
    byMaster.set(master, [...(byMaster.get(master) ?? []), p]);
  }
  for (const [masterPid, workers] of byMaster) {
    const master = f.handoffMaster(masterPid);
    if (!f.inScope(master ? [master, ...workers] : workers)) continue;
    const listening = (list: readonly ProcessInfo[]) => list.filter((p) => p.listenInodes.length > 0);
    if (!master) {
      workers.sort(byAge);
      const holding = listening(workers);
      const where = listenersOf(holding);
      out.push({
        code: 'handoff-orphan-worker',
        severity: holding.length > 0 ? 'problem' : 'note',
        ...(where.length === 1 ? { listener: where[0]! } : {}),
        pids: pids(workers),
        inodes: [...new Set(holding.flatMap((p) => p.listenInodes))].filter((i) => inSnapshot.has(i)),
        message:
          holding.length > 0
            ? `handoff ${plural(workers.length, 'worker', 'workers')} ${pidText(pids(workers))} outlived ${plural(workers.length, 'its', 'their')} master ${masterPid} and still ${plural(holding.length, 'holds', 'hold')} the listening socket${where.length ? ` on ${where.join(', ')}` : ''}, accepting connections that no master manages.`
            : `handoff ${plural(workers.length, 'worker', 'workers')} ${pidText(pids(workers))} outlived ${plural(workers.length, 'its', 'their')} master ${masterPid}; ${plural(workers.length, 'it', 'they')} should finish in-flight requests within drain.timeout and exit.`,
        fix: `If ${plural(workers.length, 'it is', 'they are')} still there after drain.timeout, stop ${plural(workers.length, 'it', 'them')} (kill -TERM ${pids(workers).join(' ')}) and start the service again.`,
      });
      continue;
    }
    const generations = [...new Set(workers.map((p) => p.proxy!.generation).filter((n): n is number => n !== undefined))].sort(
      (a, b) => a - b,
    );
    const newest = generations[generations.length - 1];
    if (newest === undefined) continue;
    for (const gen of generations.slice(0, -1)) {
      const members = workers.filter((p) => p.proxy!.generation === gen).sort(byAge);
      const next = workers.filter((p) => (p.proxy!.generation ?? -1) > gen);
      const supersededAt = Math.min(...next.map((p) => p.startedAt));
      const holding = listening(members);
      const idle = members.filter((p) => p.fdsReadable && p.listenInodes.length === 0);
      if (holding.length > 0) {
        const where = listenersOf(holding);
        out.push({
          code: 'handoff-old-generation-listening',
          severity: 'problem',
          ...(where.length === 1 ? { listener: where[0]! } : {}),
          pids: pids(holding),
          inodes: [...new Set(holding.flatMap((p) => p.listenInodes))].filter((i) => inSnapshot.has(i)),
          message: `handoff generation ${gen} (master ${masterPid}, ${pidText(pids(holding))}) still holds the listening socket${where.length ? ` on ${where.join(', ')}` : ''} about ${f.since(supersededAt)} after generation ${newest} started: a draining worker must stop accepting, or new connections reach the old configuration.`,
          fix: `Run handoff reload so every older generation is told to drain again; if generation ${gen} keeps the socket, stop it (kill -TERM ${pids(holding).join(' ')}) and report it as a handoff bug.`,
        });
      }
      if (idle.length > 0) {
        out.push({
          code: 'handoff-old-generation',
          severity: 'note',
          pids: pids(idle),
          inodes: [],
          message: `handoff generation ${gen} (master ${masterPid}, ${pidText(pids(idle))}) is still draining about ${f.since(supersededAt)} after generation ${newest} started; it must be gone by drain.timeout (default 30s) plus the grace period, or it overstays its deadline.`,
          fix: `If that deadline has passed, see handoff status and stop generation ${gen} (kill -TERM ${pids(idle).join(' ')}): the master should already have killed it.`,
        });
      }
    }
  }
  return out;
}

/** What the drain deadline allows a worker past it before the master kills it (src/master/generation.ts KILL_GRACE_MS). */
const HANDOFF_KILL_GRACE_MS = 2000;

/**
 * handoff's own view against the kernel's: each master's status (from its control socket)
 * must name the very LISTEN socket the kernel has for each of its addresses, list every
 * worker process that claims it as master, and have no draining generation alive past its
 * deadline and the kill grace.
 */
function handoffControlRule(f: Facts): Finding[] {
  const out: Finding[] = [];
  for (const view of f.snapshot.handoff ?? []) {
    const master = f.handoffMaster(view.masterPid);
    const workers = f.snapshot.processes.filter(
      (p) => p.proxy?.kind === 'handoff' && p.proxy.role === 'worker' && (p.proxy.masterPid ?? p.ppid) === view.masterPid,
    );
    if (!master || !f.inScope([master, ...workers])) continue;
    if (!view.status) {
      out.push({
        code: 'handoff-control-unreachable',
        severity: 'note',
        pids: [view.masterPid],
        inodes: [],
        message: `handoff master ${view.masterPid} did not answer on its control socket${view.control ? ` ${view.control}` : ''} (${view.error ?? 'no answer'}), so its own view could not be cross-checked.`,
        fix: `Check the control socket path (the config's control key) and run handoff status -s SOCK; a master that never answers while serving is a handoff bug worth reporting.`,
      });
      continue;
    }
    // Listeners: the master's socket must be the one the kernel has listening there.
    for (const l of view.status.listeners) {
      const [host, portText] = splitKey(l.address);
      const port = Number(portText);
      if (f.snapshot.filter.port !== undefined && f.snapshot.filter.port !== port) continue;
      if (f.snapshot.filter.address !== undefined && !sameHost(f.snapshot.filter.address, host)) continue;
      const kernel = f.snapshot.sockets.filter((s) => s.port === port && sameHost(s.address, host));
      if (kernel.length === 0 || (l.inode !== null && !kernel.some((s) => s.inode === l.inode))) {
        out.push({
          code: 'handoff-listener-mismatch',
          severity: 'problem',
          listener: l.address,
          pids: [view.masterPid],
          inodes: kernel.map((s) => s.inode),
          message:
            kernel.length === 0
              ? `handoff master ${view.masterPid} reports a listener on ${l.address} (socket inode ${l.inode ?? '?'}), but nothing listens there: connections to it are refused.`
              : `handoff master ${view.masterPid} holds socket inode ${l.inode} for ${l.address}, but the kernel's LISTEN socket there is ${kernel.map((s) => s.inode).join(', ')}: another process owns the address.`,
          fix: `Find the other listener (handoff doctor --port ${port} lists it) and stop it, then restart handoff so it binds the address itself.`,
        });
      }
    }
    // Workers: every live worker of this master must be one the master knows about.
    const known = new Set(view.status.generations.flatMap((g) => g.workers));
    const unknown = workers.filter((w) => !known.has(w.pid));
    if (unknown.length > 0) {
      out.push({
        code: 'handoff-untracked-worker',
        severity: 'problem',
        pids: pids(unknown),
        inodes: [],
        message: `handoff ${plural(unknown.length, 'worker', 'workers')} ${pidText(pids(unknown))} ${plural(unknown.length, 'names', 'name')} master ${view.masterPid}, which does not list ${plural(unknown.length, 'it', 'them')} in its status: no deadline applies to ${plural(unknown.length, 'it', 'them')}.`,
        fix: `Stop ${plural(unknown.length, 'it', 'them')} (kill -TERM ${pids(unknown).join(' ')}) and report it as a handoff bug.`,
      });
    }
    // Deadlines: a draining generation must be gone by its deadline plus the kill grace.
    for (const g of view.status.generations) {
      if (g.state !== 'draining' || g.drainDeadline === null || g.workers.length === 0) continue;
      const overdue = f.snapshot.collectedAt - (g.drainDeadline + HANDOFF_KILL_GRACE_MS);
      const alive = g.workers.filter((pid) => workers.some((w) => w.pid === pid));
      if (overdue <= 0 || alive.length === 0) continue;
      out.push({
        code: 'handoff-overdue-generation',
        severity: 'problem',
        pids: alive,
        inodes: [],
        message: `handoff generation ${g.number} of master ${view.masterPid} is still alive ${formatAge(overdue)} past its drain deadline and the kill grace (${pidText(alive)}): the master should have killed it.`,
        fix: `Stop it (kill -KILL ${alive.join(' ')}) and report it as a handoff bug, with handoff status --json.`,
      });
    }
  }
  return out;
}

/** "127.0.0.1:8080" → ["127.0.0.1", "8080"]; "[::1]:8080" → ["::1", "8080"]. */
function splitKey(key: string): [string, string] {
  const i = key.lastIndexOf(':');
  const host = key.slice(0, i);
  return [host.startsWith('[') ? host.slice(1, -1) : host, key.slice(i + 1)];
}

/** Address text from handoff's config against the kernel's canonical text. */
function sameHost(kernel: string, configured: string): boolean {
  return kernel === configured || kernel === `::ffff:${configured}`;
}

/** Accept queues: full (the kernel drops new connections), growing (nobody accepts), non-empty. */
function acceptQueueRule(g: ListenerGroup): Finding[] {
  const out: Finding[] = [];
  for (const { socket: s, holders } of g.sockets) {
    const samples = s.acceptQueueSamples.length ? s.acceptQueueSamples : [s.acceptQueue];
    const peak = Math.max(...samples, s.acceptQueue);
    if (peak === 0) continue;
    const who = holders.length ? pidText(pids(holders)) : 'no visible process';
    const base = { listener: g.key, pids: pids(holders), inodes: [s.inode] };
    const notAccepting = `find out why ${who} ${holders.length === 1 ? 'does' : 'do'} not accept (stuck, overloaded, or a stale process that stopped accepting but keeps the socket: stop it)`;
    if (s.backlog !== null && s.backlog > 0 && s.acceptQueue >= s.backlog) {
      out.push({
        ...base,
        code: 'accept-queue-full',
        severity: 'problem',
        message: `The accept queue of ${g.key} (inode ${s.inode}) is full, ${s.acceptQueue} of backlog ${s.backlog}: the kernel drops new connection attempts, so clients hang and retry.`,
        fix: `${notAccepting[0]!.toUpperCase()}${notAccepting.slice(1)}; a bigger backlog only hides it.`,
      });
    } else if (samples.length >= 2 && samples.every((n) => n > 0) && samples[samples.length - 1]! > samples[0]!) {
      out.push({
        ...base,
        code: 'accept-queue-growing',
        severity: 'problem',
        message: `Connections pile up unaccepted on ${g.key} (inode ${s.inode}): the accept queue grew from ${samples[0]} to ${samples[samples.length - 1]}${s.backlog === null ? '' : ` of backlog ${s.backlog}`} while doctor watched.`,
        fix: `${notAccepting[0]!.toUpperCase()}${notAccepting.slice(1)}.`,
      });
    } else {
      out.push({
        ...base,
        code: 'accept-queue-waiting',
        severity: 'note',
        message: `${peak} ${plural(peak, 'connection was', 'connections were')} waiting to be accepted on ${g.key} (inode ${s.inode}${s.backlog === null ? ', backlog unknown' : `, backlog ${s.backlog}`}): normal for a moment under load, a problem if it persists.`,
        fix: `Run handoff doctor again; if the queue stays non-empty, ${notAccepting}.`,
      });
    }
  }
  return out;
}

/** A socket nobody visible holds: another user's process (not root) or another PID namespace. */
function ownerUnknownRule(f: Facts, g: ListenerGroup): Finding[] {
  return g.sockets
    .filter((h) => h.holders.length === 0)
    .map((h) => ({
      code: 'owner-unknown' as const,
      severity: 'note' as const,
      listener: g.key,
      pids: [],
      inodes: [h.socket.inode],
      message:
        f.snapshot.unreadableProcesses > 0
          ? `No visible process holds the socket on ${g.key} (inode ${h.socket.inode}, uid ${h.socket.uid}); ${f.snapshot.unreadableProcesses} processes could not be inspected.`
          : `No process in this PID namespace holds the socket on ${g.key} (inode ${h.socket.inode}, uid ${h.socket.uid}): its owner lives in another container or namespace sharing this network.`,
      fix:
        f.snapshot.unreadableProcesses > 0
          ? 'Run handoff doctor as root to see every holder.'
          : 'Run handoff doctor in the PID namespace of the owner (e.g. inside that container).',
    }));
}

const ORDER: Record<Finding['severity'], number> = { problem: 0, note: 1 };

/** Every finding about a snapshot, problems first. */
export function diagnose(snapshot: Snapshot): Finding[] {
  const f = new Facts(snapshot);
  const groups = groupListeners(snapshot);
  const findings: Finding[] = [];
  for (const g of groups) {
    findings.push(...reuseportRule(g), ...staleGenerationRule(f, g), ...acceptQueueRule(g), ...ownerUnknownRule(f, g));
  }
  findings.push(...handoffGenerationsRule(f), ...handoffControlRule(f), ...drainingRule(f));
  // stable sort: problems first, otherwise in listener order
  return findings
    .map((x, i) => ({ x, i }))
    .sort((a, b) => ORDER[a.x.severity] - ORDER[b.x.severity] || a.i - b.i)
    .map(({ x }) => x);
}

/** 0 healthy, 1 at least one problem: the exit code of `handoff doctor`. */
export function verdict(findings: readonly Finding[]): 'healthy' | 'problem' {
  return findings.some((x) => x.severity === 'problem') ? 'problem' : 'healthy';
}
