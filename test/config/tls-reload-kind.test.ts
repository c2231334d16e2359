// A renewed certificate is a change (its bytes are in the config hash) and it is applied
// live: same yaml, new certificate and key files → another hash → a live reload.
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { loadConfig } from '../../src/config/load.js';
import { chooseReloadKind } from '../../src/master/reload-kind.js';
import { issue, makeCa, removeCa } from '../e2e/support/tls-certs.js';

const ca = makeCa();
after(() => removeCa(ca));

test('same yaml, renewed certificate: another hash, a live reload', async () => {
  issue(ca, 'site', { names: ['a.test'] });
  const file = join(ca.dir, 'h.yaml');
  writeFileSync(
    file,
    'frontends:\n  web:\n    bind: 127.0.0.1:1\n    tls: { certificates: [ { cert: site.pem, key: site.key } ] }\n    default_backend: app\nbackends:\n  app: { servers: [ { name: a, address: 127.0.0.1:9 } ] }\n',
  );
  const first = await loadConfig(file);
  assert.ok(first.ok);
  issue(ca, 'site', { names: ['a.test'] });
  const second = await loadConfig(file);
  assert.ok(second.ok);
  assert.notEqual(first.config.hash, second.config.hash);
  assert.notEqual(first.config.frontends[0]!.tls!.certificates[0]!.serial, second.config.frontends[0]!.tls!.certificates[0]!.serial);
  const choice = chooseReloadKind(first.config, second.config, { restart: false, runningVersion: '1', diskVersion: '1' });
  assert.equal(choice.kind, 'live');
  // Unchanged files: the same hash, nothing to do.
  const third = await loadConfig(file);
  assert.ok(third.ok);
  assert.equal(third.config.hash, second.config.hash);
});
