// Config for TLS passthrough (tcp routes by sni) and TLS to servers (backend/server `tls`):
// the model it builds, and every error at its file:line:col. CA files are real certificates
// made by openssl at test time.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { formatIssue } from '../../src/config/load.js';
import { chooseKind } from './reload-kind-helper.js';
import { errorsOf, loadLines, removeTempConfigs } from './temp-config.js';
import { makeTestPki, type TestPki } from '../helpers/tls-pki.js';

let pki: TestPki;
before(() => {
  pki = makeTestPki();
});
after(async () => {
  pki.cleanup();
  await removeTempConfigs();
});

const where = (lines: string[], extra: Record<string, string> = {}) =>
  loadLines(lines, extra).then(({ result }) => errorsOf(result).map((e) => `${e.line}:${e.col} ${e.path}: ${e.message}`));

const PASS = ['frontends:', '  pass:', '    mode: tcp', '    bind: 127.0.0.1:9443'];
const BACKENDS = [
  'backends:',
  '  a: { servers: [ { name: a1, address: 127.0.0.1:9001 } ] }',
  '  b: { servers: [ { name: b1, address: 127.0.0.1:9002 } ] }',
];

describe('tcp routes by sni', () => {
  test('the model: patterns in order, default_backend optional', async () => {
    const { result } = await loadLines([
      ...PASS,
      '    routes:',
      '      - { sni: A.Example.com, backend: a }',
      '      - { name: bees, sni: ["*.b.example", b.example], backend: b }',
      ...BACKENDS,
    ]);
    assert.ok(result.ok, result.ok ? '' : result.errors.map(formatIssue).join('\n'));
    const fe = result.config.frontends[0]!;
    assert.deepEqual(fe.routes, []);
    assert.equal(fe.defaultBackend, undefined);
    assert.deepEqual(fe.sniRoutes, [
      { name: '0', patterns: [{ kind: 'exact', name: 'a.example.com' }], backend: 'a' },
      {
        name: 'bees',
        patterns: [
          { kind: 'suffix', suffix: '.b.example' },
          { kind: 'exact', name: 'b.example' },
        ],
        backend: 'b',
      },
    ]);
  });

  test('errors: a route without sni, http keys, a bad pattern, an unknown backend, sni in an http route', async () => {
    const errors = await where([
      ...PASS,
      '    routes:',
      '      - { backend: a }',
      '      - { sni: a.example, path: /x, backend: a }',
      '      - { sni: "a.*.example", backend: a }',
      '      - { sni: c.example, backend: nope }',
      '  web:',
      '    bind: 127.0.0.1:8080',
      '    routes: [ { sni: a.example, backend: a } ]',
      ...BACKENDS,
    ]);
    assert.deepEqual(
      errors.map((e) => e.split(' ')[0]),
      ['6:9', '7:27', '8:16', '9:36', '12:17'],
    );
    assert.match(errors[0]!, /routes\[0\]\.sni: a tcp route needs sni/);
    assert.match(errors[1]!, /"path" is not allowed in a tcp route/);
    assert.match(errors[2]!, /"\*" is only allowed as the first label/);
    assert.match(errors[3]!, /unknown backend "nope"/);
    assert.match(errors[4]!, /sni routes are for mode: tcp/);
  });

  test('a tcp frontend needs routes or a default_backend', async () => {
    const errors = await where([...PASS, ...BACKENDS]);
    assert.equal(errors.length, 1);
    assert.match(errors[0]!, /^3:5 frontends\.pass\.default_backend: a tcp frontend needs a default_backend \(or routes by sni\)/);
  });
});

describe('tls to servers', () => {
  const HTTP = ['frontends:', '  web: { bind: 127.0.0.1:8080, default_backend: app }'];

  test('the model: backend settings, server overrides, `tls: true`, `tls: false`, CA read at load', async () => {
    const { result, file } = await loadLines(
      [
        ...HTTP,
        'backends:',
        '  app:',
        '    tls: { ca: ./certs/ca.pem, sni: App.Internal }',
        '    servers:',
        '      - { name: s1, address: 127.0.0.1:9001 }',
        '      - { name: s2, address: 127.0.0.1:9002, tls: { sni: s2.internal } }',
        '      - { name: s3, address: 127.0.0.1:9003, tls: false }',
        '      - { name: s4, address: 127.0.0.1:9004, tls: { verify: false } }',
        '  other: { servers: [ { name: o1, address: 127.0.0.1:9005, tls: true } ] }',
      ],
      { 'certs/ca.pem': pki.ca },
    );
    assert.ok(result.ok, result.ok ? '' : result.errors.map(formatIssue).join('\n'));
    const [s1, s2, s3, s4] = result.config.backends[0]!.servers;
    const caFile = file.replace(/handoff\.yaml$/, 'certs/ca.pem');
    assert.deepEqual(s1!.tls, { verify: true, ca: { file: caFile, pem: pki.ca }, sni: 'app.internal' });
    assert.deepEqual(s2!.tls, { verify: true, ca: { file: caFile, pem: pki.ca }, sni: 's2.internal' });
    assert.equal(s3!.tls, undefined);
    assert.deepEqual(s4!.tls, { verify: false, ca: { file: caFile, pem: pki.ca }, sni: 'app.internal' });
    assert.deepEqual(result.config.backends[1]!.servers[0]!.tls, { verify: true });
  });

  test('errors at their position: unreadable CA, a file without certificates, a broken certificate, an IP as sni, a bad shape', async () => {
    const broken = pki.ca.replace(/\n[A-Za-z0-9+/]{20}/, '\n!!!!!!!!!!!!!!!!!!!!');
    const errors = await where(
      [
        ...HTTP,
        'backends:',
        '  app:',
        '    tls: { ca: ./missing.pem }',
        '    servers:',
        '      - { name: s1, address: 127.0.0.1:9001, tls: { ca: ./empty.pem } }',
        '      - { name: s2, address: 127.0.0.1:9002, tls: { ca: ./broken.pem } }',
        '      - { name: s3, address: 127.0.0.1:9003, tls: { sni: 10.0.0.1 } }',
        '      - { name: s4, address: 127.0.0.1:9004, tls: { verify: maybe } }',
        '      - { name: s5, address: 127.0.0.1:9005, tls: yes-please }',
      ],
      { 'empty.pem': 'not a certificate\n', 'broken.pem': broken },
    );
    assert.equal(errors.length, 6, errors.join('\n'));
    assert.match(errors[0]!, /^5:16 backends\.app\.tls\.ca: CA file "\.\/missing\.pem": cannot read .*ENOENT/);
    assert.match(errors[1]!, /^7:57 backends\.app\.servers\[0\]\.tls\.ca: CA file "\.\/empty\.pem": no PEM certificate/);
    assert.match(errors[2]!, /^8:57 backends\.app\.servers\[1\]\.tls\.ca: CA file "\.\/broken\.pem": certificate 1 .* is not valid/);
    assert.match(errors[3]!, /^9:58 backends\.app\.servers\[2\]\.tls\.sni: expected a host name/);
    assert.match(errors[4]!, /^10:61 backends\.app\.servers\[3\]\.tls\.verify: /);
    assert.match(errors[5]!, /^11:51 backends\.app\.servers\[4\]\.tls: /);
  });

  test('TLS to servers behind a tcp frontend is refused (passthrough is by sni)', async () => {
    const errors = await where([
      ...PASS,
      '    default_backend: a',
      'backends:',
      '  a: { tls: true, servers: [ { name: a1, address: 127.0.0.1:9001 } ] }',
    ]);
    assert.equal(errors.length, 1);
    assert.match(errors[0]!, /^7:8 backends\.a\.tls: TLS to servers is for http frontends: tcp frontend "pass"/);
  });

  test('a tls change, and a CA file edited in place, are live applies', async () => {
    const lines = (tls: string) => [
      ...HTTP,
      'backends:',
      '  app:',
      `    tls: ${tls}`,
      '    servers: [ { name: s1, address: 127.0.0.1:9001 } ]',
    ];
    assert.equal(await chooseKind(lines('{ verify: false }'), lines('{ verify: true, ca: ./ca.pem }'), { 'ca.pem': pki.ca }), 'live');
    const other = pki.otherCa().ca;
    assert.equal(await chooseKind(lines('{ ca: ./ca.pem }'), lines('{ ca: ./ca.pem }'), { 'ca.pem': pki.ca }, { 'ca.pem': other }), 'live');
    assert.equal(await chooseKind(lines('{ ca: ./ca.pem }'), lines('{ ca: ./ca.pem }'), { 'ca.pem': pki.ca }), 'unchanged');
  });
});
