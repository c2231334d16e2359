// storm refuses to run rather than measure the wrong thing: a template handoff would reject,
// a listener that is not loopback, a frontend address already taken. Exit 2, and a message
// that says what to fix.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import net from 'node:net';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { handoffRun, stopAll } from '../helpers/processes.js';

const dir = mkdtempSync(join(tmpdir(), 'storm-setup-'));
after(async () => {
  await stopAll();
  rmSync(dir, { recursive: true, force: true });
});

function template(name: string, text: string): string {
  const file = join(dir, name);
  writeFileSync(file, text);
  return file;
}

const config = (bind: string) =>
  `frontends:\n  web:\n    bind: "${bind}"\n    default_backend: a\nbackends:\n  a:\n    servers: [{ name: a1, address: "\${backend.a}" }]\n`;

test('a template handoff rejects: exit 2 with file:line:col', async () => {
  const file = template('bad.yaml', config('127.0.0.1:${port.web}').replace('default_backend: a', 'default_backend: nope'));
  const r = await handoffRun(['storm', '-f', file, '--reloads', '1']);
  assert.equal(r.code, 2, r.stderr);
  assert.match(r.stderr, /is not a valid handoff config/);
  assert.match(r.stderr, /config\.yaml:\d+:\d+/);
  assert.match(r.stderr, /nope/);
});

test('a frontend that is not loopback, an unknown placeholder: exit 2', async () => {
  const wild = await handoffRun(['storm', '-f', template('wild.yaml', config('0.0.0.0:${port.web}')), '--reloads', '1']);
  assert.equal(wild.code, 2);
  assert.match(wild.stderr, /0\.0\.0\.0:\d+ is not a loopback address/);
  const typo = await handoffRun([
    'storm',
    '-f',
    template('typo.yaml', config('127.0.0.1:${prot.web}'.replace('prot', 'storm'))),
    '--reloads',
    '1',
  ]);
  assert.equal(typo.code, 2);
  assert.match(typo.stderr, /unknown placeholder \$\{storm\.web\}/);
  const remote = await handoffRun(['storm', '--start', 'true', '--reload', 'true', '--frontend', '192.0.2.1:80']);
  assert.equal(remote.code, 2);
  assert.match(remote.stderr, /192\.0\.2\.1:80 is not a loopback address/);
});

test('a frontend address somebody else listens on: exit 2, nothing started', async () => {
  const taken = net.createServer();
  await new Promise<void>((r) => taken.listen(0, '127.0.0.1', r));
  const port = (taken.address() as net.AddressInfo).port;
  try {
    const r = await handoffRun(['storm', '-f', template('taken.yaml', config(`127.0.0.1:${port}`)), '--reloads', '1']);
    assert.equal(r.code, 2, r.stderr);
    assert.match(r.stderr, new RegExp(`already listens on 127\\.0\\.0\\.1:${port}`));
  } finally {
    await new Promise((r) => taken.close(r));
  }
});
