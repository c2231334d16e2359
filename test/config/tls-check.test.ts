// `handoff check` on `tls:` and `redirect_https:`, as a real process: every certificate's
// names and expiry listed; an unreadable file, a key that does not match, an expired
// certificate as errors at file:line:col; a certificate that expires within 14 days and a
// key file readable by group/others as warnings; a folder of pairs; what does not fit.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { chmodSync, mkdirSync, writeFileSync, copyFileSync } from 'node:fs';
import { join } from 'node:path';
import { handoffRun, stopAll } from '../helpers/processes.js';
import { issue, makeCa, removeCa, type Issued, type TestCa } from '../e2e/support/tls-certs.js';

describe('handoff check: tls', () => {
  let ca: TestCa;
  let good: Issued;
  let other: Issued;
  let soon: Issued;
  let expired: Issued;
  before(() => {
    ca = makeCa();
    good = issue(ca, 'good', { names: ['a.test', '*.b.test'] });
    other = issue(ca, 'other', { names: ['other.test'] });
    soon = issue(ca, 'soon', { names: ['soon.test'], days: 3 });
    expired = issue(ca, 'expired', { names: ['old.test'], expired: true });
  });
  after(async () => {
    await stopAll();
    removeCa(ca);
  });

  const check = async (body: string) => {
    const file = join(ca.dir, `check-${Math.random().toString(36).slice(2)}.yaml`);
    writeFileSync(file, `workers: 1\n${body}\nbackends:\n  app: { servers: [ { name: a, address: 127.0.0.1:9 } ] }\n`);
    return { file, ...(await handoffRun(['check', '-f', file])) };
  };
  const tlsFrontend = (tls: string, extra = '') =>
    `frontends:\n  web:\n    bind: 127.0.0.1:1\n    default_backend: app\n${extra}    tls:\n${tls}`;

  it('valid: names, expiry and serial of each certificate listed, the first marked default', async () => {
    const r = await check(
      tlsFrontend(
        `      certificates:\n        - { cert: ${good.cert}, key: ${good.key} }\n        - { cert: ${other.cert}, key: ${other.key} }\n`,
      ),
    );
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stderr, '');
    assert.match(
      r.stdout,
      new RegExp(`tls web: ${good.cert} \\(default\\): a\\.test, \\*\\.b\\.test; expires \\d{4}-.*; serial ${good.serial}`),
    );
    assert.match(r.stdout, new RegExp(`tls web: ${other.cert}: other\\.test;`));
  });

  it('errors at file:line:col: a missing file, a key that does not match, an expired certificate', async () => {
    const r = await check(
      tlsFrontend(
        `      certificates:\n        - { cert: ${good.cert}, key: ${other.key} }\n        - { cert: ${join(ca.dir, 'nope.pem')}, key: ${good.key} }\n        - { cert: ${expired.cert}, key: ${expired.key} }\n`,
      ),
    );
    assert.equal(r.code, 1);
    const lines = r.stderr.trimEnd().split('\n');
    assert.match(
      lines[0]!,
      new RegExp(
        `^${esc(r.file)}:8:\\d+: frontends\\.web\\.tls\\.certificates\\[0\\]\\.cert: .*the private key does not match the certificate$`,
      ),
    );
    assert.match(
      lines[1]!,
      new RegExp(
        `^${esc(r.file)}:9:\\d+: frontends\\.web\\.tls\\.certificates\\[1\\]\\.cert: cannot read the certificate .*nope\\.pem: ENOENT$`,
      ),
    );
    assert.match(
      lines[2]!,
      new RegExp(`^${esc(r.file)}:10:\\d+: frontends\\.web\\.tls\\.certificates\\[2\\]\\.cert: the certificate .* expired on 2020-01-02`),
    );
    assert.equal(lines[3], '3 errors');
    assert.doesNotMatch(r.stderr, /PRIVATE KEY|BEGIN/);
  });

  it('warnings: a certificate that expires within 14 days, a key readable by group or others', async () => {
    chmodSync(soon.key, 0o644);
    const r = await check(tlsFrontend(`      certificates:\n        - { cert: ${soon.cert}, key: ${soon.key} }\n`));
    assert.equal(r.code, 0, r.stderr);
    assert.match(
      r.stderr,
      new RegExp(
        `${esc(r.file)}:8:\\d+: frontends\\.web\\.tls\\.certificates\\[0\\]\\.cert: warning: the certificate .*soon\\.pem expires in 2 days`,
      ),
    );
    assert.match(
      r.stderr,
      new RegExp(
        `${esc(r.file)}:8:\\d+: frontends\\.web\\.tls\\.certificates\\[0\\]\\.key: warning: the private key .*soon\\.key is readable by group and others \\(mode 0644\\): chmod 600 it`,
      ),
    );
  });

  it('a folder of NAME.pem + NAME.key pairs: default first, then by name', async () => {
    const dir = join(ca.dir, 'certs');
    mkdirSync(dir);
    copyFileSync(other.cert, join(dir, 'b-other.pem'));
    copyFileSync(other.key, join(dir, 'b-other.key'));
    copyFileSync(good.cert, join(dir, 'default.pem'));
    copyFileSync(good.key, join(dir, 'default.key'));
    writeFileSync(join(dir, 'README.txt'), 'not a certificate');
    const r = await check(tlsFrontend(`      directory: ${dir}\n`));
    assert.equal(r.code, 0, r.stderr);
    const lines = r.stdout.trimEnd().split('\n');
    assert.match(lines[1]!, /default\.pem \(default\): a\.test/);
    assert.match(lines[2]!, /b-other\.pem: other\.test/);
  });

  it('what does not fit: client_cert without client_ca, tls on a tcp frontend, a route with neither backend nor redirect', async () => {
    const a = await check(tlsFrontend(`      certificates: [ { cert: ${good.cert}, key: ${good.key} } ]\n      client_cert: optional\n`));
    assert.equal(a.code, 1);
    assert.match(a.stderr, /frontends\.web\.tls\.client_cert: client_cert needs client_ca/);
    const b = await check(
      `frontends:\n  t:\n    bind: 127.0.0.1:1\n    mode: tcp\n    default_backend: app\n    tls: { certificates: [ { cert: ${good.cert}, key: ${good.key} } ] }`,
    );
    assert.equal(b.code, 1);
    assert.match(b.stderr, /frontends\.t\.tls: tls termination applies to http frontends/);
    const c = await check(
      'frontends:\n  p:\n    bind: 127.0.0.1:1\n    routes:\n      - { host: a.test }\n      - { host: b.test, redirect_https: 308, backend: app }\n    redirect_https: { code: 301, port: 8443 }',
    );
    assert.equal(c.code, 1);
    assert.match(c.stderr, /:6:9: frontends\.p\.routes\[0\]\.backend: missing required key "backend"/);
    assert.match(c.stderr, /frontends\.p\.routes\[1\]\.redirect_https: a route has a backend or redirect_https, not both/);
    const d = await check(
      'frontends:\n  p:\n    bind: 127.0.0.1:1\n    routes:\n      - { host: a.test, backend: app }\n    redirect_https: 308',
    );
    assert.equal(d.code, 0, d.stderr);
  });
});

function esc(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}
