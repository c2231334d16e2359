// Fails loudly if a Node.js version changes an internal that src/lib/node-handles.ts uses.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { fork, type ChildProcess } from 'node:child_process';
import net from 'node:net';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import {
  bindListenHandle,
  BindError,
  closeHandle,
  handleAddress,
  handleInode,
  isTcpHandle,
  type TcpHandle,
} from '../../src/lib/node-handles.js';
import { canConnect } from '../helpers/net.js';
import { waitUntil } from '../helpers/wait.js';

const childScript = fileURLToPath(new URL('./fixtures/handle-child.js', import.meta.url));
const children = new Set<ChildProcess>();
after(() => {
  for (const c of children) c.kill('SIGKILL');
});

interface Child {
  proc: ChildProcess;
  next(type: string): Promise<{ type: string; unread?: string; handle?: unknown }>;
}

async function startChild(name: string): Promise<Child> {
  const proc = fork(childScript, [name], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
  children.add(proc);
  proc.on('exit', () => children.delete(proc));
  const inbox: { type: string; unread?: string; handle?: unknown }[] = [];
  const waiters: (() => void)[] = [];
  proc.on('message', (m: { type: string; unread?: string }, handle: unknown) => {
    inbox.push({ ...m, handle });
    for (const w of waiters.splice(0)) w();
  });
  const child: Child = {
    proc,
    async next(type) {
      for (;;) {
        const i = inbox.findIndex((m) => m.type === type);
        if (i >= 0) return inbox.splice(i, 1)[0]!;
        await new Promise<void>((resolve, reject) => {
          const t = setTimeout(() => reject(new Error(`no '${type}' from ${name}`)), 10_000);
          waiters.push(() => {
            clearTimeout(t);
            resolve();
          });
        });
      }
    },
  };
  await child.next('up');
  return child;
}

async function listen(child: Child, handle: TcpHandle) {
  child.proc.send({ type: 'listen' }, handle as never);
  await child.next('listening');
}

/** LISTEN sockets on the port, from /proc/net/tcp (state 0A). */
function listenInodes(port: number): number[] {
  const hexPort = port.toString(16).toUpperCase().padStart(4, '0');
  return readFileSync('/proc/net/tcp', 'utf8')
    .split('\n')
    .slice(1)
    .map((l) => l.trim().split(/\s+/))
    .filter((f) => f.length > 9 && f[1]!.endsWith(`:${hexPort}`) && f[3] === '0A')
    .map((f) => Number(f[9]));
}

function lineClient(port: number) {
  const s = net.connect({ port, host: '127.0.0.1' });
  let buf = '';
  const lines: string[] = [];
  let wake: (() => void) | undefined;
  s.on('data', (c) => {
    buf += c.toString();
    for (let nl = buf.indexOf('\n'); nl >= 0; nl = buf.indexOf('\n')) {
      lines.push(buf.slice(0, nl));
      buf = buf.slice(nl + 1);
    }
    wake?.();
  });
  return {
    socket: s,
    async line(): Promise<string> {
      const deadline = Date.now() + 10_000;
      while (lines.length === 0) {
        if (Date.now() > deadline) throw new Error('no line');
        await new Promise<void>((r) => {
          wake = r;
          setTimeout(r, 100);
        });
      }
      return lines.shift()!;
    },
  };
}

test('the internals exist: net._createServerHandle binds without listening', async () => {
  const handle = bindListenHandle({ host: '127.0.0.1', port: 0, family: 4, key: '127.0.0.1:0' });
  assert.ok(isTcpHandle(handle), 'bindListenHandle returns a native TCP handle');
  assert.equal(typeof handle.fd, 'number');
  assert.ok(handle.fd > 2);
  assert.equal(typeof handleInode(handle), 'number');
  await closeHandle(handle);
});

test('a bind conflict is a BindError with the OS error and the address', async () => {
  const blocker = net.createServer();
  await new Promise<void>((r) => blocker.listen(0, '127.0.0.1', r));
  const { port } = blocker.address() as net.AddressInfo;
  try {
    assert.throws(
      () => bindListenHandle({ host: '127.0.0.1', port, family: 4, key: `127.0.0.1:${port}` }),
      (err: unknown) => err instanceof BindError && err.errno === 'EADDRINUSE' && err.message.includes(`127.0.0.1:${port}`),
    );
  } finally {
    blocker.close();
  }
});

test('one kernel socket shared by every worker; no loss when a worker stops accepting or none is alive', async () => {
  const handle = bindListenHandle({ host: '127.0.0.1', port: 0, family: 4, key: '127.0.0.1:0' });
  const { port } = handleAddress(handle);
  const inode = handleInode(handle);

  // Bound but not listening: the master itself never accepts.
  assert.equal(await canConnect(port), false, 'a bound, non-listening socket refuses connections');

  const a = await startChild('A');
  const b = await startChild('B');
  await listen(a, handle);
  await listen(b, handle);
  assert.deepEqual(listenInodes(port), [inode], "exactly one LISTEN socket, the master's");

  const seen = new Set<string>();
  for (let i = 0; i < 40 && seen.size < 2; i++) {
    const c = lineClient(port);
    c.socket.write(`hello${i}\n`);
    seen.add((await c.line()).split(':')[0]!);
    c.socket.destroy();
  }
  assert.deepEqual([...seen].sort(), ['A', 'B'], 'the kernel spreads connections over both workers');

  // A stops accepting while connections keep arriving: every one is answered by B.
  a.proc.send({ type: 'stop-accepting' });
  await a.next('stopped-accepting');
  for (let i = 0; i < 20; i++) {
    const c = lineClient(port);
    c.socket.write(`after${i}\n`);
    assert.equal(await c.line(), `B:after${i}`);
    c.socket.destroy();
  }

  // No worker at all: the socket stays in LISTEN (the master holds it) and a connection
  // waits in the accept queue until a new worker listens.
  b.proc.send({ type: 'exit' });
  a.proc.send({ type: 'exit' });
  await waitUntil('both workers gone', () => children.size === 0);
  assert.deepEqual(listenInodes(port), [inode], 'still listening with no worker alive');
  const waiting = lineClient(port);
  await new Promise<void>((resolve, reject) => {
    waiting.socket.once('connect', () => resolve());
    waiting.socket.once('error', reject);
  });
  waiting.socket.write('queued\n');
  const c = await startChild('C');
  await listen(c, handle);
  assert.equal(await waiting.line(), 'C:queued');
  waiting.socket.destroy();
  c.proc.send({ type: 'exit' });
  await waitUntil('C gone', () => children.size === 0);
  await closeHandle(handle);
  assert.deepEqual(listenInodes(port), [], 'closed by the master: the port is free');
});

test('a live connection moves between processes with its unread bytes, nothing lost', async () => {
  const handle = bindListenHandle({ host: '127.0.0.1', port: 0, family: 4, key: '127.0.0.1:0' });
  const { port } = handleAddress(handle);
  const a = await startChild('A');
  const b = await startChild('B');
  await listen(a, handle);

  const clients = await Promise.all(
    Array.from({ length: 20 }, async (_, i) => {
      const c = lineClient(port);
      c.socket.write(`first${i}\n`);
      assert.equal(await c.line(), `A:first${i}`);
      c.socket.write(`par`); // a partial line: read by A, not yet answered
      return c;
    }),
  );
  // Let A read the partial lines before it migrates.
  await new Promise((r) => setTimeout(r, 50));

  // A passes every connection to the "master" (this test process), which forwards to B.
  let forwarded = 0;
  a.proc.on('message', (m: { type: string; unread?: string }, h: unknown) => {
    if (m.type !== 'migrated' || !isTcpHandle(h)) return;
    b.proc.send({ type: 'adopt', unread: m.unread }, h as never, () => {
      // The forwarding process must close its own copy after the send completes.
      void closeHandle(h);
      forwarded++;
    });
  });
  a.proc.send({ type: 'migrate-all' });
  await a.next('migrate-done');
  await waitUntil('all forwarded', () => forwarded === 20);

  for (const [i, c] of clients.entries()) {
    c.socket.write(`t${i}\n`);
    assert.equal(await c.line(), `B:part${i}`);
    c.socket.destroy();
  }
  a.proc.kill();
  b.proc.kill();
  await closeHandle(handle);
});
