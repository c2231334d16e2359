// bench:soak (hardening issue): a long run of mixed load with a reload every second, to see
// whether anything grows that should not: the RSS and open file descriptors of the master
// and of each worker, sampled all along and reported at the start, the middle and the end.
//
//   node dist/bench/soak.js [--duration 30m] [--interval 1s] [--restart-every 30] [--json]
//
// Load: keep-alive HTTP clients, a client opening a fresh connection per request, a
// WebSocket echoing messages and a TCP-mode stream, all through handoff (2 workers, its
// defaults otherwise) to handoff's own echo backends. Reloads: each changes the config (a
// response header's value, and every other one the route's backend) and is applied live;
// every Nth is a --restart (a new process generation with migration). A benchmark, not a
// test: it prints what it measured and asserts nothing about time.
import { createHash, randomBytes } from 'node:crypto';
import { mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import WebSocket from 'ws';
import { parse } from '../src/cli/args.js';
import { controlRequest } from '../src/protocol/control-client.js';
import { HANDOFF_ENTRY } from './support/handoff-proxy.js';
import { KeepAliveClient } from './support/keep-alive-client.js';
import { describeMachine, machineInfo } from './support/machine.js';
import { delay, freePort, waitForListen } from './support/ports.js';
import { isAlive, processTree, rssBytes } from './support/proc-stat.js';
import { killAllServicesNow, startService, stopAllServices } from './support/service-process.js';

interface Sample {
  readonly atMs: number;
  readonly master: { rss: number; fds: number };
  readonly workers: { pid: number; rss: number; fds: number }[];
  readonly requests: number;
}

function fdCount(pid: number): number {
  try {
    return readdirSync(`/proc/${pid}/fd`).length;
  } catch {
    return 0;
  }
}

function config(o: { http: number; tcp: number; a: number; b: number; t: number; round: number }): string {
  return `control: ./handoff.sock
workers: 2
log: { access: off }
drain: { timeout: 10s }
frontends:
  web:
    bind: 127.0.0.1:${o.http}
    routes: [ { path: /, backend: ${o.round % 2 === 0 ? 'a' : 'b'} } ]
    headers: { response: { set: { X-Soak: "round-${o.round}" } } }
  raw: { bind: 127.0.0.1:${o.tcp}, mode: tcp, default_backend: t }
backends:
  a: { servers: [ { name: a, address: 127.0.0.1:${o.a} } ] }
  b: { servers: [ { name: b, address: 127.0.0.1:${o.b} } ] }
  t: { servers: [ { name: t, address: 127.0.0.1:${o.t} } ] }
`;
}

async function main(argv: string[]): Promise<number> {
  const { values } = parse(argv, {
    duration: { type: 'string' },
    interval: { type: 'string' },
    'restart-every': { type: 'string' },
    json: { type: 'boolean' },
  });
  const seconds = (v: string | undefined, d: number) =>
    v === undefined ? d : Number(/^(\d+)(m|s)?$/.exec(v)?.[1] ?? NaN) * (v.endsWith('m') ? 60 : 1);
  const durationMs = seconds(values.duration, 30 * 60) * 1000;
  const intervalMs = seconds(values.interval, 1) * 1000;
  const restartEvery = Number(values['restart-every'] ?? 30);
  if (!(durationMs > 0 && intervalMs > 0 && restartEvery > 0))
    throw new Error('usage: soak [--duration 30m] [--interval 1s] [--restart-every 30] [--json]');

  const dir = mkdtempSync(join(tmpdir(), 'handoff-soak-'));
  const [http, tcp, a, b, t] = await Promise.all([freePort(), freePort(), freePort(), freePort(), freePort()]);
  const echo = (name: string, port: number, extra: string[] = []) =>
    startService(`echo-${name}`, process.execPath, [HANDOFF_ENTRY, 'echo', '--port', String(port), '--name', name, ...extra]);
  echo('a', a);
  echo('b', b);
  echo('t', t, ['--tcp']);
  await Promise.all([waitForListen(a), waitForListen(b), waitForListen(t)]);
  const file = join(dir, 'handoff.yaml');
  let round = 0;
  writeFileSync(file, config({ http, tcp, a, b, t, round }));
  const master = startService('handoff', process.execPath, [HANDOFF_ENTRY, 'start', '-f', file], { stopSignal: 'SIGTERM' });
  await master.waitFor(/handoff started/, 30_000);
  await waitForListen(http);
  const control = join(dir, 'handoff.sock');
  const started = Date.now();
  const until = started + durationMs;
  const running = () => Date.now() < until;
  const tally = { requests: 0, failures: [] as string[], wsMessages: 0, tcpBytes: 0, reloads: { live: 0, process: 0, failed: 0 } };
  const fail = (what: string) => {
    if (tally.failures.length < 100) tally.failures.push(`${Math.round((Date.now() - started) / 1000)}s ${what}`);
  };

  // Keep-alive clients: one connection each, reopened only if the server closed it (a failure).
  const keepAlive = async () => {
    let c = await KeepAliveClient.open(http);
    while (running()) {
      const r = await c.request('/');
      if (r.ok) tally.requests++;
      else {
        fail(`keep-alive ${r.failure}`);
        c.destroy();
        c = await KeepAliveClient.open(http);
      }
    }
    c.destroy();
  };
  const fresh = async () => {
    while (running()) {
      try {
        const c = await KeepAliveClient.open(http);
        const r = await c.request('/');
        c.destroy();
        if (r.ok) tally.requests++;
        else fail(`fresh ${r.failure}`);
      } catch (err) {
        fail(`fresh connect ${(err as Error).message}`);
      }
      await delay(20);
    }
  };
  const websocket = async () => {
    const ws = new WebSocket(`ws://127.0.0.1:${http}/soak`);
    await new Promise<void>((resolve, reject) => {
      ws.once('open', () => resolve());
      ws.once('error', reject);
    });
    ws.on('close', () => running() && fail('websocket closed'));
    while (running() && ws.readyState === WebSocket.OPEN) {
      const payload = randomBytes(512);
      const echoed = new Promise<Buffer>((resolve) => ws.once('message', (d: Buffer) => resolve(d)));
      ws.send(payload);
      const back = await Promise.race([echoed, delay(10_000).then(() => undefined)]);
      if (!back?.equals(payload)) fail('websocket echo mismatch or timeout');
      else tally.wsMessages++;
      await delay(50);
    }
    ws.close();
  };
  const tcpStream = async () => {
    const s = net.connect({ port: tcp, host: '127.0.0.1' });
    await new Promise<void>((resolve, reject) => {
      s.once('connect', () => resolve());
      s.once('error', reject);
    });
    const sent = createHash('sha256');
    const got = createHash('sha256');
    let pending = 0;
    s.on('data', (d: Buffer) => {
      got.update(d);
      pending -= d.length;
      tally.tcpBytes += d.length;
    });
    s.on('close', () => running() && fail('tcp stream closed'));
    while (running() && !s.destroyed) {
      const block = randomBytes(4096);
      sent.update(block);
      pending += block.length;
      s.write(block);
      await delay(20);
      for (let i = 0; pending > 64 * 1024 && i < 500; i++) await delay(10);
    }
    for (let i = 0; pending > 0 && i < 500; i++) await delay(10);
    if (sent.digest('hex') !== got.digest('hex')) fail('tcp stream checksum mismatch');
    s.destroy();
  };
  const reloader = async () => {
    while (running()) {
      const t0 = Date.now();
      round++;
      const restart = round % restartEvery === 0;
      writeFileSync(file, config({ http, tcp, a, b, t, round }));
      try {
        const r = await controlRequest(control, { type: 'reload', ...(restart ? { restart: true } : {}) }, 60_000);
        if (r.ok && r.type === 'reload') tally.reloads[r.kind === 'process' ? 'process' : 'live']++;
        else {
          tally.reloads.failed++;
          fail(`reload: ${r.ok ? r.type : r.error}`);
        }
      } catch (err) {
        tally.reloads.failed++;
        fail(`reload: ${(err as Error).message}`);
      }
      await delay(Math.max(0, intervalMs - (Date.now() - t0)));
    }
  };
  const samples: Sample[] = [];
  const sample = () => {
    const tree = processTree(master.pid).filter((p) => p !== master.pid && isAlive(p));
    samples.push({
      atMs: Date.now() - started,
      master: { rss: rssBytes(master.pid), fds: fdCount(master.pid) },
      workers: tree.map((pid) => ({ pid, rss: rssBytes(pid), fds: fdCount(pid) })),
      requests: tally.requests,
    });
  };
  const sampler = async () => {
    while (running()) {
      sample();
      await delay(Math.min(10_000, Math.max(1000, durationMs / 60)));
    }
    sample();
  };

  const machine = machineInfo();
  await Promise.all([keepAlive(), keepAlive(), keepAlive(), keepAlive(), fresh(), websocket(), tcpStream(), reloader(), sampler()]);
  await master.stop('SIGTERM', 20_000);
  await stopAllServices();
  rmSync(dir, { recursive: true, force: true });

  const mib = (n: number) => `${(n / 1048576).toFixed(1)} MiB`;
  const at = (s: Sample) => ({
    at: `${Math.round(s.atMs / 1000)}s`,
    master: `rss ${mib(s.master.rss)}, fds ${s.master.fds}`,
    workers: s.workers.map((w) => `${w.pid}: rss ${mib(w.rss)}, fds ${w.fds}`).join('; '),
  });
  const points = [samples[0]!, samples[Math.floor(samples.length / 2)]!, samples.at(-1)!];
  const report = { benchmark: 'soak', machine, durationMs, intervalMs, restartEvery, tally, points: points.map(at), samples };
  if (values.json) console.log(JSON.stringify(report, null, 2));
  else {
    console.log(
      `soak: ${Math.round(durationMs / 1000)} s, a reload every ${intervalMs} ms (every ${restartEvery}th with --restart); ${describeMachine(machine)}`,
    );
    console.log(
      `requests ${tally.requests}, websocket messages ${tally.wsMessages}, tcp bytes ${tally.tcpBytes}; reloads live ${tally.reloads.live}, process ${tally.reloads.process}, failed ${tally.reloads.failed}; client failures ${tally.failures.length}`,
    );
    for (const p of points.map(at)) console.log(`  at ${p.at.padStart(6)}  master ${p.master}  |  workers ${p.workers}`);
    for (const f of tally.failures) console.log(`  failure: ${f}`);
  }
  return tally.failures.length === 0 && tally.reloads.failed === 0 ? 0 : 1;
}

process.on('SIGINT', () => {
  killAllServicesNow();
  process.exit(130);
});
main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  async (err: Error) => {
    console.error(`bench:soak: ${err.message}`);
    await stopAllServices();
    process.exit(2);
  },
);
