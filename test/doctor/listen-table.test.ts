import { test } from 'node:test';
import assert from 'node:assert/strict';
import { socketAddress } from '../../src/config/address.js';
import { countListeners } from '../../src/storm/listen-count.js';
import { listeningIn, readListenTable } from '../../src/doctor/proc-net.js';

// 127.0.0.1:8080 LISTEN twice (SO_REUSEPORT), 0.0.0.0:9090 LISTEN, one TIME_WAIT and one ESTABLISHED on 8080
const TCP = `  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode
   0: 0100007F:1F90 00000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 1001 1 0000000000000000 100 0 0 10 0
   1: 0100007F:1F90 00000000:0000 0A 00000000:00000002 00:00000000 00000000     0        0 1002 1 0000000000000000 100 0 0 10 0
   2: 00000000:2382 00000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 1003 1 0000000000000000 100 0 0 10 0
   3: 0100007F:1F90 0100007F:D0A4 06 00000000:00000000 03:00000F0A 00000000     0        0 0 3 0000000000000000
   4: 0100007F:1F90 0100007F:D0A6 01 00000000:00000000 00:00000000 00000000     0        0 1004 1 0000000000000000 20 4 30 10 -1
`;
const TCP6 = `  sl  local_address                         remote_address                        st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode
   0: 00000000000000000000000001000000:1F90 00000000000000000000000000000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 2001 1 0000000000000000 100 0 0 10 0
`;

test('only LISTEN lines are decoded; counts per address include same-family wildcards', () => {
  const listening = [...listeningIn(Buffer.from(TCP)), ...listeningIn(Buffer.from(TCP6))];
  assert.deepEqual(listening.map((e) => e.inode).sort(), [1001, 1002, 1003, 2001]);
  const { counts, inodes } = countListeners(listening, [
    socketAddress('127.0.0.1', 8080),
    socketAddress('::1', 8080),
    socketAddress('127.0.0.1', 9090),
    socketAddress('127.0.0.2', 7000),
  ]);
  assert.deepEqual(counts, [2, 1, 1, 0]);
  assert.deepEqual([...inodes].sort(), [1001, 1002, 1003, 2001]);
});

test('the real /proc/net/tcp of this host parses (async reads)', async () => {
  const all = (await readListenTable('/proc')).listening;
  assert.ok(Array.isArray(all));
  assert.ok(all.every((e) => e.state === 0x0a && e.inode > 0));
});
