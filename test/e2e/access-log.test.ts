// The access log as an operator reads it: the fields of each line (JSON), the combined
// format (switched to by a live reload), and rotation: the file renamed as logrotate does,
// SIGUSR1 to the master (or `handoff reopen-logs`), new lines in a new file at the same
// path, with traffic running through it all: no request waits, no line is lost, doubled or torn.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readFileSync, renameSync } from 'node:fs';
import net from 'node:net';
import { join } from 'node:path';
import { startEcho, type EchoBackend } from '../helpers/echo.js';
import { startHandoff, type RunningHandoff } from '../helpers/handoff.js';
import { KeepAliveClient, request } from '../helpers/http-client.js';
import { freePort } from '../helpers/net.js';
import { handoffRun, stopAll } from '../helpers/processes.js';
import { waitUntil } from '../helpers/wait.js';

type Entry = Record<string, unknown> & { timings: Record<string, number> };

const COMBINED =
  /^(\S+) - - \[(\d\d\/[A-Z][a-z]{2}\/\d{4}:\d\d:\d\d:\d\d \+0000)\] "([^"]*)" (\d{3}|-) (\d+) "((?:[^"\\]|\\x[0-9A-F]{2})*)" "((?:[^"\\]|\\x[0-9A-F]{2})*)" host="([^"]*)" request_id="([^"]*)" client_request_id="([^"]*)" frontend="([^"]*)" route="([^"]*)" backend="([^"]*)" server="([^"]*)" bytes_in=(\d+) queue_ms=(\d+|-) connect_ms=(\d+|-) response_ms=(\d+|-) total_ms=(\d+) termination="([^"]*)" retries=(\d+) migrated=([01]) generation=(\d+) pid=(\d+)$/;

function lines(file: string): string[] {
  return existsSync(file) ? readFileSync(file, 'utf8').split('\n').filter(Boolean) : [];
}

function config(o: { port: number; tcpPort: number; http: string; tcp: string; format: string }): string {
  return `workers: 2
log: { access: ./access.log${o.format === 'json' ? '' : `, format: ${o.format}`} }
frontends:
  web:
    bind: 127.0.0.1:${o.port}
    default_backend: app
    headers:
      request:
        set: { X-Handoff-Id: "\${request.id}" }
  raw: { bind: 127.0.0.1:${o.tcpPort}, mode: tcp, default_backend: echo }
backends:
  app: { servers: [ { name: app-1, address: ${o.http} } ] }
  echo: { servers: [ { name: echo-1, address: ${o.tcp} } ] }
`;
}

/** One TCP connection: send `data`, read the echo back, close. */
function tcpEcho(port: number, data: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const s = net.connect({ port, host: '127.0.0.1' }, () => s.write(data));
    let got = '';
    s.on('data', (c: Buffer) => {
      got += c.toString('latin1');
      if (got.length >= data.length) s.end();
    });
    s.on('error', reject);
    s.on('close', () => resolve(got));
  });
}

describe('access log', () => {
  let h: RunningHandoff;
  let http: EchoBackend;
  let tcp: EchoBackend;
  let port: number;
  let tcpPort: number;
  let file: string;

  before(async () => {
    http = await startEcho('app-1');
    tcp = await startEcho('echo-1', { tcp: true });
    port = await freePort();
    tcpPort = await freePort();
    h = await startHandoff(config({ port, tcpPort, http: http.address, tcp: tcp.address, format: 'json' }));
    file = join(h.dir, 'access.log');
  });
  after(() => stopAll());

  // JSON lines (the file also holds the combined lines of the test that switches formats).
  const entries = (f = file) =>
    lines(f)
      .filter((l) => !COMBINED.test(l))
      .map((l) => JSON.parse(l) as Entry);

  it('JSON: host, request ids, user agent, bytes and timings per HTTP request; bytes and timings per TCP connection', async () => {
    const r = await request(port, '/fields?x=1', {
      host: 'shop.example',
      headers: { 'User-Agent': 'probe/1.0', 'X-Request-Id': 'client-42', Referer: 'http://ref.example/' },
    });
    assert.equal(r.status, 200);
    const echoed = JSON.parse(r.body.toString()) as { headers: Record<string, string> };
    const e = await waitUntil('the HTTP line', () => entries().find((x) => x.path === '/fields?x=1'), 10_000, 50);
    assert.equal(e.host, 'shop.example');
    // The id in the log is the one the server got (${request.id}), and the client's own id
    // went through unchanged and is logged beside it.
    assert.match(String(e.request_id), /^[0-9a-f]{8}-[0-9a-z]+$/);
    assert.equal(echoed.headers['x-handoff-id'], e.request_id);
    assert.equal(e.client_request_id, 'client-42');
    assert.equal(echoed.headers['x-request-id'], 'client-42');
    assert.equal(e.user_agent, 'probe/1.0');
    assert.equal(e.referer, 'http://ref.example/');
    assert.equal(e.protocol, 'HTTP/1.1');
    assert.equal(e.status, 200);
    assert.equal(e.server, 'app-1');
    assert.ok((e.bytes_in as number) > 60 && (e.bytes_out as number) >= r.body.length, JSON.stringify(e));
    for (const k of ['queue', 'connect', 'response', 'total']) assert.equal(typeof e.timings[k], 'number', k);

    assert.equal(await tcpEcho(tcpPort, 'hello tcp'), 'hello tcp');
    const t = await waitUntil('the TCP line', () => entries().find((x) => x.frontend === 'raw'), 10_000, 50);
    assert.equal(t.bytes_in, 9);
    assert.equal(t.bytes_out, 9);
    assert.equal(t.server, 'echo-1');
    assert.equal(t.termination, 'ok');
    for (const k of ['queue', 'connect', 'total']) assert.equal(typeof t.timings[k], 'number', k);
  });

  it('log.format: combined is applied live; handoff fields follow the combined ones; a client cannot forge a field', async () => {
    const reload = await h.reload(config({ port, tcpPort, http: http.address, tcp: tcp.address, format: 'combined' }));
    assert.equal(reload.code, 0, reload.stderr);
    assert.match(reload.stdout, /reloaded \(live\)/);
    const ua = 'evil" host="forged\\ \xe9';
    const r = await request(port, '/combined', { host: 'shop.example', headers: { 'User-Agent': ua } });
    assert.equal(r.status, 200);
    const line = await waitUntil('the combined line', () => lines(file).find((l) => l.includes('"GET /combined HTTP/1.1"')), 10_000, 50);
    const m = COMBINED.exec(line);
    assert.ok(m, `not a combined line: ${line}`);
    assert.equal(m[1], '127.0.0.1');
    assert.equal(m[4], '200');
    assert.equal(m[7], 'evil\\x22 host=\\x22forged\\x5C \\xE9');
    assert.equal(m[8], 'shop.example');
    assert.equal(m[11], 'web');
    assert.equal(m[14], 'app-1');
    assert.equal(m[20], 'ok');
    assert.equal(Number(m[15]) > 0 && Number(m[5]) >= r.body.length, true, line);

    assert.equal(await tcpEcho(tcpPort, 'combined'), 'combined');
    const tl = await waitUntil(
      'the combined TCP line',
      () => lines(file).find((l) => l.includes('frontend="raw"') && l.includes(' "-" - ')),
      10_000,
      50,
    );
    const tm = COMBINED.exec(tl);
    assert.ok(tm, `not a combined line: ${tl}`);
    assert.equal(tm[5], '8');
    assert.equal(tm[15], '8');
    assert.equal(tm[18], '-'); // no response timing for a TCP connection
  });

  it('SIGUSR1 after a rename: old lines stay in the renamed file, new ones go to a new file at the path; nothing lost, nothing waits', async () => {
    // JSON again (live): every line must parse, so a torn line would show.
    const reload = await h.reload(config({ port, tcpPort, http: http.address, tcp: tcp.address, format: 'json' }));
    assert.equal(reload.code, 0, reload.stderr);
    const before = lines(file).length;

    const sent = new Set<string>();
    for (let i = 0; i < 20; i++) {
      assert.equal((await request(port, `/before-${i}`)).status, 200);
      sent.add(`/before-${i}`);
    }
    await waitUntil('the first lines written', () => lines(file).length >= before + 20, 10_000, 50);

    // Traffic that runs through the rotation, on keep-alive connections (bounded in count and time).
    let stop = false;
    const background = Promise.all(
      Array.from({ length: 4 }, async (_, c) => {
        const client = new KeepAliveClient(port);
        try {
          for (let i = 0; i < 2000 && !stop; i++) {
            const path = `/during-${c}-${i}`;
            const res = await client.request(path, { timeoutMs: 10_000 });
            assert.equal(res.status, 200);
            sent.add(path);
          }
        } finally {
          client.close();
        }
      }),
    );
    background.catch(() => {}); // awaited below; a failure must not be an unhandled rejection meanwhile

    await waitUntil('traffic running', () => sent.size > 60, 10_000, 10);
    const rotated = `${file}.1`;
    renameSync(file, rotated);
    const reopenedBefore = (h.proc.output().match(/access log reopened/g) ?? []).length;
    process.kill(h.proc.pid, 'SIGUSR1');
    await waitUntil(
      'both workers reopened the file',
      () => (h.proc.output().match(/access log reopened/g) ?? []).length >= reopenedBefore + 2,
      15_000,
      20,
    );
    assert.ok(existsSync(file), 'a new file at the original path');

    const afterPaths: string[] = [];
    for (let i = 0; i < 20; i++) {
      assert.equal((await request(port, `/after-${i}`)).status, 200);
      sent.add(`/after-${i}`);
      afterPaths.push(`/after-${i}`);
    }
    stop = true;
    await background;

    const all = () => [...entries(rotated), ...entries(file)];
    await waitUntil('every request logged', () => all().filter((e) => sent.has(String(e.path))).length >= sent.size, 15_000, 50);
    const old = entries(rotated);
    const fresh = entries(file);
    const logged = [...old, ...fresh].map((e) => String(e.path)).filter((p) => sent.has(p));
    assert.equal(logged.length, sent.size, 'each request logged exactly once');
    assert.equal(new Set(logged).size, sent.size);
    const oldPaths = new Set(old.map((e) => String(e.path)));
    const freshPaths = new Set(fresh.map((e) => String(e.path)));
    for (let i = 0; i < 20; i++) assert.ok(oldPaths.has(`/before-${i}`), `/before-${i} in the renamed file`);
    for (const p of afterPaths) assert.ok(freshPaths.has(p), `${p} in the new file`);
    assert.ok(sent.size > 100, `traffic during the rotation: ${sent.size} requests`);
  });

  it('handoff reopen-logs does what SIGUSR1 does, through the control socket', async () => {
    const rotated = `${file}.2`;
    renameSync(file, rotated);
    const reopenedBefore = (h.proc.output().match(/access log reopened/g) ?? []).length;
    const r = await handoffRun(['reopen-logs', '-s', h.control]);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /reopening log files: 2 workers told/);
    await waitUntil(
      'both workers reopened the file',
      () => (h.proc.output().match(/access log reopened/g) ?? []).length >= reopenedBefore + 2,
      15_000,
      20,
    );
    assert.equal((await request(port, '/after-cli')).status, 200);
    await waitUntil('the line in the new file', () => entries().some((e) => e.path === '/after-cli'), 10_000, 50);
    assert.ok(!entries(rotated).some((e) => e.path === '/after-cli'));
  });
});
