// `handoff status [--json]`: generations, workers, listeners, connections, reloads.
import { describeError } from '../lib/errors.js';
import { command, parse } from './args.js';
import { controlRequest, ControlError } from '../protocol/control-client.js';
import { controlTarget } from './control-target.js';
import type { GenerationStatus, StatusReport } from '../protocol/control.js';
import { renderCertificates } from '../tls/status.js';

const HELP = `usage: handoff status [--json] [-f FILE | -s SOCK]

Show the running service: generations (number, state, age, config hash), workers (pid,
state, connections by state), listeners (address, kernel socket inode), backends and
servers, the last reloads (outcome, duration, reason).
  --json              machine-readable output
  -f, --file FILE     find the master by this config's control socket
  -s, --socket SOCK   the master's control socket`;

function age(ms: number): string {
  const s = Math.max(0, Math.round(ms / 1000));
  if (s < 120) return `${s}s`;
  if (s < 7200) return `${Math.round(s / 60)}m`;
  return `${Math.round(s / 3600)}h`;
}

/** "workers 1 of 2  3 failed starts, last: spawn EMFILE (4s ago)  next attempt in 2s" */
function renderRespawn(g: GenerationStatus, now: number): string {
  const r = g.respawn!;
  let line = `workers ${g.workers.length} of ${g.workersWanted}`;
  if (r.failures > 0)
    line += `  ${r.failures} failed start${r.failures === 1 ? '' : 's'}, last: ${r.lastError ?? '?'} (${age(now - (r.lastErrorAt ?? now))} ago)`;
  if (r.nextAttemptAt !== undefined) line += `  next attempt in ${age(r.nextAttemptAt - now)}`;
  return line;
}

export function renderStatus(r: StatusReport, now = Date.now()): string {
  const out: string[] = [];
  const mib = (n: number) => `${(n / 1048576).toFixed(0)} MiB`;
  out.push(
    `handoff ${r.master.version}  master pid ${r.master.pid}  up ${age(now - r.master.startedAt)}  rss ${mib(r.master.memory.rss)}  config ${r.master.configFile}`,
  );
  out.push('');
  out.push('generations:');
  for (const g of r.generations) {
    const deadline = g.drainDeadline !== undefined && g.state === 'draining' ? `  deadline in ${age(g.drainDeadline - now)}` : '';
    out.push(
      `  #${g.number}  ${g.state.padEnd(8)}  age ${age(now - g.startedAt).padEnd(5)}  config ${g.configHash} (generation ${g.configGeneration})${g.crashes ? `  crashes ${g.crashes}` : ''}${deadline}`,
    );
    if (g.respawn) out.push(`      ${renderRespawn(g, now)}`);
    for (const w of g.workers) {
      const c = w.connections;
      const conns = c
        ? Object.entries(c)
            .filter(([, n]) => n > 0)
            .map(([k, n]) => `${k} ${n}`)
            .join(', ') || 'no connections'
        : 'no answer';
      out.push(
        `      worker ${w.pid}  ${w.state.padEnd(8)}  config generation ${w.configGeneration}  ${conns}${w.requests !== undefined ? `  requests ${w.requests}` : ''}`,
      );
    }
  }
  out.push('');
  out.push('listeners:');
  for (const l of r.listeners) out.push(`  ${l.address.padEnd(24)} frontend ${l.frontend}  socket inode ${l.inode ?? '?'}`);
  out.push(...renderCertificates(r.tls ?? [], now)); // TLS (issue 11)
  out.push('');
  out.push('backends:');
  for (const [b, bc] of Object.entries(r.backends)) {
    out.push(`  ${b}  queue ${bc.queue}`);
    for (const [s, sc] of Object.entries(bc.servers))
      out.push(
        `      ${s.padEnd(16)} ${`${sc.operational}/${sc.admin}`.padEnd(14)} active ${sc.active}  requests ${sc.requests}  connect failures ${sc.connectFailures}`,
      );
  }
  out.push('');
  const t = r.totals;
  out.push(
    `traffic: ${t.requests} requests (${Object.entries(t.byClass)
      .map(([k, v]) => `${k} ${v}`)
      .join(', ')}), ${t.accepted} connections accepted, ${t.retries} retries, ${t.migratedIn} migrated in (since the master started)`,
  );
  if (t.logDropped && t.logDropped.access + t.logDropped.operational > 0)
    out.push(
      `log lines dropped: ${t.logDropped.access} access, ${t.logDropped.operational} operational (a stalled reader or a write error; see the log)`,
    );
  out.push('');
  out.push('reloads:');
  if (r.reloads.length === 0) out.push('  none yet');
  for (const x of r.reloads.slice(-10)) {
    const d = x.drained
      ? `  drained: migrated ${x.drained.migrated}, closed idle ${x.drained.closedIdle}, timed out ${x.drained.timedOut}, killed ${x.drained.killed}`
      : '';
    out.push(
      `  #${x.id}  ${new Date(x.requestedAt).toISOString()}  ${x.outcome.padEnd(7)} ${(x.kind ?? '').padEnd(9)} ${String(x.durationMs).padStart(5)} ms${x.generation ? `  → generation ${x.generation}` : ''}${x.requests > 1 ? `  (${x.requests} requests)` : ''}${x.reason ? `  ${x.reason.split('\n')[0]}` : ''}${d}`,
    );
  }
  return out.join('\n');
}

export async function run(argv: string[]): Promise<number> {
  return command(HELP, async () => {
    const { values } = parse(argv, {
      json: { type: 'boolean' },
      file: { type: 'string', short: 'f' },
      socket: { type: 'string', short: 's' },
    });
    if (values.help) {
      console.log(HELP);
      return 0;
    }
    try {
      const res = await controlRequest(controlTarget(values).socket, { type: 'status' }, 10_000);
      if (!res.ok || res.type !== 'status') {
        console.error(`handoff status: ${res.ok ? 'unexpected answer' : res.error}`);
        return 1;
      }
      console.log(values.json ? JSON.stringify(res.status, null, 2) : renderStatus(res.status));
      return 0;
    } catch (err) {
      if (err instanceof ControlError) {
        console.error(`handoff status: ${describeError(err)}`);
        return 1;
      }
      throw err;
    }
  });
}
