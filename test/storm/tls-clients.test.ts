// storm's TLS clients (--tls) against a real TLS proxy: HAProxy terminating TLS with
// certificates made by openssl at test time, reloaded by SIGUSR2 under load, its next
// config with another certificate (a certificate change at a reload). And the failure side:
// a client that cannot verify the certificate counts every request as a `tls-handshake`
// failure, and storm says there was a problem.
import assert from 'node:assert/strict';
import { existsSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { stormOptions, StormUsageError } from '../../src/storm/options.js';
import { stopAll } from '../helpers/processes.js';
import { makeTestPki, type TestPki } from '../helpers/tls-pki.js';
import { running, stormJson, summary } from './storm-run.js';

const HAPROXY = '/usr/sbin/haproxy';

function template(bundle: string, next: boolean): string {
  return `global
    maxconn 1000
defaults
    mode http
    timeout connect 5s
    timeout client 30s
    timeout server 30s
    option idle-close-on-response
frontend web
    bind 127.0.0.1:\${port.web} ssl crt ${bundle} alpn http/1.1
    use_backend a if { hdr(host) -i a.storm.test }
${next ? '    use_backend b if { hdr(host) -i new.storm.test }\n' : ''}backend a
    server a1 \${backend.a}
${next ? 'backend b\n    server b1 ${backend.b}\n' : ''}`;
}

describe('storm --tls', () => {
  let pki: TestPki;
  let cfg: string;
  let cfgNext: string;
  before(() => {
    pki = makeTestPki();
    const names = { dns: ['a.storm.test', 'new.storm.test'] };
    const first = pki.leaf('first', names);
    const second = pki.leaf('second', names); // another key and certificate, same CA
    for (const [leaf, file] of [
      [first, 'first.bundle'],
      [second, 'second.bundle'],
    ] as const)
      writeFileSync(join(pki.dir, file), leaf.cert + leaf.key);
    cfg = join(pki.dir, 'haproxy.cfg');
    cfgNext = join(pki.dir, 'haproxy-next.cfg');
    writeFileSync(cfg, template(join(pki.dir, 'first.bundle'), false));
    writeFileSync(cfgNext, template(join(pki.dir, 'second.bundle'), true));
  });
  after(async () => {
    await stopAll();
    pki?.cleanup();
  });

  const args = (extra: string[]) => [
    '--config',
    cfg,
    '--start',
    `${HAPROXY} -W -db -f {config} -p {pidfile}`,
    '--reload-signal',
    'USR2',
    '--pid-file',
    '{pidfile}',
    '--frontend',
    '127.0.0.1:${port.web}',
    '--route',
    'a.storm.test=a',
    '--interval',
    '200ms',
    '--rate',
    '50',
    '--drain-deadline',
    '5s',
    '--tls',
    ...extra,
  ];

  test('verified TLS clients through HAProxy reloads and a certificate change: no TLS failure', {
    skip: existsSync(HAPROXY) ? false : 'haproxy is not installed',
  }, async () => {
    const { code, report, stderr } = await stormJson(
      args([
        '--ca',
        pki.caFile,
        '--config-next',
        cfgNext,
        '--probe-host',
        'new.storm.test',
        '--probe-after',
        '3s',
        '--probe',
        '10',
        '--reloads',
        '5',
      ]),
    );
    const why = summary(report, stderr);
    assert.ok(report, why);
    assert.ok(code === 0 || code === 1, why);
    assert.match(report.settings.tls ?? '', /verified against .*ca\.pem, SNI = Host/);
    assert.ok(report.requests.ok > 20, why);
    assert.equal(Object.keys(report.failures.byKind).filter((k) => k.startsWith('tls-handshake')).length, 0, why);
    // The probes verify the new certificate; how many reach b depends on HAProxy finishing its
    // reload within --probe-after on a loaded machine (a 503 is the old process): none fails TLS.
    assert.ok(report.probe && report.probe.sent === 10, why);
    assert.deepEqual(Object.keys(report.probe.failed), [], why);
    assert.ok(report.probe.reachedNew > 0, why);
    for (const p of report.processes.seen) assert.equal(running(p), false, `pid ${p.pid} still running`);
  });

  test('a certificate the clients cannot verify: every request a tls-handshake failure, exit 1', {
    skip: existsSync(HAPROXY) ? false : 'haproxy is not installed',
  }, async () => {
    const other = pki.otherCa();
    const { code, report, stderr } = await stormJson(args(['--ca', other.caFile, '--reloads', '2']));
    const why = summary(report, stderr);
    assert.ok(report, why);
    assert.equal(code, 1, why);
    assert.equal(report.verdict, 'problem', why);
    assert.equal(report.requests.ok, 0, why);
    assert.ok(report.requests.failed > 0, why);
    const kinds = Object.keys(report.failures.byKind);
    assert.ok(kinds.length > 0 && kinds.every((k) => k.startsWith('tls-handshake')), why);
    assert.match(report.failures.examples[0]?.detail ?? '', /certificate refused/);
  });
});

test('storm TLS options: what goes with what', () => {
  const base = { start: 'x', reload: 'y', frontend: ['127.0.0.1:1'] };
  assert.throws(
    () => stormOptions({ ...base, ca: 'ca.pem' }),
    (e: Error) => e instanceof StormUsageError && /--ca is for TLS clients: add --tls/.test(e.message),
  );
  assert.throws(() => stormOptions({ ...base, tls: true, websocket: '1' }), /--websocket clients do not speak TLS/);
  assert.throws(() => stormOptions({ ...base, tls: true, insecure: true, ca: 'x' }), /exclude each other/);
  const o = stormOptions({ ...base, tls: true, sni: 'A.Example' });
  assert.deepEqual(o.tls, { sni: 'a.example', insecure: false });
  assert.equal(o.websocket, 0);
});
