import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import net from 'node:net';
import { rmSync } from 'node:fs';
import { decodeEndpoint, listenerKey, normalizeAddress } from '../../src/doctor/ip-address.js';
import { parseNetLine, parseProcNetTcp, readListenTable, TCP_LISTEN } from '../../src/doctor/proc-net.js';
import { ProcUnreadableError } from '../../src/doctor/proc-unreadable.js';
import { parseSsListen } from '../../src/doctor/ss-backlog.js';
import { TCP6_HEADER, TCP_HEADER, tcpLine, writeProcTree } from './proc-tree.js';

const trees: string[] = [];
after(() => {
  for (const t of trees) rmSync(t, { recursive: true, force: true });
});

// Addresses as a little-endian kernel prints them: each 32-bit word byte-reversed.
const V4_ANY = '00000000';
const V4_LOOPBACK = '0100007F'; // 127.0.0.1
const V4_10_1_2_3 = '0302010A'; // 10.1.2.3
const V6_ANY = '00000000000000000000000000000000';
const V6_LOOPBACK = '00000000000000000000000001000000'; // ::1
const V6_MAPPED_LOOPBACK = '0000000000000000FFFF00000100007F'; // ::ffff:127.0.0.1
const V6_DOC = 'B80D0120000000000000000001000000'; // 2001:db8::1

test('IPv4 endpoints: per-word little-endian address, hex port', () => {
  assert.deepEqual(decodeEndpoint(`${V4_ANY}:0050`), { family: 'ipv4', address: '0.0.0.0', port: 80 });
  assert.deepEqual(decodeEndpoint(`${V4_LOOPBACK}:1F90`), { family: 'ipv4', address: '127.0.0.1', port: 8080 });
  assert.deepEqual(decodeEndpoint(`${V4_10_1_2_3}:FFFF`), { family: 'ipv4', address: '10.1.2.3', port: 65535 });
});

test('IPv6 endpoints: four little-endian words, canonical text, IPv4-mapped shown as such', () => {
  assert.deepEqual(decodeEndpoint(`${V6_ANY}:01BB`), { family: 'ipv6', address: '::', port: 443 });
  assert.deepEqual(decodeEndpoint(`${V6_LOOPBACK}:1F90`), { family: 'ipv6', address: '::1', port: 8080 });
  assert.deepEqual(decodeEndpoint(`${V6_MAPPED_LOOPBACK}:22B8`), { family: 'ipv6', address: '::ffff:127.0.0.1', port: 8888 });
  assert.deepEqual(decodeEndpoint(`${V6_DOC}:0050`), { family: 'ipv6', address: '2001:db8::1', port: 80 });
  assert.throws(() => decodeEndpoint('0100007:0050'));
});

test('a /proc/net/tcp text: header skipped, LISTEN (0A) told from other states, rx_queue is the accept queue', () => {
  const text = [
    TCP_HEADER,
    tcpLine(0, `${V4_ANY}:0050`, `${V4_ANY}:0000`, '0A', 0, 1001),
    tcpLine(1, `${V4_LOOPBACK}:1F90`, `${V4_ANY}:0000`, '0A', 0x11, 1002, 1000),
    tcpLine(2, `${V4_LOOPBACK}:1F90`, `${V4_LOOPBACK}:C350`, '01', 0, 1003),
    tcpLine(3, `${V4_LOOPBACK}:C350`, `${V4_LOOPBACK}:1F90`, '06', 0, 0),
    'garbage that is not a socket line',
    '',
  ].join('\n');
  const entries = parseProcNetTcp(text);
  assert.equal(entries.length, 4);
  assert.deepEqual(entries[1], {
    family: 'ipv4',
    address: '127.0.0.1',
    port: 8080,
    state: TCP_LISTEN,
    txQueue: 0,
    rxQueue: 17,
    uid: 1000,
    inode: 1002,
  });
  assert.equal(entries[2]!.state, 0x01);
  assert.equal(parseNetLine(TCP_HEADER), undefined);
});

test('readListenTable keeps LISTEN sockets of tcp and tcp6; a missing tcp6 is IPv6 off, a missing tcp is an error', async () => {
  const root = writeProcTree({
    tcp: [
      tcpLine(0, `${V4_LOOPBACK}:1F90`, `${V4_ANY}:0000`, '0A', 3, 2001),
      tcpLine(1, `${V4_LOOPBACK}:1F90`, `${V4_LOOPBACK}:C350`, '01', 0, 2002),
    ],
    tcp6: [
      tcpLine(0, `${V6_ANY}:0050`, `${V6_ANY}:0000`, '0A', 0, 2003),
      tcpLine(1, `${V6_LOOPBACK}:1F90`, `${V6_ANY}:0000`, '0A', 0, 2004),
      tcpLine(2, `${V6_MAPPED_LOOPBACK}:1F90`, `${V6_ANY}:0000`, '0A', 0, 2005),
      tcpLine(3, `${V6_LOOPBACK}:1F90`, `${V6_LOOPBACK}:D000`, '08', 0, 2006),
    ],
  });
  trees.push(root);
  const table = await readListenTable(root);
  assert.equal(table.ipv6, true);
  assert.deepEqual(
    table.listening.map((e) => [listenerKey(e.address, e.port), e.inode, e.rxQueue]),
    [
      ['127.0.0.1:8080', 2001, 3],
      ['[::]:80', 2003, 0],
      ['[::1]:8080', 2004, 0],
      ['[::ffff:127.0.0.1]:8080', 2005, 0],
    ],
  );
  const v4only = writeProcTree({ tcp: [tcpLine(0, `${V4_ANY}:0016`, `${V4_ANY}:0000`, '0A', 0, 7)], tcp6: null });
  trees.push(v4only);
  assert.equal((await readListenTable(v4only)).ipv6, false);
  await assert.rejects(
    () => readListenTable('/nonexistent-proc-root'),
    (err: unknown) => err instanceof ProcUnreadableError && /net\/tcp/.test(err.message),
  );
  assert.ok(TCP6_HEADER.includes('remote_address'));
});

test('the real /proc/net/tcp{,6} shows our own listeners on 127.0.0.1, ::1 and ::ffff:127.0.0.1', async (t) => {
  const servers: net.Server[] = [];
  t.after(() => Promise.all(servers.map((s) => new Promise((r) => s.close(r)))));
  const listen = (host: string) =>
    new Promise<number>((resolve, reject) => {
      const s = net.createServer();
      servers.push(s);
      s.once('error', reject);
      s.listen(0, host, () => resolve((s.address() as net.AddressInfo).port));
    });
  const v4 = await listen('127.0.0.1');
  const v6 = await listen('::1');
  const mapped = await listen('::ffff:127.0.0.1');
  const keys = (await readListenTable('/proc')).listening.map((e) => listenerKey(e.address, e.port));
  assert.ok(keys.includes(`127.0.0.1:${v4}`), `127.0.0.1:${v4} in ${keys.join(' ')}`);
  assert.ok(keys.includes(`[::1]:${v6}`), `[::1]:${v6} in ${keys.join(' ')}`);
  assert.ok(keys.includes(`[::ffff:127.0.0.1]:${mapped}`) || keys.includes(`127.0.0.1:${mapped}`), `mapped ${mapped} in ${keys.join(' ')}`);
});

test('normalizeAddress: the forms people type, in the canonical text the tables use', () => {
  assert.equal(normalizeAddress('127.0.0.1'), '127.0.0.1');
  assert.equal(normalizeAddress('[::1]'), '::1');
  assert.equal(normalizeAddress('0:0:0:0:0:0:0:1'), '::1');
  assert.equal(normalizeAddress('::FFFF:127.0.0.1'), '::ffff:127.0.0.1');
  assert.equal(normalizeAddress('[::]'), '::');
  assert.equal(normalizeAddress('localhost'), undefined);
  assert.equal(listenerKey('::1', 80), '[::1]:80');
});

test('ss -ltne output gives the backlog (Send-Q of a LISTEN line) per inode', () => {
  const text = [
    'State  Recv-Q Send-Q Local Address:Port Peer Address:PortProcess',
    'LISTEN 0      128          0.0.0.0:2024      0.0.0.0:*    ino:1060 sk:1 cgroup:/ <->',
    'LISTEN 2      1          127.0.0.1:41234     0.0.0.0:*    uid:1000 ino:55123 sk:2 cgroup:/ <->',
    'LISTEN 0      511            [::1]:8080         [::]:*    ino:55200 sk:3 cgroup:/ v6only:1 <->',
  ].join('\n');
  assert.deepEqual(
    [...parseSsListen(text)],
    [
      [1060, 128],
      [55123, 1],
      [55200, 511],
    ],
  );
});
