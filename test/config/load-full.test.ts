// examples/full.yaml uses every key once: it must load, and the model must hold the merged
// values, defaults, resolved paths and expanded port ranges.
import { after, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { cp, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import { join } from 'node:path';
import { formatIssue, loadConfig, loadConfigText } from '../../src/config/load.js';
import type { Config } from '../../src/config/types.js';
import { BUILT_IN_ERROR_PAGES } from '../../src/config/error-pages.js';
import { repoRoot } from '../helpers/paths.js';

const examples = join(repoRoot, 'examples');
const tempDirs: string[] = [];
after(() => Promise.all(tempDirs.map((d) => rm(d, { recursive: true, force: true }))));

async function load(file: string): Promise<Config> {
  const result = await loadConfig(file);
  assert.ok(result.ok, result.ok ? '' : result.errors.map(formatIssue).join('\n'));
  return result.config;
}

describe('examples/full.yaml', () => {
  test('loads without warnings', async () => {
    const result = await loadConfig(join(examples, 'full.yaml'));
    assert.ok(result.ok, result.ok ? '' : result.errors.map(formatIssue).join('\n'));
    assert.deepEqual(result.warnings, []);
  });

  test('top level: auto workers, resolved paths, durations, sizes', async () => {
    const c = await load(join(examples, 'full.yaml'));
    assert.equal(c.source, join(examples, 'full.yaml'));
    assert.equal(c.workers, os.availableParallelism());
    assert.equal(c.control, join(examples, 'run', 'handoff.sock'));
    assert.deepEqual(c.drain, { timeout: 45_000, migrate: true, acceptGrace: 2000 });
    assert.deepEqual(c.timeouts, {
      connect: 3_000,
      client: 60_000,
      server: 90_000,
      queue: 2_000,
      httpRequest: 10_000,
      keepAlive: 90_000,
      tunnel: 7_200_000,
    });
    assert.deepEqual(c.limits, { requestLine: 16_384, headerSize: 65_536, headerCount: 120, pipeline: 32 });
    assert.deepEqual(c.log, { target: { file: join(examples, 'logs', 'access.log') }, buffer: 1024 * 1024, format: 'combined' });
    assert.equal(c.stats?.bind.key, '127.0.0.1:8404');
  });

  test('frontends: port ranges expanded, timeouts and error pages merged', async () => {
    const c = await load(join(examples, 'full.yaml'));
    assert.deepEqual(
      c.frontends.map((f) => f.name),
      ['web', 'db'],
    );
    const [web, db] = c.frontends as [Config['frontends'][0], Config['frontends'][0]];
    assert.deepEqual(
      web.binds.map((b) => b.key),
      ['127.0.0.1:8080', '[::1]:8080', '127.0.0.1:8100', '127.0.0.1:8101', '127.0.0.1:8102', '127.0.0.1:8103'],
    );
    assert.equal(web.binds[1]!.family, 6);
    assert.equal(web.mode, 'http');
    assert.equal(web.defaultBackend, 'app');
    assert.equal(web.maxconn, 10_000);
    assert.equal(web.timeouts.client, 30_000, 'frontend override');
    assert.equal(web.timeouts.connect, 3_000, 'global value');
    assert.equal(web.timeouts.tunnel, 7_200_000, 'global value');

    // Error pages: built-in, replaced by the global file, then by the frontend's own.
    const page503 = await readFile(join(examples, 'errors', '503.html'), 'utf8');
    const page404 = await readFile(join(examples, 'errors', '404.html'), 'utf8');
    assert.deepEqual(Object.keys(web.errors).sort(), ['400', '403', '404', '408', '413', '431', '500', '502', '503', '504']);
    assert.deepEqual(web.errors['503'], {
      status: 503,
      contentType: 'text/html; charset=utf-8',
      body: page503,
      file: join(examples, 'errors', '503.html'),
    });
    assert.equal(web.errors['404']!.body, page404);
    assert.equal(db.errors['404'], BUILT_IN_ERROR_PAGES['404']);
    assert.equal(db.errors['503']!.body, page503);
    assert.equal(web.errors['500']!.file, undefined);
    assert.match(web.errors['500']!.body, /500 Internal Server Error/);

    assert.equal(db.mode, 'tcp');
    assert.deepEqual(db.routes, []);
    assert.equal(db.defaultBackend, 'pg');
    assert.equal(db.maxconn, undefined);
    assert.deepEqual(db.timeouts, c.timeouts);
  });

  test('routes and header rules', async () => {
    const c = await load(join(examples, 'full.yaml'));
    const web = c.frontends[0]!;
    assert.equal(web.routes.length, 1);
    const route = web.routes[0]!;
    assert.equal(route.name, 'shells');
    assert.deepEqual(route.hosts, [
      { kind: 'exact', name: 'webshell-a.example.com' },
      { kind: 'suffix', suffix: '.apps.example.com' },
    ]);
    assert.equal(route.path, '/api');
    assert.equal(route.backend, 'shells');
    assert.deepEqual(route.headers.request.set, [['X-Route', '${route}']]);
    assert.deepEqual(route.headers.response, { set: [], remove: [] });
    assert.deepEqual(web.headers.request.set, [
      ['X-Request-Start', '${request.start}'],
      ['X-Request-Id', '${request.id}'],
      ['X-Forwarded-For', '${client.address}'],
    ]);
    assert.deepEqual(web.headers.request.remove, ['X-Debug']);
    assert.deepEqual(web.headers.response.remove, ['Server']);
  });

  test('backends: defaults, health, passive, server fields', async () => {
    const c = await load(join(examples, 'full.yaml'));
    const [app, shells, pg] = c.backends as [Config['backends'][0], Config['backends'][0], Config['backends'][0]];
    assert.equal(app.balance, 'roundrobin');
    assert.deepEqual(
      app.servers.map((s) => [s.name, s.address.key, s.weight, s.maxconn, s.backup, s.admin]),
      [
        ['a1', '127.0.0.1:9001', 2, 100, false, 'ready'],
        ['a2', '127.0.0.1:9002', 1, undefined, false, 'drain'],
        ['a3', '[::1]:9003', 1, undefined, true, 'ready'],
      ],
    );
    assert.deepEqual(app.health, {
      type: 'http',
      interval: 2_000,
      timeout: 1_000,
      rise: 2,
      fall: 3,
      method: 'GET',
      path: '/healthz',
      host: 'app.internal',
      expect: { min: 200, max: 399 },
    });
    assert.equal(app.retries, 3);
    assert.equal(app.maxqueue, 500);
    assert.deepEqual(app.passive, { fall: 5, cooldown: 10_000 });
    assert.equal(app.timeouts.server, 120_000, 'backend override');
    assert.equal(app.timeouts.connect, 3_000, 'global value');

    assert.equal(shells.balance, 'source');
    assert.equal(shells.health, undefined);
    assert.equal(shells.retries, 2);
    assert.equal(shells.maxqueue, undefined);
    assert.deepEqual(shells.passive, { fall: 3, cooldown: 5_000 });
    assert.deepEqual(shells.timeouts, c.timeouts);

    assert.equal(pg.balance, 'leastconn');
    assert.deepEqual(pg.health, {
      type: 'tcp',
      interval: 5_000,
      timeout: 2_000,
      rise: 2,
      fall: 3,
      method: 'GET',
      path: '/',
      expect: { min: 200, max: 399 },
    });
  });

  test('the model is deep-frozen and plain JSON', async () => {
    const c = await load(join(examples, 'full.yaml'));
    assert.ok(Object.isFrozen(c));
    assert.ok(Object.isFrozen(c.frontends[0]!.binds[0]));
    assert.ok(Object.isFrozen(c.frontends[0]!.errors['503']));
    assert.ok(Object.isFrozen(c.backends[0]!.health!.expect));
    assert.throws(() => {
      (c.timeouts as { connect: number }).connect = 1;
    }, TypeError);
    const roundTrip = JSON.parse(JSON.stringify(c)) as Config;
    assert.deepEqual(roundTrip, structuredClone(c));
  });

  test('hash: stable, covers referenced files, same from text', async () => {
    const a = await load(join(examples, 'full.yaml'));
    const b = await load(join(examples, 'full.yaml'));
    assert.match(a.hash, /^[0-9a-f]{12}$/);
    assert.equal(a.hash, b.hash);

    const text = await readFile(join(examples, 'full.yaml'), 'utf8');
    const fromText = await loadConfigText(text, join(examples, 'full.yaml'), examples);
    assert.ok(fromText.ok);
    assert.equal(fromText.config.hash, a.hash);
    assert.deepEqual(fromText.config, a);

    // A copy whose error page changed: same config bytes, different hash.
    const dir = await mkdtemp(join(os.tmpdir(), 'handoff-cfg-'));
    tempDirs.push(dir);
    await cp(examples, dir, { recursive: true });
    const copy = await load(join(dir, 'full.yaml'));
    assert.equal(copy.hash, a.hash, 'same bytes in another folder, same hash');
    await writeFile(join(dir, 'errors', '503.html'), '<p>changed</p>\n');
    const changed = await load(join(dir, 'full.yaml'));
    assert.notEqual(changed.hash, a.hash);
    assert.equal(changed.frontends[0]!.errors['503']!.body, '<p>changed</p>\n');
  });
});

describe('other examples', () => {
  for (const name of ['quickstart.yaml', 'tcp.yaml']) {
    test(`${name} loads without warnings`, async () => {
      const result = await loadConfig(join(examples, name));
      assert.ok(result.ok, result.ok ? '' : result.errors.map(formatIssue).join('\n'));
      assert.deepEqual(result.warnings.map(formatIssue), []);
    });
  }

  test('quickstart: two host routes and a default over three servers', async () => {
    const c = await load(join(examples, 'quickstart.yaml'));
    assert.equal(c.workers, 2);
    assert.deepEqual(
      c.frontends[0]!.binds.map((b) => b.key),
      ['127.0.0.1:8080'],
    );
    assert.deepEqual(
      c.frontends[0]!.routes.map((r) => [r.name, r.backend]),
      [
        ['0', 'api'],
        ['1', 'app'],
      ],
    );
    assert.equal(c.frontends[0]!.defaultBackend, 'app');
    assert.deepEqual(
      c.backends.flatMap((b) => b.servers.map((s) => s.address.key)),
      ['127.0.0.1:9001', '127.0.0.1:9002', '127.0.0.1:9003'],
    );
  });

  test('the demo path: text with a "<demo>" source', async () => {
    const result = await loadConfigText('frontends:\n  web:\n    bind: 127.0.0.1:8080\n', '<demo>', os.tmpdir());
    assert.ok(result.ok);
    assert.equal(result.config.source, '<demo>');
    assert.equal(result.config.control, join(os.tmpdir(), 'handoff.sock'));
    assert.equal(result.warnings.length, 1, 'no routes and no default_backend');
  });
});
