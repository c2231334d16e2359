// Which proxy a process is, from its command line alone (what `ps` shows too):
//   haproxy   argv[0] named haproxy*; -W masters and workers look alike (the tree decides)
//   nginx     retitles itself: "nginx: master process ...", "nginx: worker process",
//             "nginx: worker process is shutting down", "nginx: cache manager process"
//   envoy     argv[0] named envoy*; --restart-epoch N is its generation
//   handoff   master: node .../handoff.js start | node .../dist/src/cli/entry.js start
//             worker: node .../dist/src/worker/main.js --generation N --master PID
import { basename } from 'node:path';
import type { ProxyIdentity } from './types.js';

function optionValue(args: readonly string[], name: string): string | undefined {
  for (let i = 0; i < args.length; i++) {
    const a = args[i]!;
    if (a === name) return args[i + 1];
    if (a.startsWith(`${name}=`)) return a.slice(name.length + 1);
  }
  return undefined;
}

function integerOption(args: readonly string[], name: string): number | undefined {
  const v = optionValue(args, name);
  return v !== undefined && /^\d+$/.test(v) ? Number(v) : undefined;
}

function withNumbers(base: ProxyIdentity, extra: { generation?: number | undefined; masterPid?: number | undefined }): ProxyIdentity {
  return {
    ...base,
    ...(extra.generation === undefined ? {} : { generation: extra.generation }),
    ...(extra.masterPid === undefined ? {} : { masterPid: extra.masterPid }),
  };
}

function nginxFromTitle(title: string): ProxyIdentity {
  const what = title.slice('nginx:'.length).trim();
  if (what.startsWith('master process')) return { kind: 'nginx', role: 'master' };
  if (what.startsWith('worker process is shutting down')) return { kind: 'nginx', role: 'worker', shuttingDown: true };
  if (what.startsWith('worker process')) return { kind: 'nginx', role: 'worker' };
  if (what.startsWith('cache ')) return { kind: 'nginx', role: 'helper' };
  return { kind: 'nginx', role: 'unknown' };
}

const HANDOFF_CLI = /(^|\/)(handoff|handoff\.js|src\/cli\/entry\.js)$/;
const HANDOFF_WORKER = /(^|\/)src\/worker\/main\.js$/;
const NODE = /^node(js)?[\d.]*$/;

function handoffFrom(args: readonly string[]): ProxyIdentity | null {
  const program = basename(args[0] ?? '');
  // An installed single binary runs as `handoff start`; otherwise node runs the script.
  const first = program === 'handoff' ? 0 : NODE.test(program) ? 1 : -1;
  if (first < 0) return null;
  for (let i = first; i < args.length; i++) {
    const a = args[i]!;
    if (HANDOFF_WORKER.test(a)) {
      const rest = args.slice(i + 1);
      return withNumbers(
        { kind: 'handoff', role: 'worker' },
        { generation: integerOption(rest, '--generation'), masterPid: integerOption(rest, '--master') },
      );
    }
    if (HANDOFF_CLI.test(a)) {
      // Only `start` runs a proxy; `handoff doctor`, `handoff echo` ... are not one.
      return args[i + 1] === 'start' ? { kind: 'handoff', role: 'master' } : null;
    }
  }
  return null;
}

/** The proxy a command line belongs to, or null for any other program. */
export function identifyProxy(cmdline: readonly string[]): ProxyIdentity | null {
  if (cmdline.length === 0) return null; // kernel threads, zombies
  const joined = cmdline.join(' ');
  if (/^nginx:/.test(joined)) return nginxFromTitle(joined);
  const program = basename(cmdline[0]!.split(' ')[0]!);
  if (program === 'haproxy-systemd-wrapper') return { kind: 'haproxy', role: 'master' };
  if (/^haproxy/.test(program)) return { kind: 'haproxy', role: 'unknown' };
  if (/^nginx/.test(program)) return { kind: 'nginx', role: 'unknown' };
  if (/^envoy/.test(program))
    return withNumbers({ kind: 'envoy', role: 'single' }, { generation: integerOption(cmdline, '--restart-epoch') });
  return handoffFrom(cmdline);
}

/** "haproxy", "nginx master", "handoff worker gen 3", "envoy epoch 2": for tables. */
export function describeProxy(p: ProxyIdentity | null): string {
  if (!p) return '-';
  const parts: string[] = [p.kind];
  if (p.role !== 'unknown' && p.role !== 'single') parts.push(p.role);
  if (p.generation !== undefined) parts.push(p.kind === 'envoy' ? `epoch ${p.generation}` : `gen ${p.generation}`);
  if (p.shuttingDown) parts.push('(shutting down)');
  return parts.join(' ');
}
