// Files named by `tls:` (and a backend's `tls.ca`) that are not what they should be: a named
// pipe, a folder, a file far too large. A reload reads them in the master, so each must be a
// clear error at file:line:col at once: a FIFO must not block the load (open(2) on a FIFO
// waits for a writer), a 5 MiB "certificate" must not be read whole and sent to every worker,
// and a file OpenSSL refuses must be refused here, not by the workers at apply time.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { closeSync, constants, copyFileSync, mkdirSync, openSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { TLS_FILE_MAX_BYTES } from '../../src/config/read-regular-file.js';
import { makeTestPki, type Leaf, type TestPki } from '../helpers/tls-pki.js';
import { errorsOf, loadLines, removeTempConfigs } from './temp-config.js';

let pki: TestPki;
let leaf: Leaf;
const fifos: string[] = [];
before(() => {
  pki = makeTestPki();
  leaf = pki.leaf('a', { dns: ['a.test'] });
});
after(async () => {
  // Were a load still blocked opening a FIFO (the defect this file guards), opening its
  // write end releases it, so the test process can end and report the failure.
  for (const f of fifos) {
    try {
      closeSync(openSync(f, constants.O_WRONLY | constants.O_NONBLOCK));
    } catch {}
  }
  pki.cleanup();
  await removeTempConfigs();
});

const mkfifo = (name: string) => {
  const file = join(pki.dir, name);
  execFileSync('mkfifo', [file]);
  fifos.push(file);
  return file;
};

const frontend = (cert: string, key: string) => [
  'frontends:',
  '  web:',
  '    bind: 127.0.0.1:8443',
  '    default_backend: app',
  '    tls:',
  '      certificates:',
  `        - { cert: ${cert}, key: ${key} }`,
];
const APP = ['backends:', '  app: { servers: [ { name: a1, address: 127.0.0.1:9001 } ] }'];

const errors = (lines: string[]) =>
  loadLines(lines).then(({ result }) => errorsOf(result).map((e) => `${e.line}:${e.col} ${e.path}: ${e.message}`));

describe('tls files that are not regular files of a sane size', { timeout: 30_000 }, () => {
  test('a key that is a named pipe: an error at its position, the load does not block', async () => {
    const fifo = mkfifo('key-fifo.key');
    const e = await errors([...frontend(leaf.certFile, fifo), ...APP]);
    assert.equal(e.length, 1, e.join('\n'));
    assert.match(
      e[0]!,
      /^7:\d+ frontends\.web\.tls\.certificates\[0\]\.key: cannot read the private key .*key-fifo\.key: it is not a regular file \(a named pipe\)$/,
    );
  });

  test('a certificate that is a named pipe in a certificate folder', async () => {
    const dir = join(pki.dir, 'folder');
    mkdirSync(dir);
    copyFileSync(leaf.keyFile, join(dir, 'site.key'));
    execFileSync('mkfifo', [join(dir, 'site.pem')]);
    fifos.push(join(dir, 'site.pem'));
    const e = await errors([
      'frontends:',
      '  web:',
      '    bind: 127.0.0.1:8443',
      '    default_backend: app',
      '    tls:',
      `      directory: ${dir}`,
      ...APP,
    ]);
    assert.equal(e.length, 1, e.join('\n'));
    assert.match(
      e[0]!,
      /^6:\d+ frontends\.web\.tls\.directory: cannot read the certificate .*site\.pem: it is not a regular file \(a named pipe\)$/,
    );
  });

  test('a backend CA that is a named pipe', async () => {
    const fifo = mkfifo('ca-fifo.pem');
    const e = await errors([
      'frontends:',
      '  web: { bind: 127.0.0.1:8080, default_backend: app }',
      'backends:',
      `  app: { tls: { ca: ${fifo} }, servers: [ { name: a1, address: 127.0.0.1:9001 } ] }`,
    ]);
    assert.equal(e.length, 1, e.join('\n'));
    assert.match(e[0]!, /^4:\d+ backends\.app\.tls\.ca: .*ca-fifo\.pem.*not a regular file \(a named pipe\)/);
  });

  test('a key that is a folder', async () => {
    const dir = join(pki.dir, 'key-dir.key');
    mkdirSync(dir);
    const e = await errors([...frontend(leaf.certFile, dir), ...APP]);
    assert.equal(e.length, 1, e.join('\n'));
    assert.match(
      e[0]!,
      /^7:\d+ frontends\.web\.tls\.certificates\[0\]\.key: cannot read the private key .*key-dir\.key: (it is a folder, not a file|EISDIR)$/,
    );
  });

  test('a certificate file larger than the bound is refused without being parsed', async () => {
    // A valid certificate followed by padding: read whole, it would be accepted (the first
    // PEM block wins) and its megabytes copied to every worker.
    const big = join(pki.dir, 'big.pem');
    writeFileSync(big, `${leaf.cert}\n${'#'.repeat(TLS_FILE_MAX_BYTES + 1024)}\n`);
    const e = await errors([...frontend(big, leaf.keyFile), ...APP]);
    assert.equal(e.length, 1, e.join('\n'));
    assert.match(
      e[0]!,
      /^7:\d+ frontends\.web\.tls\.certificates\[0\]\.cert: cannot read the certificate .*big\.pem: it is \d+ bytes, more than the 4194304 accepted$/,
    );
  });

  test('a chain with a corrupt certificate after the leaf: an error at load, not a reload failing in the workers', async () => {
    const chain = join(pki.dir, 'bad-chain.pem');
    writeFileSync(chain, `${leaf.cert}\n-----BEGIN CERTIFICATE-----\nMIIBzzCCAXWgAwIBAgIUZm9vYmFy\n-----END CERTIFICATE-----\n`);
    const e = await errors([...frontend(chain, leaf.keyFile), ...APP]);
    assert.equal(e.length, 1, e.join('\n'));
    assert.match(e[0]!, /^7:\d+ frontends\.web\.tls\.certificates\[0\]\.cert: cannot use the certificate .*bad-chain\.pem: ERR_OSSL_/);
  });

  test('the same certificate at a normal size still loads', async () => {
    const { result } = await loadLines([...frontend(leaf.certFile, leaf.keyFile), ...APP]);
    assert.ok(result.ok, result.ok ? '' : result.errors.map((x) => x.message).join('\n'));
  });
});
