// The diagnosis is a pure function of the facts: these snapshots are written by hand to
// cover the shapes of real deployments (healthy and broken) without starting them.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { diagnose, verdict } from '../../src/doctor/diagnose.js';
import { identifyProxy } from '../../src/doctor/proxy-kind.js';
import type { Finding, ListenSocket, ProcessInfo, Snapshot } from '../../src/doctor/types.js';

const BOOT = 1_700_000_000;
const NOW_TICKS = 1_000_000; // 10 000 s after boot

function proc(
  pid: number,
  ppid: number,
  cmdline: string[],
  startTicks: number,
  listenInodes: number[] = [],
  fdsReadable = true,
): ProcessInfo {
  return {
    pid,
    ppid,
    comm: cmdline[0]!.split(/[ /:]/).filter(Boolean).pop() ?? '?',
    cmdline,
    startTicks,
    startedAt: BOOT * 1000 + startTicks * 10,
    listenInodes,
    fdsReadable,
    proxy: identifyProxy(cmdline),
  };
}

function sock(address: string, port: number, inode: number, samples: number[] = [0, 0], backlog: number | null = 511): ListenSocket {
  return {
    family: address.includes(':') ? 'ipv6' : 'ipv4',
    address,
    port,
    inode,
    uid: 0,
    acceptQueue: samples[samples.length - 1]!,
    acceptQueueSamples: samples,
    backlog,
  };
}

function snap(sockets: ListenSocket[], processes: ProcessInfo[], unreadableProcesses = 0): Snapshot {
  return {
    collectedAt: BOOT * 1000 + NOW_TICKS * 10,
    procRoot: '/proc',
    bootTime: BOOT,
    clockTicksPerSecond: 100,
    backlogSource: 'ss',
    ipv6: true,
    filter: {},
    sockets,
    processes,
    unreadableProcesses,
  };
}

const codes = (fs: readonly Finding[]) => fs.map((f) => `${f.severity}:${f.code}`);
const find = (fs: readonly Finding[], code: Finding['code']) => {
  const f = fs.find((x) => x.code === code);
  assert.ok(f, `a ${code} finding in ${JSON.stringify(codes(fs))}`);
  return f;
};

const HAPROXY = (extra: string[] = []) => ['/usr/sbin/haproxy', '-f', '/etc/haproxy/haproxy.cfg', '-db', ...extra];
const HANDOFF_MASTER = ['node', '/srv/handoff/bin/handoff.js', 'start', '-f', '/etc/handoff.yaml'];
const handoffWorker = (gen: number, master: number) => [
  'node',
  '/srv/handoff/dist/src/worker/main.js',
  '--generation',
  String(gen),
  '--master',
  String(master),
];

test('the field report: three haproxy processes on :80 after -sf with only the last pid', () => {
  const s = snap(
    [sock('0.0.0.0', 80, 11), sock('0.0.0.0', 80, 12), sock('0.0.0.0', 80, 13), sock('0.0.0.0', 443, 21)],
    [
      proc(101, 1, HAPROXY(), NOW_TICKS - 60_000, [11]),
      proc(102, 1, HAPROXY(['-sf', '101']), NOW_TICKS - 30_000, [12]),
      proc(103, 1, HAPROXY(['-sf', '102']), NOW_TICKS - 100, [13, 21]),
    ],
  );
  const fs = diagnose(s);
  assert.deepEqual(codes(fs), ['problem:reuseport-split', 'problem:stale-generation']);
  const split = find(fs, 'reuseport-split');
  assert.equal(split.listener, '0.0.0.0:80');
  assert.deepEqual(split.pids, [101, 102, 103]);
  assert.deepEqual(split.inodes, [11, 12, 13]);
  assert.match(split.message, /3 listening sockets .*hash/);
  const stale = find(fs, 'stale-generation');
  assert.deepEqual(stale.pids, [101, 102]);
  assert.match(
    stale.message,
    /HAProxy pids 101, 102 \(the oldest started 10m00s ago\) still listen on 0\.0\.0\.0:80 next to the newer haproxy pid 103 \(started 1s ago\)/,
  );
  assert.match(stale.fix, /master-worker mode \(-W/);
  assert.match(stale.fix, /-sf the pids of ALL running haproxy processes/);
  assert.match(stale.fix, /kill -USR1 101 102/);
  assert.equal(verdict(fs), 'problem');
});

test("handoff's own model: one socket per address held by the master and every worker is healthy", () => {
  const s = snap(
    [sock('127.0.0.1', 8080, 31), sock('::1', 8080, 32)],
    [
      proc(500, 1, HANDOFF_MASTER, 1000, [31, 32]),
      proc(501, 500, handoffWorker(4, 500), 9000, [31, 32]),
      proc(502, 500, handoffWorker(4, 500), 9001, [31, 32]),
    ],
  );
  assert.deepEqual(diagnose(s), []);
});

test('handoff: an older generation still alive is a note; still holding the listening socket is a problem', () => {
  const draining = snap(
    [sock('127.0.0.1', 8080, 31)],
    [
      proc(500, 1, HANDOFF_MASTER, 1000, [31]),
      proc(490, 500, handoffWorker(2, 500), 5000, []),
      proc(501, 500, handoffWorker(3, 500), NOW_TICKS - 4200, [31]),
    ],
  );
  const fs = diagnose(draining);
  assert.deepEqual(codes(fs), ['note:handoff-old-generation']);
  assert.match(fs[0]!.message, /handoff generation 2 \(master 500, pid 490\) is still draining about 42s after generation 3 started/);
  assert.match(fs[0]!.message, /drain\.timeout/);
  assert.equal(verdict(fs), 'healthy');

  const accepting = snap(
    [sock('127.0.0.1', 8080, 31)],
    [
      proc(500, 1, HANDOFF_MASTER, 1000, [31]),
      proc(490, 500, handoffWorker(2, 500), 5000, [31]),
      proc(501, 500, handoffWorker(3, 500), NOW_TICKS - 4200, [31]),
    ],
  );
  const fs2 = diagnose(accepting);
  assert.deepEqual(codes(fs2), ['problem:handoff-old-generation-listening']);
  assert.equal(fs2[0]!.listener, '127.0.0.1:8080');
  assert.deepEqual(fs2[0]!.pids, [490]);
  assert.match(fs2[0]!.message, /must stop accepting/);
});

test('handoff: a worker whose master is gone is a note, or a problem while it still holds a listening socket', () => {
  const gone = diagnose(snap([], [proc(501, 1, handoffWorker(3, 500), 9000, [])]));
  assert.deepEqual(codes(gone), ['note:handoff-orphan-worker']);
  assert.match(gone[0]!.message, /outlived its master 500/);
  const listening = diagnose(snap([sock('127.0.0.1', 8080, 31)], [proc(501, 1, handoffWorker(3, 500), 9000, [31])]));
  assert.deepEqual(codes(listening), ['problem:handoff-orphan-worker']);
});

test('handoff: two sockets on one address inside one handoff service break its one-socket rule', () => {
  const fs = diagnose(snap([sock('127.0.0.1', 8080, 31), sock('127.0.0.1', 8080, 32)], [proc(500, 1, HANDOFF_MASTER, 1000, [31, 32])]));
  assert.deepEqual(codes(fs), ['problem:reuseport-split']);
  assert.match(fs[0]!.message, /one socket per address/);
});

const NGINX_MASTER = ['nginx: master process /usr/sbin/nginx -g daemon off;'];
const NGINX_WORKER = ['nginx: worker process'];

test('nginx: master and workers sharing the sockets, a cache manager, a worker shutting down after a reload', () => {
  const healthy = snap(
    [sock('0.0.0.0', 80, 41)],
    [
      proc(10, 1, NGINX_MASTER, 1000, [41]),
      proc(11, 10, NGINX_WORKER, 1001, [41]),
      proc(12, 10, NGINX_WORKER, 1001, [41]),
      proc(13, 10, ['nginx: cache manager process'], 1001, []),
    ],
  );
  assert.deepEqual(diagnose(healthy), []);
  const reloaded = snap(healthy.sockets.slice(), [
    ...healthy.processes.filter((p) => p.pid !== 12),
    proc(12, 10, ['nginx: worker process is shutting down'], 1001, []),
    proc(14, 10, NGINX_WORKER, NOW_TICKS - 1000, [41]),
  ]);
  const fs = diagnose(reloaded);
  assert.deepEqual(codes(fs), ['note:draining']);
  assert.deepEqual(fs[0]!.pids, [12]);
  assert.match(fs[0]!.message, /pid 12 for about 10s/);
  assert.match(fs[0]!.fix, /worker_shutdown_timeout/);
});

test('nginx with reuseport: one socket per worker, all held by the master, is sharding, not a split', () => {
  const fs = diagnose(
    snap(
      [sock('0.0.0.0', 80, 41), sock('0.0.0.0', 80, 42)],
      [proc(10, 1, NGINX_MASTER, 1000, [41, 42]), proc(11, 10, NGINX_WORKER, 1001, [41, 42]), proc(12, 10, NGINX_WORKER, 1001, [41, 42])],
    ),
  );
  assert.deepEqual(codes(fs), ['note:reuseport-shards']);
  assert.equal(verdict(fs), 'healthy');
});

test('nginx: a binary upgrade left half way (old master and workers next to the new master) is a stale generation', () => {
  const fs = diagnose(
    snap(
      [sock('0.0.0.0', 80, 41)],
      [
        proc(10, 1, NGINX_MASTER, 1000, [41]),
        proc(11, 10, NGINX_WORKER, 1001, [41]),
        proc(50, 10, NGINX_MASTER, 80_000, [41]),
        proc(51, 50, NGINX_WORKER, 80_001, [41]),
      ],
    ),
  );
  assert.deepEqual(codes(fs), ['problem:stale-generation']);
  assert.deepEqual(fs[0]!.pids, [10, 11]);
  assert.match(fs[0]!.message, /newer nginx pid 50/);
  assert.match(fs[0]!.fix, /failed binary upgrade or reload.*kill -QUIT 10/);
});

test('haproxy -W: the master above its workers is normal; an old worker alive is draining, still listening is stale', () => {
  const MW = HAPROXY(['-W']);
  const draining = diagnose(
    snap([sock('0.0.0.0', 80, 41)], [proc(10, 1, MW, 1000, [41]), proc(11, 10, MW, 5000, []), proc(12, 10, MW, NOW_TICKS - 12_000, [41])]),
  );
  assert.deepEqual(codes(draining), ['note:draining']);
  assert.deepEqual(draining[0]!.pids, [11]);
  assert.match(draining[0]!.message, /for about 2m00s/);
  assert.match(draining[0]!.fix, /hard-stop-after/);

  const stale = diagnose(
    snap(
      [sock('0.0.0.0', 80, 41), sock('0.0.0.0', 80, 42)],
      [proc(10, 1, MW, 1000, []), proc(11, 10, MW, 5000, [41]), proc(12, 10, MW, NOW_TICKS - 12_000, [42])],
    ),
  );
  assert.deepEqual(codes(stale), ['problem:reuseport-split', 'problem:stale-generation']);
  assert.deepEqual(stale[1]!.pids, [11]);
  // a haproxy process we could not inspect is not called draining
  const unknown = diagnose(
    snap([sock('0.0.0.0', 80, 41)], [proc(11, 1, HAPROXY(), 5000, [], false), proc(12, 1, HAPROXY(), 9000, [41])], 1),
  );
  assert.deepEqual(codes(unknown), []);
});

test('envoy: the older restart epoch still listening is stale; gone from the socket it is draining', () => {
  const ENVOY = (epoch: number) => ['/usr/local/bin/envoy', '-c', '/etc/envoy.yaml', '--restart-epoch', String(epoch)];
  const stale = diagnose(snap([sock('0.0.0.0', 10000, 61)], [proc(70, 1, ENVOY(0), 1000, [61]), proc(80, 1, ENVOY(1), 9000, [61])]));
  assert.deepEqual(codes(stale), ['problem:stale-generation']);
  assert.deepEqual(stale[0]!.pids, [70]);
  const draining = diagnose(snap([sock('0.0.0.0', 10000, 61)], [proc(70, 1, ENVOY(0), 1000, []), proc(80, 1, ENVOY(1), 9000, [61])]));
  assert.deepEqual(codes(draining), ['note:draining']);
  assert.match(draining[0]!.fix, /parent-shutdown-time-s/);
});

test('different programs splitting one port get the generic fix', () => {
  const fs = diagnose(
    snap(
      [sock('127.0.0.1', 9000, 71), sock('127.0.0.1', 9000, 72)],
      [proc(90, 1, ['python3', 'a.py'], 100, [71]), proc(91, 1, NGINX_MASTER, 200, [72])],
    ),
  );
  assert.deepEqual(codes(fs), ['problem:reuseport-split']);
  assert.match(fs[0]!.fix, /Decide which program should serve this address/);
});

test('accept queues: full at the backlog and growing are problems; waiting is a note; empty is nothing', () => {
  const p = (inodes: number[]) => proc(90, 1, ['python3', 'server.py'], 100, inodes);
  const full = diagnose(snap([sock('127.0.0.1', 9000, 71, [4, 4], 4)], [p([71])]));
  assert.deepEqual(codes(full), ['problem:accept-queue-full']);
  assert.match(full[0]!.message, /full, 4 of backlog 4/);
  const growing = diagnose(snap([sock('127.0.0.1', 9000, 71, [1, 3], null)], [p([71])]));
  assert.deepEqual(codes(growing), ['problem:accept-queue-growing']);
  const waiting = diagnose(snap([sock('127.0.0.1', 9000, 71, [2, 2], null)], [p([71])]));
  assert.deepEqual(codes(waiting), ['note:accept-queue-waiting']);
  assert.match(waiting[0]!.message, /2 connections were waiting to be accepted on 127\.0\.0\.1:9000 \(inode 71, backlog unknown\)/);
  assert.deepEqual(diagnose(snap([sock('127.0.0.1', 9000, 71, [0, 0], 1)], [p([71])])), []);
});

test('sockets nobody visible holds: a note, and a split of unseen holders cannot be called either way', () => {
  const ns = diagnose(snap([sock('0.0.0.0', 2024, 81)], []));
  assert.deepEqual(codes(ns), ['note:owner-unknown']);
  assert.match(ns[0]!.message, /another container or namespace/);
  const perm = diagnose(snap([sock('0.0.0.0', 2024, 81), sock('0.0.0.0', 2024, 82)], [proc(90, 1, ['python3', 'a.py'], 100, [81])], 12));
  assert.deepEqual(codes(perm), ['note:reuseport-split', 'note:owner-unknown']);
  assert.match(perm[1]!.fix, /as root/);
});

test('under --port, process-level findings only concern processes tied to the listeners in view', () => {
  const processes = [
    proc(500, 1, HANDOFF_MASTER, 1000, [31]),
    proc(490, 500, handoffWorker(2, 500), 5000, []),
    proc(501, 500, handoffWorker(3, 500), 9000, [31]),
    proc(600, 1, handoffWorker(1, 599), 9000, []), // an orphan elsewhere
    proc(11, 1, HAPROXY(), 5000, []),
    proc(12, 1, HAPROXY(), 9000, [41]),
  ];
  const all = [sock('127.0.0.1', 8080, 31), sock('0.0.0.0', 80, 41)];
  assert.deepEqual(codes(diagnose(snap(all, processes))).sort(), [
    'note:draining',
    'note:handoff-old-generation',
    'note:handoff-orphan-worker',
  ]);
  const only8080 = { ...snap([all[0]!], processes), filter: { port: 8080 } };
  assert.deepEqual(codes(diagnose(only8080)), ['note:handoff-old-generation']);
  const only80 = { ...snap([all[1]!], processes), filter: { port: 80 } };
  assert.deepEqual(codes(diagnose(only80)), ['note:draining']);
});
