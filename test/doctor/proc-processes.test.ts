import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { collectSnapshot } from '../../src/doctor/collect.js';
import { parseCmdline, parseStat, readStat, socketInode } from '../../src/doctor/proc-processes.js';
import { handoffRun } from '../helpers/processes.js';
import { BOOT_TIME, tcpLine, writeProcTree } from './proc-tree.js';

const trees: string[] = [];
after(() => {
  for (const t of trees) rmSync(t, { recursive: true, force: true });
});
function tree(opts: Parameters<typeof writeProcTree>[0]): string {
  const root = writeProcTree(opts);
  trees.push(root);
  return root;
}

test('parseStat: the name may hold spaces and parentheses; ppid is field 4, starttime field 22', () => {
  const line =
    '4242 (my (odd) name) S 17 4242 4242 0 -1 4194560 1 0 0 0 3 1 0 0 20 0 1 0 123456 1000 10 18446744073709551615 1 1 0 0 0 0 0 0 0 0 0 0 17 1 0 0 0 0 0\n';
  assert.deepEqual(parseStat(line), { pid: 4242, comm: 'my (odd) name', state: 'S', ppid: 17, startTicks: 123456 });
  assert.throws(() => parseStat('garbage'));
  assert.throws(() => parseStat('1 (x) S 0'));
});

test('readStat on our own real process agrees with the kernel', () => {
  const stat = readStat('/proc', process.pid);
  assert.ok(stat);
  assert.equal(stat.pid, process.pid);
  assert.equal(stat.ppid, process.ppid);
  assert.ok(stat.startTicks > 0);
});

test('parseCmdline splits at NUL and drops the terminator; socketInode reads fd links', () => {
  assert.deepEqual(parseCmdline(Buffer.from(['haproxy', '-f', '/etc/haproxy.cfg', '-sf', '101', ''].join('\0'))), [
    'haproxy',
    '-f',
    '/etc/haproxy.cfg',
    '-sf',
    '101',
  ]);
  assert.deepEqual(parseCmdline('nginx: worker process\0\0\0'), ['nginx: worker process']);
  assert.deepEqual(parseCmdline(''), []);
  assert.equal(socketInode('socket:[123456]'), 123456);
  assert.equal(socketInode('pipe:[123456]'), undefined);
  assert.equal(socketInode('/dev/null'), undefined);
});

const HAPROXY_CFG = ['/usr/sbin/haproxy', '-f', '/etc/haproxy/haproxy.cfg', '-db'];

test('collectSnapshot on a fixture tree: sockets, holders, start times, proxies, filters', async () => {
  const root = tree({
    tcp: [
      tcpLine(0, '00000000:0050', '00000000:0000', '0A', 0, 5001),
      tcpLine(1, '00000000:0050', '00000000:0000', '0A', 2, 5002),
      tcpLine(2, '0100007F:1F90', '00000000:0000', '0A', 0, 5003),
      tcpLine(3, '0100007F:1F90', '0100007F:D000', '01', 0, 5004),
    ],
    processes: [
      { pid: 100, ppid: 1, comm: 'haproxy', cmdline: HAPROXY_CFG, startTicks: 1000, sockets: [5001] },
      { pid: 200, ppid: 1, comm: 'haproxy', cmdline: [...HAPROXY_CFG, '-sf', '100'], startTicks: 5000, sockets: [5002] },
      { pid: 300, ppid: 1, comm: 'python3', cmdline: ['python3', '-m', 'http.server'], startTicks: 6000, sockets: [5003, 5004] },
      { pid: 400, ppid: 1, comm: 'bash', cmdline: ['bash'], startTicks: 10 },
    ],
  });
  const s = await collectSnapshot({ procRoot: root, sampleIntervalMs: 0 });
  assert.equal(s.backlogSource, null, 'no ss for a fixture tree');
  assert.deepEqual(
    s.sockets.map((x) => [x.address, x.port, x.inode, x.acceptQueue]),
    [
      ['0.0.0.0', 80, 5001, 0],
      ['0.0.0.0', 80, 5002, 2],
      ['127.0.0.1', 8080, 5003, 0],
    ],
  );
  assert.deepEqual(
    s.processes.map((p) => [p.pid, p.listenInodes, p.proxy?.kind ?? null]),
    [
      [100, [5001], 'haproxy'],
      [200, [5002], 'haproxy'],
      [300, [5003], null],
    ],
  );
  const p200 = s.processes.find((p) => p.pid === 200)!;
  assert.equal(p200.startedAt, BOOT_TIME * 1000 + 50_000, 'starttime 5000 ticks = 50 s after boot');
  assert.equal(p200.ppid, 1);

  const only8080 = await collectSnapshot({ procRoot: root, sampleIntervalMs: 0, filter: { port: 8080 } });
  assert.deepEqual(
    only8080.sockets.map((x) => x.inode),
    [5003],
  );
  // known proxies stay (they may be draining), other programs only with a kept socket
  assert.deepEqual(
    only8080.processes.map((p) => p.pid),
    [100, 200, 300],
  );
  const byAddress = await collectSnapshot({ procRoot: root, sampleIntervalMs: 0, filter: { address: '127.0.0.1' } });
  assert.deepEqual(
    byAddress.sockets.map((x) => x.inode),
    [5003],
  );
});

test('handoff doctor --proc FIXTURE: the table, the findings and the verdict (exit 1), --json the same facts', async () => {
  const root = tree({
    tcp: [tcpLine(0, '00000000:0050', '00000000:0000', '0A', 0, 5001), tcpLine(1, '00000000:0050', '00000000:0000', '0A', 0, 5002)],
    processes: [
      { pid: 100, ppid: 1, comm: 'haproxy', cmdline: HAPROXY_CFG, startTicks: 1000, sockets: [5001] },
      { pid: 200, ppid: 1, comm: 'haproxy', cmdline: [...HAPROXY_CFG, '-sf', '100'], startTicks: 5000, sockets: [5002] },
    ],
  });
  const text = await handoffRun(['doctor', '--proc', root]);
  assert.equal(text.code, 1, text.stdout + text.stderr);
  assert.match(text.stdout, /^0\.0\.0\.0:80 {2}2 sockets/m);
  assert.match(text.stdout, /INODE +ACCEPT-Q +PID +AGE +KIND +COMMAND/);
  assert.match(text.stdout, /5001 +0\/\? +100 +\S+ +haproxy +\/usr\/sbin\/haproxy -f \/etc\/haproxy\/haproxy.cfg -db/);
  assert.match(text.stdout, /PROBLEM {2}reuseport-split {2}0\.0\.0\.0:80/);
  assert.match(text.stdout, /PROBLEM {2}stale-generation {2}0\.0\.0\.0:80/);
  assert.match(text.stdout, /backlog limit is not in \/proc\/net\/tcp/);
  assert.match(text.stdout, /\nVerdict: PROBLEM: 2 problems\.\n$/);

  const json = await handoffRun(['doctor', '--proc', root, '--json']);
  assert.equal(json.code, 1);
  const doc = JSON.parse(json.stdout);
  assert.equal(doc.format, 'handoff-doctor/1');
  assert.equal(doc.verdict, 'problem');
  assert.deepEqual(
    doc.listeners.map((l: { listener: string }) => l.listener),
    ['0.0.0.0:80'],
  );
  assert.deepEqual(
    doc.listeners[0].sockets.map((s: { inode: number; pids: number[]; backlog: null }) => [s.inode, s.pids, s.backlog]),
    [
      [5001, [100], null],
      [5002, [200], null],
    ],
  );
  assert.deepEqual(
    doc.findings.map((f: { code: string; pids: number[] }) => [f.code, f.pids]),
    [
      ['reuseport-split', [100, 200]],
      ['stale-generation', [100]],
    ],
  );

  const healthy = await handoffRun(['doctor', '--proc', root, '--port', '443']);
  assert.equal(healthy.code, 0, healthy.stdout);
  assert.match(healthy.stdout, /No listening TCP socket matches --port 443/);
  assert.match(healthy.stdout, /Verdict: healthy/);
});

test('exit 2 with a clear message when --proc has no net/tcp; exit 2 on bad options; --help exits 0', async () => {
  const empty = mkdtempSync(join(tmpdir(), 'handoff-doctor-empty-'));
  trees.push(empty);
  const r = await handoffRun(['doctor', '--proc', empty]);
  assert.equal(r.code, 2);
  assert.equal(r.stdout, '');
  assert.match(r.stderr, new RegExp(`cannot read ${join(empty, 'net', 'tcp')}`));

  const noStat = tree({ btime: null });
  const r2 = await handoffRun(['doctor', '--proc', noStat]);
  assert.equal(r2.code, 2);
  assert.match(r2.stderr, /cannot read .*stat/);

  const bad = await handoffRun(['doctor', '--port', '70000']);
  assert.equal(bad.code, 2);
  assert.match(bad.stderr, /--port wants a TCP port/);
  const badAddress = await handoffRun(['doctor', '--address', 'example.com']);
  assert.equal(badAddress.code, 2);

  const help = await handoffRun(['doctor', '--help']);
  assert.equal(help.code, 0);
  assert.match(help.stdout, /usage: handoff doctor/);
  assert.match(help.stdout, /exit status: 0 healthy, 1 a problem was found, 2/);
});
