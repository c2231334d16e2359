// Tunnels migrate too: a WebSocket and a TCP-mode connection stream data both ways
// through 50 reloads; every byte arrives once and in order (running checksums match) and
// neither connection ever closes. Each is logged once, where it ends, as migrated.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import WebSocket from 'ws';
import { controlRequest } from '../../src/protocol/control-client.js';
import { startEcho } from '../helpers/echo.js';
import { startHandoff } from '../helpers/handoff.js';
import { freePort } from '../helpers/net.js';
import { workersOf } from '../helpers/proc.js';
import { stopAll } from '../helpers/processes.js';
import { delay, waitUntil } from '../helpers/wait.js';

after(() => stopAll());

test('a WebSocket and a TCP connection stream through 50 reloads: checksums match, never closed', async () => {
  const [web, tcp] = await Promise.all([startEcho('ws-echo'), startEcho('tcp-echo', { tcp: true })]);
  const [httpPort, tcpPort] = [await freePort(), await freePort()];
  const accessLog = join(mkdtempSync(join(tmpdir(), 'handoff-tunnels-')), 'access.log');
  const h = await startHandoff(`workers: 2
drain: { timeout: 10s }
log: { access: ${accessLog}, format: json }
frontends:
  web: { bind: 127.0.0.1:${httpPort}, default_backend: web }
  raw: { bind: 127.0.0.1:${tcpPort}, mode: tcp, default_backend: tcp }
backends:
  web: { servers: [ { name: w, address: ${web.address} } ] }
  tcp: { servers: [ { name: t, address: ${tcp.address} } ] }
`);

  // WebSocket: numbered messages with random payloads; echoes must come back in order.
  const ws = new WebSocket(`ws://127.0.0.1:${httpPort}/stream`);
  await new Promise<void>((resolve, reject) => {
    ws.once('open', () => resolve());
    ws.once('error', reject);
  });
  let wsClosed = false;
  ws.on('close', () => (wsClosed = true));
  const wsSent = createHash('sha256');
  const wsGot = createHash('sha256');
  let wsSeqSent = 0;
  let wsSeqGot = 0;
  let wsOrderError = '';
  ws.on('message', (d: Buffer) => {
    const seq = d.readUInt32BE(0);
    if (seq !== wsSeqGot) wsOrderError ||= `expected message ${wsSeqGot}, got ${seq}`;
    wsSeqGot++;
    wsGot.update(d);
  });

  // TCP: a stream of random bytes, written with back-pressure, read back.
  const sock = net.connect({ port: tcpPort, host: '127.0.0.1' });
  await new Promise<void>((resolve, reject) => {
    sock.once('connect', () => resolve());
    sock.once('error', reject);
  });
  let tcpClosed = false;
  sock.on('close', () => (tcpClosed = true));
  const tcpSent = createHash('sha256');
  const tcpGot = createHash('sha256');
  let tcpBytesSent = 0;
  let tcpBytesGot = 0;
  sock.on('data', (c: Buffer) => {
    tcpBytesGot += c.length;
    tcpGot.update(c);
  });

  let streaming = true;
  const wsPump = (async () => {
    while (streaming && wsSeqSent < 200_000) {
      if (wsSeqSent - wsSeqGot > 50) {
        await delay(1);
        continue;
      }
      const m = Buffer.concat([Buffer.alloc(4), randomBytes(64 + (wsSeqSent % 512))]);
      m.writeUInt32BE(wsSeqSent, 0);
      wsSeqSent++;
      wsSent.update(m);
      ws.send(m);
      if (wsSeqSent % 20 === 0) await delay(1);
    }
  })();
  const tcpPump = (async () => {
    while (streaming && tcpBytesSent < 500_000_000) {
      const c = randomBytes(4096);
      tcpBytesSent += c.length;
      tcpSent.update(c);
      if (!sock.write(c)) await new Promise((r) => sock.once('drain', r));
      // A bounded window keeps bytes in flight across every reload without using up the
      // machine: a few MB a second is plenty to catch a lost or reordered byte.
      if (tcpBytesSent - tcpBytesGot > 256 * 1024 || tcpBytesSent % (16 * 4096) === 0) await delay(5);
    }
  })();

  for (let i = 0; i < 50; i++) {
    const r = await controlRequest(h.control, { type: 'reload', restart: true });
    assert.ok(r.ok, JSON.stringify(r));
    await delay(30);
  }
  streaming = false;
  await Promise.all([wsPump, tcpPump]);
  await waitUntil('every WebSocket echo received', () => wsSeqGot === wsSeqSent || wsClosed, 20_000);
  await waitUntil('every TCP byte echoed', () => tcpBytesGot === tcpBytesSent || tcpClosed, 20_000);

  assert.equal(wsClosed, false, 'the WebSocket never closed');
  assert.equal(tcpClosed, false, 'the TCP connection never closed');
  assert.equal(wsOrderError, '');
  assert.equal(wsSeqGot, wsSeqSent);
  assert.equal(wsGot.digest('hex'), wsSent.digest('hex'), 'WebSocket checksums match');
  assert.equal(tcpBytesGot, tcpBytesSent);
  assert.equal(tcpGot.digest('hex'), tcpSent.digest('hex'), 'TCP checksums match');
  const s = await h.status();
  const active = s.generations.find((g) => g.state === 'active')!.number;
  assert.equal(active, 51);
  await waitUntil('old generations gone', () => workersOf(h.proc.pid).every((w) => w.generation === active), 15_000);
  console.log(`# WebSocket: ${wsSeqSent} messages; TCP: ${(tcpBytesSent / 1e6).toFixed(1)} MB each way`);
  ws.terminate();
  sock.destroy();
  // One entry per tunnel, written by the worker where it ended, carrying its whole life.
  const entries = () =>
    readFileSync(accessLog, 'utf8')
      .split('\n')
      .filter((l) => l !== '')
      .map((l) => JSON.parse(l) as Record<string, unknown>);
  await waitUntil('both tunnels logged', () => entries().length >= 2, 10_000);
  await h.stop(); // every worker gone: the log is complete, so a duplicate would be there
  const [wsEntry, tcpEntry] = [entries().filter((e) => e.frontend === 'web'), entries().filter((e) => e.frontend === 'raw')];
  assert.equal(wsEntry.length, 1, JSON.stringify(entries()));
  assert.equal(tcpEntry.length, 1, JSON.stringify(entries()));
  assert.equal(wsEntry[0]!.status, 101);
  assert.equal(wsEntry[0]!.path, '/stream');
  assert.equal(wsEntry[0]!.migrated, true);
  assert.equal(tcpEntry[0]!.migrated, true);
  assert.ok((tcpEntry[0]!.bytes_in as number) >= tcpBytesSent, 'the TCP entry counts the bytes of every generation');
});
