// The access log's terminations are one vocabulary for HTTP and TCP (src/observe/access-entry.ts,
// docs/operations.md): checked in-process, with a real WorkerRuntime writing a real access
// log file, real sockets on loopback, no worker process.
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { loadConfigText } from '../../src/config/load.js';
import { createLogger } from '../../src/observe/logger.js';
import type { CompiledFrontend } from '../../src/worker/context.js';
import type { HttpFrontend } from '../../src/worker/http-frontend.js';
import { WorkerRuntime } from '../../src/worker/runtime.js';
import { RawClient } from '../e2e/support/raw-client.js';
import { freePorts } from '../helpers/net.js';
import { waitUntil } from '../helpers/wait.js';

describe('terminations in the access log', () => {
  let dir: string;
  let runtime: WorkerRuntime;
  const servers: net.Server[] = [];
  const ports = new Map<string, number>();

  /** Every access-log line written so far, parsed. */
  const entries = () =>
    readFileSync(join(dir, 'access.log'), 'utf8')
      .split('\n')
      .filter((l) => l !== '')
      .map((l) => JSON.parse(l) as Record<string, unknown>);

  before(async () => {
    dir = mkdtempSync(join(os.tmpdir(), 'handoff-terminations-'));
    const [web, tcp, lone, refused1, refused2] = await freePorts(5);
    const text = `
log: { access: ${join(dir, 'access.log')}, format: json }
frontends:
  web:
    bind: 127.0.0.1:${web}
    default_backend: dead
  tcp:
    mode: tcp
    bind: 127.0.0.1:${tcp}
    default_backend: dead
  lone:
    mode: tcp
    bind: 127.0.0.1:${lone}
    default_backend: lone
backends:
  lone:
    retries: 2
    passive: { fall: 0 }
    servers: [ { name: refused, address: 127.0.0.1:${refused1} } ]
  dead:
    retries: 1
    passive: { fall: 0 }
    servers:
      - { name: refused1, address: 127.0.0.1:${refused1} }
      - { name: refused2, address: 127.0.0.1:${refused2} }
`;
    const loaded = await loadConfigText(text, '<test>', os.tmpdir());
    assert.ok(loaded.ok, loaded.ok ? '' : JSON.stringify(loaded.errors));
    runtime = new WorkerRuntime({ config: loaded.config, generation: 1, log: createLogger('test', {}, () => {}) });
    for (const name of ['web', 'tcp', 'lone']) {
      const fe = runtime.ctx.live.frontends.get(name) as CompiledFrontend;
      const server = net.createServer((socket) => fe.accept(socket));
      await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
      servers.push(server);
      ports.set(name, (server.address() as net.AddressInfo).port);
    }
  });

  after(async () => {
    runtime.ctx.connections.killAll();
    for (const b of runtime.ctx.live.version.backends.values()) b.close();
    runtime.ctx.pool.closeAll();
    for (const s of servers) await new Promise((r) => s.close(r));
    runtime.ctx.accessLog.close();
    rmSync(dir, { recursive: true, force: true });
  });

  test('TCP: every server refusing is connect-failed, with the retries (was "connect failed")', async () => {
    const c = await RawClient.connect(ports.get('tcp')!);
    await c.waitClosed();
    const e = await waitUntil('the TCP entry', () => entries().find((x) => x.frontend === 'tcp'));
    assert.equal(e.termination, 'connect-failed');
    assert.equal(e.retries, 1);
    assert.equal(e.backend, 'dead');
  });

  test('TCP: a lone refusing server is connect-failed too, not no-server (out of candidates before retries)', async () => {
    const c = await RawClient.connect(ports.get('lone')!);
    await c.waitClosed();
    const e = await waitUntil('the entry', () => entries().find((x) => x.frontend === 'lone'));
    assert.equal(e.termination, 'connect-failed');
    assert.equal(e.retries, undefined);
  });

  test('HTTP: every server refusing is connect-failed too, answered 503', async () => {
    const c = await RawClient.connect(ports.get('web')!);
    c.send('GET / HTTP/1.1\r\nHost: x\r\n\r\n');
    const r = await c.readResponse();
    assert.equal(r.status, 503);
    const e = await waitUntil('the HTTP entry', () => entries().find((x) => x.frontend === 'web' && x.path === '/'));
    assert.equal(e.termination, 'connect-failed');
    assert.equal(e.retries, 1);
  });

  test('HTTP: a malformed head is bad-request (the reason is not part of the value)', async () => {
    const c = await RawClient.connect(ports.get('web')!);
    c.send('GET / HTTP/1.1\r\nBad Header\r\n\r\n');
    const r = await c.readResponse();
    assert.equal(r.status, 400);
    const e = await waitUntil('the entry', () => entries().find((x) => x.frontend === 'web' && x.status === 400));
    assert.equal(e.termination, 'bad-request');
  });

  test('HTTP: a request on a connection migrated from an older generation is logged migrated', async () => {
    const fe = runtime.ctx.live.frontends.get('web') as HttpFrontend;
    // The receiving side of a migration: the adopted socket, idle between requests (no unread bytes).
    const adopted = net.createServer((socket) => fe.adoptConnection(socket, Buffer.alloc(0)));
    await new Promise<void>((r) => adopted.listen(0, '127.0.0.1', r));
    servers.push(adopted);
    const c = await RawClient.connect((adopted.address() as net.AddressInfo).port);
    c.send('GET /moved HTTP/1.1\r\nHost: x\r\n\r\n');
    await c.readResponse();
    const e = await waitUntil('the entry', () => entries().find((x) => x.path === '/moved'));
    assert.equal(e.migrated, true);
    const fresh = entries().find((x) => x.path === '/');
    assert.equal(fresh?.migrated, undefined, 'a connection accepted here is not migrated');
  });
});
