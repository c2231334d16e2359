// One test per kind of config error: each must point at the exact line:col of the node at
// fault, name its path, and say what was expected.
import { after, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { formatIssue, type ConfigIssue } from '../../src/config/load.js';
import { errorsOf, loadLines, removeTempConfigs } from './temp-config.js';

after(removeTempConfigs);

interface Expected {
  line: number;
  col: number;
  path: string;
  message: string | RegExp;
}

/** Load lines; exactly one error, at the expected place, with the expected message. */
async function expectError(lines: string[], expected: Expected, extra: Record<string, string> = {}): Promise<ConfigIssue> {
  const { file, result } = await loadLines(lines, extra);
  const errors = errorsOf(result);
  assert.equal(errors.length, 1, `expected one error, got:\n${errors.map(formatIssue).join('\n')}`);
  const e = errors[0]!;
  assert.equal(e.file, file);
  assert.deepEqual(
    { line: e.line, col: e.col, path: e.path },
    { line: expected.line, col: expected.col, path: expected.path },
    formatIssue(e),
  );
  if (typeof expected.message === 'string')
    assert.ok(e.message.includes(expected.message), `message ${JSON.stringify(e.message)} lacks ${JSON.stringify(expected.message)}`);
  else assert.match(e.message, expected.message);
  return e;
}

// A minimal valid config; tests append or replace lines.
const FRONTEND = ['frontends:', '  web:', '    bind: 127.0.0.1:8080', '    default_backend: app'];
const BACKEND = ['backends:', '  app:', '    servers:', '      - { name: a1, address: 127.0.0.1:9001 }'];

describe('YAML', () => {
  test('a syntax error is reported at its position', async () => {
    await expectError(['frontends:', '  web:', '    bind: "127.0.0.1:8080', ...BACKEND], {
      line: 3,
      col: 11,
      path: '',
      message: 'YAML syntax error: missing closing "',
    });
    await expectError(['frontends:', '  web:', '    bind: 127.0.0.1:8080', '   default_backend: app'], {
      line: 4,
      col: 1,
      path: '',
      message: 'YAML syntax error: All mapping items must start at the same column',
    });
  });

  test('an unquoted IPv6 address gets a hint', async () => {
    await expectError(['frontends:', '  web:', '    bind: [::1]:8080'], { line: 3, col: 16, path: '', message: 'quote IPv6 addresses' });
  });

  test('a duplicate key is reported at the second occurrence', async () => {
    await expectError([...FRONTEND, '    bind: 127.0.0.1:8081', ...BACKEND], {
      line: 5,
      col: 5,
      path: 'frontends.web.bind',
      message: 'duplicate key "bind" (first at line 3)',
    });
  });

  test('an empty file asks for a mapping', async () => {
    await expectError([''], { line: 1, col: 1, path: '', message: 'expected a mapping, got nothing' });
  });

  test('JSON is YAML too, with positions', async () => {
    const json = JSON.stringify(
      {
        frontends: { web: { bind: '127.0.0.1:8080', default_backend: 'app', maxconn: 0 } },
        backends: { app: { servers: [{ name: 'a', address: '127.0.0.1:1' }] } },
      },
      null,
      2,
    );
    await expectError(json.split('\n'), { line: 6, col: 18, path: 'frontends.web.maxconn', message: 'expected an integer >= 1, got 0' });
  });
});

describe('schema', () => {
  test('unknown key at the top level: at the key, listing the known keys', async () => {
    await expectError(['worker: 2', ...FRONTEND, ...BACKEND], {
      line: 1,
      col: 1,
      path: 'worker',
      message: 'unknown key "worker" (expected one of: workers, control, drain, timeouts, limits, log, errors, stats, frontends, backends)',
    });
  });

  test('unknown key in a route', async () => {
    await expectError([...FRONTEND, '    routes:', '      - path: /x', '        backend: app', '        bakend: app', ...BACKEND], {
      line: 8,
      col: 9,
      path: 'frontends.web.routes[0].bakend',
      message: 'unknown key "bakend" (expected one of: name, host, sni, path, backend, headers, redirect_https)',
    });
  });

  test('missing required key: at the parent mapping', async () => {
    // Two errors: the missing key, and the unknown one beside it; the first is the one under test.
    const { result } = await loadLines([...FRONTEND, '    routes:', '      - path: /x', '        bakend: app', ...BACKEND]);
    const missing = errorsOf(result).find((e) => e.message.startsWith('missing'));
    assert.deepEqual(missing, {
      file: missing!.file,
      line: 6,
      col: 9,
      path: 'frontends.web.routes[0].backend',
      message: 'missing required key "backend"',
    });
  });

  test('missing bind', async () => {
    await expectError(['frontends:', '  web:', '    default_backend: app', ...BACKEND], {
      line: 3,
      col: 5,
      path: 'frontends.web.bind',
      message: 'missing required key "bind"',
    });
  });

  test('wrong type: at the value', async () => {
    await expectError(['drain:', '  migrate: "yes"', ...FRONTEND, ...BACKEND], {
      line: 2,
      col: 12,
      path: 'drain.migrate',
      message: 'expected true or false, got "yes"',
    });
  });

  test('a mapping where a list belongs', async () => {
    await expectError([...FRONTEND, '    routes: { backend: app }', ...BACKEND], {
      line: 5,
      col: 13,
      path: 'frontends.web.routes',
      message: 'expected a list of routes, got a mapping',
    });
  });

  test('integer range', async () => {
    await expectError(
      [...FRONTEND, ...BACKEND, '        weight: 257']
        .map((l) => l.replace('address: 127.0.0.1:9001 }', 'address: 127.0.0.1:9001, weight: 257 }'))
        .slice(0, -1),
      {
        line: 8,
        col: 54,
        path: 'backends.app.servers[0].weight',
        message: 'expected an integer from 0 to 256, got 257',
      },
    );
  });

  test('enum', async () => {
    await expectError([...FRONTEND, '    mode: udp', ...BACKEND], {
      line: 5,
      col: 11,
      path: 'frontends.web.mode',
      message: 'expected one of: http, tcp, got "udp"',
    });
  });

  test('workers', async () => {
    await expectError(['workers: 0', ...FRONTEND, ...BACKEND], {
      line: 1,
      col: 10,
      path: 'workers',
      message: 'expected "auto" or an integer from 1 to 256, got 0',
    });
    await expectError(['workers: many', ...FRONTEND, ...BACKEND], { line: 1, col: 10, path: 'workers', message: 'got "many"' });
  });

  test('duration: bare number', async () => {
    await expectError(['timeouts:', '  connect: "5"', ...FRONTEND, ...BACKEND], {
      line: 2,
      col: 12,
      path: 'timeouts.connect',
      message: 'expected a duration with a unit (250ms, 5s, 2m, 1h), got "5"',
    });
  });

  test('duration: unknown unit, in a backend override', async () => {
    await expectError([...FRONTEND, ...BACKEND, '    timeouts: { server: 5sec }'], {
      line: 9,
      col: 25,
      path: 'backends.app.timeouts.server',
      message: 'unknown unit "sec"',
    });
  });

  test('size', async () => {
    await expectError(['limits:', '  header-size: 32kb', ...FRONTEND, ...BACKEND], {
      line: 2,
      col: 16,
      path: 'limits.header-size',
      message: 'expected a size in bytes',
    });
  });

  test('address: host names are not accepted', async () => {
    await expectError(['frontends:', '  web:', '    bind: localhost:8080', '    default_backend: app', ...BACKEND], {
      line: 3,
      col: 11,
      path: 'frontends.web.bind',
      message: 'host names are not accepted, use an IP literal',
    });
  });

  test('address: port out of range, in a list', async () => {
    await expectError(['frontends:', '  web:', '    bind: ["127.0.0.1:8080", "127.0.0.1:70000"]', '    default_backend: app', ...BACKEND], {
      line: 3,
      col: 30,
      path: 'frontends.web.bind[1]',
      message: 'port 70000 is out of range (1-65535)',
    });
  });

  test('address: inverted port range', async () => {
    await expectError(['frontends:', '  web:', '    bind: 127.0.0.1:8003-8000', '    default_backend: app', ...BACKEND], {
      line: 3,
      col: 11,
      path: 'frontends.web.bind',
      message: 'the port range is inverted',
    });
  });

  test('address: a server takes no port range and no wildcard', async () => {
    await expectError([...FRONTEND, ...BACKEND.slice(0, 3), '      - { name: a1, address: "127.0.0.1:9001-9002" }'], {
      line: 8,
      col: 30,
      path: 'backends.app.servers[0].address',
      message: 'a port range is only allowed in a bind',
    });
    await expectError([...FRONTEND, ...BACKEND.slice(0, 3), '      - { name: a1, address: "0.0.0.0:9001" }'], {
      line: 8,
      col: 30,
      path: 'backends.app.servers[0].address',
      message: 'a wildcard address cannot be connected to',
    });
  });

  test('an unknown error status', async () => {
    await expectError(['errors:', '  501: ./x.html', ...FRONTEND, ...BACKEND], {
      line: 2,
      col: 3,
      path: 'errors.501',
      message: 'unknown key "501" (expected one of: 400, 403, 404, 408, 413, 431, 500, 502, 503, 504)',
    });
  });

  test('a backend with no servers', async () => {
    await expectError([...FRONTEND, 'backends:', '  app:', '    servers: []'], {
      line: 7,
      col: 14,
      path: 'backends.app.servers',
      message: 'expected a list of at least one server, got an empty list',
    });
    await expectError([...FRONTEND, 'backends:', '  app:', '    balance: leastconn'], {
      line: 7,
      col: 5,
      path: 'backends.app.servers',
      message: 'missing required key "servers"',
    });
  });

  test('route path must start with "/"', async () => {
    await expectError([...FRONTEND, '    routes:', '      - { path: api, backend: app }', ...BACKEND], {
      line: 6,
      col: 17,
      path: 'frontends.web.routes[0].path',
      message: 'it must start with "/"',
    });
  });

  test('host pattern with a port', async () => {
    await expectError([...FRONTEND, '    routes:', '      - { host: "a.example.com:8080", backend: app }', ...BACKEND], {
      line: 6,
      col: 17,
      path: 'frontends.web.routes[0].host',
      message: 'host patterns have no port',
    });
  });

  test('unknown variable in a header template', async () => {
    await expectError([...FRONTEND, '    headers:', '      response:', '        set: { X-Gen: "gen ${gneration}" }', ...BACKEND], {
      line: 7,
      col: 23,
      path: 'frontends.web.headers.response.set.X-Gen',
      message: 'unknown variable "${gneration}" in header template (variables: ${generation} ${worker.pid}',
    });
  });

  test('expect: inverted range and out of 100..599', async () => {
    await expectError([...FRONTEND, ...BACKEND, '    health: { type: http, expect: "399-200" }'], {
      line: 9,
      col: 35,
      path: 'backends.app.health.expect',
      message: 'the range is inverted (399 > 200)',
    });
    await expectError([...FRONTEND, ...BACKEND, '    health: { type: http, expect: 200-600 }'], {
      line: 9,
      col: 35,
      path: 'backends.app.health.expect',
      message: '600 is not an HTTP status',
    });
  });
});

describe('semantic checks', () => {
  test('invalid frontend name: at the key', async () => {
    await expectError(['frontends:', '  "my web":', '    bind: 127.0.0.1:8080', '    default_backend: app', ...BACKEND], {
      line: 2,
      col: 3,
      path: 'frontends["my web"]',
      message: 'invalid frontend name "my web"',
    });
  });

  test('the same bind in two frontends: at the second', async () => {
    await expectError([...FRONTEND, '  api:', '    bind: "127.0.0.1:8080"', '    default_backend: app', ...BACKEND], {
      line: 6,
      col: 11,
      path: 'frontends.api.bind',
      message: 'address 127.0.0.1:8080 is already bound by frontends.web.bind',
    });
  });

  test('the same bind twice in one frontend, through a port range', async () => {
    await expectError(
      ['frontends:', '  web:', '    bind: ["127.0.0.1:8000-8003", "127.0.0.1:8002"]', '    default_backend: app', ...BACKEND],
      {
        line: 3,
        col: 35,
        path: 'frontends.web.bind[1]',
        message: 'address 127.0.0.1:8002 is already bound by frontends.web.bind[0]',
      },
    );
  });

  test('IPv6 binds compare in canonical form', async () => {
    await expectError(
      ['frontends:', '  web:', '    bind: ["[::1]:8080", "[0:0:0:0:0:0:0:1]:8080"]', '    default_backend: app', ...BACKEND],
      {
        line: 3,
        col: 26,
        path: 'frontends.web.bind[1]',
        message: 'address [::1]:8080 is already bound',
      },
    );
  });

  test('stats.bind equal to a frontend bind', async () => {
    await expectError([...FRONTEND, ...BACKEND, 'stats:', '  bind: 127.0.0.1:8080'], {
      line: 10,
      col: 9,
      path: 'stats.bind',
      message: 'address 127.0.0.1:8080 is already bound by frontends.web.bind',
    });
  });

  test('a specific address under a wildcard on the same port', async () => {
    await expectError([...FRONTEND, '  all:', '    bind: 0.0.0.0:8080', '    default_backend: app', ...BACKEND], {
      line: 3,
      col: 11,
      path: 'frontends.web.bind',
      message: 'address 127.0.0.1:8080 overlaps 0.0.0.0:8080 (frontends.all.bind)',
    });
  });

  test('a route naming a backend that does not exist', async () => {
    await expectError([...FRONTEND, '    routes:', '      - { path: /api, backend: ap }', ...BACKEND], {
      line: 6,
      col: 32,
      path: 'frontends.web.routes[0].backend',
      message: 'unknown backend "ap" (backends: app)',
    });
  });

  test('a default_backend that does not exist', async () => {
    await expectError(['frontends:', '  web:', '    bind: 127.0.0.1:8080', '    default_backend: nope', ...BACKEND], {
      line: 4,
      col: 22,
      path: 'frontends.web.default_backend',
      message: 'unknown backend "nope"',
    });
  });

  test('duplicate server names within a backend', async () => {
    await expectError([...FRONTEND, ...BACKEND, '      - { name: a1, address: 127.0.0.1:9002 }'], {
      line: 9,
      col: 17,
      path: 'backends.app.servers[1].name',
      message: 'duplicate server name "a1" in backend "app" (first: servers[0])',
    });
  });

  test('an unreadable error page file, with the OS error', async () => {
    const e = await expectError(['errors:', '  503: ./pages/missing.html', ...FRONTEND, ...BACKEND], {
      line: 2,
      col: 8,
      path: 'errors.503',
      message: 'cannot read error page "./pages/missing.html": ENOENT',
    });
    assert.match(e.message, /no such file or directory/);
  });

  test('an access log whose folder does not exist (the reload would fail in the workers)', async () => {
    await expectError(['log:', '  access: ./nowhere/access.log', ...FRONTEND, ...BACKEND], {
      line: 2,
      col: 11,
      path: 'log.access',
      message: /the access log's folder \S+\/nowhere does not exist/,
    });
  });

  test('an access log format that does not exist', async () => {
    await expectError(['log: { format: clf }', ...FRONTEND, ...BACKEND], {
      line: 1,
      col: 16,
      path: 'log.format',
      message: 'expected one of: json, combined, got "clf"',
    });
  });

  test('an access log that is a folder', async () => {
    await expectError(
      ['log: { access: ./pages }', ...FRONTEND, ...BACKEND],
      { line: 1, col: 16, path: 'log.access', message: /the access log \S+\/pages is a folder/ },
      { 'pages/x.html': 'x' },
    );
  });

  test('an error page that is a folder', async () => {
    await expectError(
      [...FRONTEND, '    errors: { 404: ./pages }', ...BACKEND],
      { line: 5, col: 20, path: 'frontends.web.errors.404', message: 'EISDIR' },
      { 'pages/x.html': 'x' },
    );
  });

  test('http routes and headers in a tcp frontend (its routes are by sni only)', async () => {
    const { result } = await loadLines([
      ...FRONTEND,
      '    mode: tcp',
      '    routes: [ { host: a.example, backend: app } ]',
      '    headers: {}',
      ...BACKEND,
    ]);
    const errors = errorsOf(result);
    assert.deepEqual(
      errors.map((e) => [e.line, e.col, e.path]),
      [
        [6, 15, 'frontends.web.routes[0].sni'],
        [6, 17, 'frontends.web.routes[0].host'],
        [7, 5, 'frontends.web.headers'],
      ],
    );
    assert.match(errors[0]!.message, /a tcp route needs sni/);
    assert.match(errors[1]!.message, /"host" is not allowed in a tcp route/);
    assert.match(errors[2]!.message, /headers are not allowed in a tcp frontend/);
  });

  test('a tcp frontend without default_backend: at the frontend mapping', async () => {
    await expectError(['frontends:', '  db:', '    mode: tcp', '    bind: 127.0.0.1:5432', ...BACKEND], {
      line: 3,
      col: 5,
      path: 'frontends.db.default_backend',
      message: 'a tcp frontend needs a default_backend',
    });
  });

  test('header names that are not tokens', async () => {
    await expectError([...FRONTEND, '    headers:', '      request:', '        set: { "X Bad": x }', ...BACKEND], {
      line: 7,
      col: 16,
      path: 'frontends.web.headers.request.set["X Bad"]',
      message: 'invalid header name "X Bad"',
    });
    await expectError([...FRONTEND, '    headers:', '      response:', '        remove: ["X:Bad"]', ...BACKEND], {
      line: 7,
      col: 18,
      path: 'frontends.web.headers.response.remove[0]',
      message: 'expected a header name',
    });
  });

  test('the same header set twice in different case', async () => {
    await expectError(
      [...FRONTEND, '    routes:', '      - backend: app', '        headers: { request: { set: { X-A: "1", x-a: "2" } } }', ...BACKEND],
      {
        line: 7,
        col: 48,
        path: 'frontends.web.routes[0].headers.request.set.x-a',
        message: 'header "x-a" is already set as "X-A"',
      },
    );
  });

  test('duplicate route names', async () => {
    await expectError(
      [
        ...FRONTEND,
        '    routes:',
        '      - { name: api, path: /a, backend: app }',
        '      - { name: api, path: /b, backend: app }',
        ...BACKEND,
      ],
      {
        line: 7,
        col: 17,
        path: 'frontends.web.routes[1].name',
        message: 'duplicate route name "api" (first: routes[0])',
      },
    );
  });

  test('http-only health keys on a tcp check', async () => {
    await expectError([...FRONTEND, ...BACKEND, '    health: { interval: 1s, path: /healthz }'], {
      line: 9,
      col: 29,
      path: 'backends.app.health.path',
      message: '"path" applies to http checks only (set type: http)',
    });
  });

  test('a zero health check interval', async () => {
    await expectError([...FRONTEND, ...BACKEND, '    health: { interval: 0s }'], {
      line: 9,
      col: 25,
      path: 'backends.app.health.interval',
      message: 'must be longer than 0',
    });
  });
});

describe('warnings', () => {
  test('an unused backend, a catch-all route before others, a frontend that can only answer 503', async () => {
    const { result } = await loadLines([
      'frontends:',
      '  web:',
      '    bind: 127.0.0.1:8080',
      '    routes:',
      '      - backend: app',
      '      - { path: /x, backend: app }',
      '  empty:',
      '    bind: 127.0.0.1:8081',
      ...BACKEND,
      '  spare:',
      '    servers: [{ name: s, address: 127.0.0.1:9009 }]',
    ]);
    assert.ok(result.ok, JSON.stringify(result));
    assert.deepEqual(
      result.warnings.map((w) => [w.line, w.col, w.path]),
      [
        [5, 9, 'frontends.web.routes[0]'],
        [7, 3, 'frontends.empty'],
        [13, 3, 'backends.spare'],
      ],
    );
    assert.match(result.warnings[0]!.message, /matches every request: the 1 route\(s\) after it are never used/);
    assert.match(result.warnings[1]!.message, /every request gets 503/);
    assert.match(result.warnings[2]!.message, /backend "spare" is not used/);
  });
});

describe('many errors at once', () => {
  test('schema and semantic errors together, in position order', async () => {
    const { result } = await loadLines([
      'workers: -1', // 1
      'timeouts:', // 2
      '  connect: 5', // 3
      'frontends:', // 4
      '  web:', // 5
      '    bind: 127.0.0.1:8080', // 6
      '    default_backend: nowhere', // 7
      '    routes:', // 8
      '      - { path: api, backend: app, hots: x }', // 9
      '  dup:', // 10
      '    bind: 127.0.0.1:8080', // 11
      '    mode: tcp', // 12
      'backends:', // 13
      '  app:', // 14
      '    servers:', // 15
      '      - { name: a, address: "example.com:80" }', // 16
      '      - { name: a, address: 127.0.0.1:1, admin: sleeping }', // 17
    ]);
    const got = errorsOf(result).map((e) => `${e.line}:${e.col} ${e.path}`);
    assert.deepEqual(
      got,
      [
        '1:10 workers',
        '3:12 timeouts.connect',
        '7:22 frontends.web.default_backend',
        '9:17 frontends.web.routes[0].path',
        '9:36 frontends.web.routes[0].hots',
        '11:11 frontends.dup.bind',
        '11:5 frontends.dup.default_backend',
        '16:29 backends.app.servers[0].address',
        '17:17 backends.app.servers[1].name',
        '17:49 backends.app.servers[1].admin',
      ].sort(byPosition),
    );
  });
});

function byPosition(a: string, b: string): number {
  const [la, ca] = a.split(' ')[0]!.split(':').map(Number) as [number, number];
  const [lb, cb] = b.split(' ')[0]!.split(':').map(Number) as [number, number];
  return la - lb || ca - cb;
}
