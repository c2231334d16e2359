// Bulk transfer through a TCP frontend with the worker's memory watched from /proc:
// 100 MiB each way at full speed, then a slow reader on each side. Back-pressure must keep
// the worker's resident memory bounded whatever the peers' speeds.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import net from 'node:net';
import { startEcho, type EchoBackend } from '../helpers/echo.js';
import { startHandoff, workerPids, type RunningHandoff } from '../helpers/handoff.js';
import { freePort, writable } from '../helpers/net.js';
import { stopAll } from '../helpers/processes.js';
import { delay, waitUntil } from '../helpers/wait.js';

const MiB = 1024 * 1024;
/** Resident memory a worker may reach during any transfer here (Node alone is ~50-70 MB). */
const RSS_LIMIT = 200 * MiB;
/** How long a slow reader reads slowly; without back-pressure the worker would take in GBs meanwhile. */
const SLOW_PHASE_MS = 2000;
/** A fast side stops pushing at this many bytes (the test ends long before with back-pressure). */
const PUSH_CAP = 1024 * MiB;

function vmRss(pid: number): number {
  const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  if (!m) throw new Error(`no VmRSS for pid ${pid}`);
  return Number(m[1]) * 1024;
}

/** Samples the largest VmRSS of some pids until stopped. */
function watchRss(pids: readonly number[]) {
  let max = 0;
  const sample = () => {
    for (const pid of pids) max = Math.max(max, vmRss(pid));
  };
  sample();
  const timer = setInterval(sample, 20);
  return {
    stop(): number {
      clearInterval(timer);
      sample();
      return max;
    },
  };
}

interface Push {
  /** Bytes handed to the socket so far. */
  sent: number;
  readonly hash?: ReturnType<typeof createHash>;
  /** Stop early when this says so. */
  readonly stop?: () => boolean;
}

/**
 * Write `total` bytes (chunk i carries its index, so reordering shows in the hash),
 * honouring back-pressure; stops early when the socket closes.
 */
async function pushBytes(socket: net.Socket, total: number, push: Push = { sent: 0 }): Promise<number> {
  const block = randomBytes(256 * 1024);
  for (let i = 0; push.sent < total && !(push.stop?.() ?? false); i++) {
    const chunk = Buffer.from(block.subarray(0, Math.min(block.length, total - push.sent)));
    chunk.writeUInt32BE(i, 0);
    push.hash?.update(chunk);
    push.sent += chunk.length;
    if (!socket.write(chunk)) {
      await writable(socket);
    }
    if (socket.destroyed) break;
  }
  return push.sent;
}

/** Read from `socket` slowly: one chunk, then a pause, for `ms`; resolves with the bytes read. */
async function readSlowly(socket: net.Socket, ms: number): Promise<number> {
  let read = 0;
  const until = Date.now() + ms;
  socket.pause();
  while (Date.now() < until && !socket.destroyed) {
    const chunk = socket.read() as Buffer | null;
    if (chunk) read += chunk.length;
    await delay(25);
  }
  return read;
}

function connect(port: number): Promise<net.Socket> {
  return new Promise((resolve, reject) => {
    const s = net.connect({ port, host: '127.0.0.1', allowHalfOpen: true });
    s.once('connect', () => {
      s.off('error', reject);
      resolve(s);
    });
    s.once('error', reject);
  });
}

describe('tcp bulk transfer with bounded worker memory', () => {
  let echo: EchoBackend;
  let lb: RunningHandoff;
  let worker: number;
  const ports = { echo: 0, source: 0, sink: 0 };
  // In-test backends for the slow-reader cases: one pushes without end, one reads slowly.
  let source: net.Server;
  let sink: net.Server;
  const sourcePushes: Push[] = [];
  const sinkSockets: net.Socket[] = [];

  before(async () => {
    echo = await startEcho('bulk-echo', { tcp: true });
    source = net.createServer((s) => {
      s.on('error', () => {});
      const push: Push = { sent: 0 };
      sourcePushes.push(push);
      void pushBytes(s, PUSH_CAP, push);
    });
    sink = net.createServer((s) => {
      s.on('error', () => {});
      s.pause();
      sinkSockets.push(s);
    });
    const listen = (srv: net.Server) =>
      new Promise<number>((r) => srv.listen(0, '127.0.0.1', () => r((srv.address() as net.AddressInfo).port)));
    const [sourcePort, sinkPort] = await Promise.all([listen(source), listen(sink)]);
    [ports.echo, ports.source, ports.sink] = [await freePort(), await freePort(), await freePort()];
    lb = await startHandoff(`workers: 1
log: { access: off }
frontends:
  echo: { bind: 127.0.0.1:${ports.echo}, mode: tcp, default_backend: echo }
  source: { bind: 127.0.0.1:${ports.source}, mode: tcp, default_backend: source }
  sink: { bind: 127.0.0.1:${ports.sink}, mode: tcp, default_backend: sink }
backends:
  echo: { servers: [{ name: e1, address: ${echo.address} }] }
  source: { servers: [{ name: s1, address: 127.0.0.1:${sourcePort} }] }
  sink: { servers: [{ name: k1, address: 127.0.0.1:${sinkPort} }] }
`);
    const pids = workerPids(await lb.status());
    assert.equal(pids.length, 1);
    worker = pids[0]!;
  });
  after(async () => {
    source?.close();
    sink?.close();
    for (const s of sinkSockets) s.destroy();
    await stopAll();
  });

  it('moves 100 MiB each way at once, intact, with the worker under the limit', async (t) => {
    const total = 100 * MiB;
    const rss = watchRss([worker]);
    const socket = await connect(ports.echo);
    const sentHash = createHash('sha256');
    const gotHash = createHash('sha256');
    let got = 0;
    const received = new Promise<void>((resolve, reject) => {
      socket.on('data', (c: Buffer) => {
        got += c.length;
        gotHash.update(c);
      });
      socket.on('end', resolve);
      socket.on('error', reject);
    });
    const sent = await pushBytes(socket, total, { sent: 0, hash: sentHash });
    socket.end();
    let stall: NodeJS.Timeout | undefined;
    const stalled = new Promise<never>((_, reject) => {
      stall = setTimeout(() => reject(new Error(`stalled at ${got} of ${total} bytes`)), 60_000);
    });
    await Promise.race([received, stalled]).finally(() => clearTimeout(stall));
    const max = rss.stop();
    socket.destroy();
    assert.equal(sent, total);
    assert.equal(got, total, 'every byte came back');
    assert.equal(gotHash.digest('hex'), sentHash.digest('hex'), 'the same bytes, in order');
    t.diagnostic(`worker VmRSS peak ${(max / MiB).toFixed(1)} MiB`);
    assert.ok(max < RSS_LIMIT, `worker VmRSS peaked at ${(max / MiB).toFixed(1)} MiB`);
  });

  it('a slow client reader: the worker stops reading from the server instead of buffering', async (t) => {
    const rss = watchRss([worker]);
    const socket = await connect(ports.source);
    socket.on('error', () => {});
    const read = await readSlowly(socket, SLOW_PHASE_MS);
    const max = rss.stop();
    const push = await waitUntil('the source connection', () => sourcePushes.at(-1));
    const pushed = push.sent;
    socket.destroy();
    assert.ok(read > 0, 'the client did read something');
    t.diagnostic(`worker VmRSS peak ${(max / MiB).toFixed(1)} MiB`);
    assert.ok(max < RSS_LIMIT, `worker VmRSS peaked at ${(max / MiB).toFixed(1)} MiB`);
    assert.ok(pushed < PUSH_CAP / 2, `the server could only push ${(pushed / MiB).toFixed(1)} MiB: back-pressure reached it`);
  });

  it('a slow server reader: the worker stops reading from the client instead of buffering', async (t) => {
    const rss = watchRss([worker]);
    const socket = await connect(ports.sink);
    socket.on('error', () => {});
    const until = Date.now() + SLOW_PHASE_MS;
    const pushing = pushBytes(socket, PUSH_CAP, { sent: 0, stop: () => Date.now() > until });
    const sinkSocket = await waitUntil('the sink connection', () => sinkSockets.at(-1));
    // The server reads a little now and then, far slower than the client writes.
    const read = await readSlowly(sinkSocket, SLOW_PHASE_MS);
    const max = rss.stop();
    socket.destroy();
    const pushed = await pushing;
    assert.ok(read > 0, 'the server did read something');
    t.diagnostic(`worker VmRSS peak ${(max / MiB).toFixed(1)} MiB`);
    assert.ok(max < RSS_LIMIT, `worker VmRSS peaked at ${(max / MiB).toFixed(1)} MiB`);
    assert.ok(pushed < PUSH_CAP / 2, `the client could only push ${(pushed / MiB).toFixed(1)} MiB: back-pressure reached it`);
  });
});
