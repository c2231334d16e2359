// A server whose health check never answers (it accepts TCP and never writes), with
// `interval: 10m`: a reload that adds it must not wait on its check (it completes well
// within a 20 s deadline and the server stays out of traffic until a check passes), and a
// graceful stop must make the master exit promptly, even while such a reload is waiting.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import net from 'node:net';
import { startEcho, type EchoBackend } from '../helpers/echo.js';
import { startHandoff, type RunningHandoff } from '../helpers/handoff.js';
import { request, servedBy } from '../helpers/http-client.js';
import { freePort } from '../helpers/net.js';
import { stopAll } from '../helpers/processes.js';

const silent = new Set<net.Socket>();
const servers: net.Server[] = [];
after(async () => {
  for (const s of silent) s.destroy();
  await Promise.all(servers.map((s) => new Promise((r) => s.close(r))));
  await stopAll();
});

/** A server that accepts connections and never writes a byte; `accepted` resolves at its first connection. */
async function silentServer(): Promise<{ address: string; accepted: Promise<void> }> {
  let onAccept!: () => void;
  const accepted = new Promise<void>((r) => (onAccept = r));
  const server = net.createServer((socket) => {
    silent.add(socket);
    socket.on('error', () => {});
    socket.on('close', () => silent.delete(socket));
    onAccept();
  });
  servers.push(server);
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return { address: `127.0.0.1:${(server.address() as net.AddressInfo).port}`, accepted };
}

function config(port: number, servers: string[]): string {
  return `workers: 1
log: { access: off }
drain: { timeout: 2s }
frontends:
  web: { bind: 127.0.0.1:${port}, default_backend: app }
backends:
  app:
    health: { type: http, interval: 10m }
    servers:
${servers.map((s) => `      - ${s}`).join('\n')}
`;
}

function within<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const deadline = new Promise<never>((_, reject) => (timer = setTimeout(() => reject(new Error(`${what}: not within ${ms} ms`)), ms)));
  return Promise.race([p, deadline]).finally(() => clearTimeout(timer));
}

async function startWithEcho(): Promise<{ a: EchoBackend; port: number; h: RunningHandoff }> {
  const a = await startEcho('a');
  const port = await freePort();
  const h = await startHandoff(config(port, [`{ name: a, address: ${a.address} }`]));
  return { a, port, h };
}

test('a reload adding a server whose check never answers completes; the server gets no traffic; stop exits promptly', async () => {
  const { a, port, h } = await startWithEcho();
  const s = await silentServer();
  const r = await within(
    h.reload(config(port, [`{ name: a, address: ${a.address} }`, `{ name: s, address: ${s.address} }`])),
    20_000,
    'the reload',
  );
  assert.equal(r.code, 0, r.stderr);
  await within(s.accepted, 5_000, 'the first check of the new server');
  const status = await h.status();
  assert.ok(['starting', 'down'].includes(status.backends.app!.servers.s!.operational), JSON.stringify(status.backends.app));
  for (let i = 0; i < 6; i++) {
    const res = await request(port, '/');
    assert.equal(res.status, 200);
    assert.equal(servedBy(res), 'a');
  }
  process.kill(h.proc.pid, 'SIGTERM');
  assert.equal(await within(h.proc.exited, 15_000, 'the master exiting after a graceful stop'), 0);
});

test('a graceful stop while a reload waits on a check that never answers: the master exits promptly', async () => {
  const { a, port, h } = await startWithEcho();
  const s = await silentServer();
  const reload = h.reload(config(port, [`{ name: a, address: ${a.address} }`, `{ name: s, address: ${s.address} }`]));
  await within(s.accepted, 10_000, 'the first check of the new server');
  process.kill(h.proc.pid, 'SIGTERM');
  assert.equal(await within(h.proc.exited, 15_000, 'the master exiting after a graceful stop'), 0);
  await within(reload, 15_000, 'the reload command returning');
});
